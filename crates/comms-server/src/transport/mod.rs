//! Transports: where the delivery worker hands a message. One trait, [`EmailTransport`], and
//! the implementations chosen by `EMAIL_TRANSPORT`: SMTP (lettre, pooled connections, TLS on
//! rustls), the development mailbox (`.eml` files plus a log line with the links), log-only,
//! and an in-memory transport for tests.
//!
//! A transport reports success with the provider's message id, or a [`TransportError`] that
//! says whether retrying can help (`permanent: false`) or not (a 5xx rejection, an address the
//! server refuses).

mod log;
mod mailbox;
mod memory;
mod message;
mod smtp;

use std::sync::Arc;

use shared_server::mail::{EmailAddress, MessageId};
use shared_server::Timestamp;

pub use self::log::LogTransport;
pub use mailbox::MailboxTransport;
pub use memory::MemoryTransport;
pub use smtp::SmtpTransport;

use crate::config::TransportConfig;
use crate::entities::{addresses_from_json, OutboxEmail, OutboxId};
use crate::error::CommsError;

/// A message as it leaves the outbox: parsed back from the row, ready for a transport.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundEmail {
    pub outbox_id: OutboxId,
    pub message_id: MessageId,
    pub from: EmailAddress,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub reply_to: Option<EmailAddress>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The `Date` header: when the message was queued, the same on every attempt.
    pub date: Timestamp,
}

impl OutboundEmail {
    /// Rebuilds the message of an outbox row; an error means the row cannot be sent at all.
    pub fn from_row(row: &OutboxEmail) -> Result<Self, TransportError> {
        let corrupt = |message: String| {
            TransportError::permanent(format!("stored message is unusable: {message}"))
        };
        let parse = |field: &str, text: &str| {
            EmailAddress::parse(text).map_err(|e| corrupt(format!("{field}: {e}")))
        };
        Ok(Self {
            outbox_id: row.id.clone(),
            message_id: MessageId::parse(&row.message_id).map_err(|e| corrupt(e.to_string()))?,
            from: parse("from_address", &row.from_address)?,
            to: addresses_from_json("to", Some(&row.to)).map_err(corrupt)?,
            cc: addresses_from_json("cc", row.cc.as_ref()).map_err(corrupt)?,
            bcc: addresses_from_json("bcc", row.bcc.as_ref()).map_err(corrupt)?,
            reply_to: row
                .reply_to
                .as_deref()
                .map(|r| parse("reply_to", r))
                .transpose()?,
            subject: row.subject.clone(),
            text: row.body_text.clone(),
            html: row.body_html.clone(),
            headers: row.header_pairs(),
            date: row.audit.created_at,
        })
    }

    /// Every recipient (to, cc, bcc).
    pub fn recipients(&self) -> impl Iterator<Item = &EmailAddress> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }

    /// The RFC 5322 bytes (what SMTP sends and the mailbox stores); `Bcc` is left out.
    pub fn to_rfc5322(&self) -> Result<Vec<u8>, TransportError> {
        Ok(message::build(self)?.formatted())
    }

    /// The `http(s)` links of the text and HTML parts.
    pub fn links(&self) -> Vec<String> {
        let mut all = String::new();
        for part in [&self.text, &self.html].into_iter().flatten() {
            all.push_str(part);
            all.push('\n');
        }
        shared_server::mail::extract_links(&all)
    }
}

/// A successful hand-over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// The provider's id for the message (SMTP: the id in the server's final answer, e.g.
    /// `queued as 4F2A…`).
    pub provider_message_id: Option<String>,
}

/// A failed hand-over. `permanent`: retrying cannot help (5xx, refused address, unusable row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    pub permanent: bool,
    pub message: String,
}

impl TransportError {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            message: message.into(),
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
        }
    }
}

/// Delivers one message.
#[async_trait::async_trait]
pub trait EmailTransport: Send + Sync + 'static {
    /// `smtp`, `mailbox`, `log`, `memory`: recorded as the row's `provider`.
    fn name(&self) -> &'static str;

    async fn send(&self, email: &OutboundEmail) -> Result<Delivery, TransportError>;
}

/// The transport `config` selects (the mailbox folder is created here); SMTP keeps up to
/// `connections` connections open (the worker's concurrency).
pub fn from_config(
    config: &TransportConfig,
    connections: usize,
) -> Result<Arc<dyn EmailTransport>, CommsError> {
    Ok(match config {
        TransportConfig::Mailbox { dir } => Arc::new(MailboxTransport::new(dir.clone())?),
        TransportConfig::Smtp(smtp) => Arc::new(SmtpTransport::new(smtp, connections)?),
        TransportConfig::Log => Arc::new(LogTransport),
    })
}

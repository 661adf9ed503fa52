//! The mail port: what every slice uses to send email, without knowing how it is delivered.
//!
//! Slices build an [`OutgoingEmail`] (already written, or a template name with variables) and
//! hand it to the [`Mailer`] service. comms-server implements the trait as a transactional
//! outbox: [`Mailer::send`] given the caller's transaction writes the message in it, so a
//! rolled-back sign-up sends nothing, and a background worker delivers it later with retries.
//! [`RecordingMailer`] is the test double for slices that only need to see what was sent.
//!
//! Bad input never reaches the outbox: [`EmailAddress`] cannot hold an invalid address,
//! [`OutgoingEmailBuilder::build`] names the field that failed (`to[1]`, `subject`, …), and
//! [`OutgoingEmail::validate`] is run by every `Mailer` before anything is written.
//!
//! One file a topic: `address` (addresses), `message` (the message and its builder),
//! `message_id`, `links`, `error`, and `recording` (the test double); the port itself is here.

mod address;
mod error;
mod links;
mod message;
mod message_id;
mod recording;

pub use address::{EmailAddress, InvalidEmailAddress};
pub use error::MailError;
pub use links::extract_links;
pub use message::{
    check_subject, is_valid_template_name, EmailContent, OutgoingEmail, OutgoingEmailBuilder,
    MAX_IDEMPOTENCY_KEY_CHARS, MAX_RECIPIENTS, MAX_SUBJECT_CHARS,
};
pub use message_id::{InvalidMessageId, MessageId};
pub use recording::{RecordedEmail, RecordingMailer};

use crate::db::Exec;

/// What [`Mailer::send`] returns: the stored message's id and its `Message-ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEmail {
    /// The outbox row (`comms_email_outbox__…`), or the test double's id.
    pub outbox_id: String,
    pub message_id: MessageId,
    /// The idempotency key was already used: this is the earlier message, nothing was queued.
    pub duplicate: bool,
}

/// The service every slice sends email through (provided by comms-server's layer as
/// `dyn Mailer`). Sending queues the message durably; delivery happens in the background.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Validates, renders and queues `email` where `on` says: on the pool (`(&db).into()`, its
    /// own statement) or inside the caller's transaction (`(&mut tx).into()`), where the message
    /// is delivered only if that transaction commits.
    async fn send(&self, on: Exec<'_>, email: OutgoingEmail) -> Result<QueuedEmail, MailError>;
}

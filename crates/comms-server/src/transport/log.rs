//! The log-only transport: nothing is delivered; each message is logged (sender, recipients,
//! subject, links; the text body at debug level) and counted as sent.

use super::{Delivery, EmailTransport, OutboundEmail, TransportError};

/// Logs messages instead of delivering them.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogTransport;

#[async_trait::async_trait]
impl EmailTransport for LogTransport {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, email: &OutboundEmail) -> Result<Delivery, TransportError> {
        let to: Vec<String> = email.recipients().map(ToString::to_string).collect();
        tracing::info!(
            transport = "log",
            outbox_id = %email.outbox_id,
            message_id = %email.message_id,
            from = %email.from,
            to = ?to,
            subject = %email.subject,
            links = ?email.links(),
            "email logged, not delivered (EMAIL_TRANSPORT=log)"
        );
        if let Some(text) = &email.text {
            tracing::debug!(outbox_id = %email.outbox_id, body = %text, "email text");
        }
        Ok(Delivery {
            provider_message_id: Some(email.message_id.to_string()),
        })
    }
}

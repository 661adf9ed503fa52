//! [`RecordingMailer`]: the `Mailer` test double for slices that only need to see what was sent.
//! It validates like the real one, so a slice's tests catch bad input.

use std::sync::Mutex;

use serde_json::Value as Json;

use super::{
    extract_links, EmailContent, MailError, Mailer, MessageId, OutgoingEmail, QueuedEmail,
};
use crate::db::Exec;

/// One message a [`RecordingMailer`] accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEmail {
    pub email: OutgoingEmail,
    pub outbox_id: String,
    pub message_id: MessageId,
    /// Sent inside a caller's transaction (the recording does not know whether it committed).
    pub in_transaction: bool,
}

impl RecordedEmail {
    /// A template variable (`"url"`, `"inviter.name"`), for template content.
    pub fn variable(&self, path: &str) -> Option<&Json> {
        let EmailContent::Template { variables, .. } = &self.email.content else {
            return None;
        };
        let mut parts = path.split('.');
        let mut value = variables.get(parts.next()?)?;
        for part in parts {
            value = value.get(part)?;
        }
        Some(value)
    }

    /// The links of a rendered message's parts, or of the template variables' string values.
    pub fn links(&self) -> Vec<String> {
        match &self.email.content {
            EmailContent::Rendered { text, html, .. } => {
                let mut all = String::new();
                for part in [text, html].into_iter().flatten() {
                    all.push_str(part);
                    all.push('\n');
                }
                extract_links(&all)
            }
            EmailContent::Template { variables, .. } => {
                extract_links(&Json::Object(variables.clone()).to_string())
            }
        }
    }
}

/// A `Mailer` that records what it is given (test double). It validates like the real one, so
/// a slice's tests catch bad input; it renders nothing and delivers nothing.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<RecordedEmail>>,
}

impl RecordingMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything recorded so far, oldest first.
    pub fn sent(&self) -> Vec<RecordedEmail> {
        self.lock().clone()
    }

    /// The messages addressed (to, cc or bcc) to `address`.
    pub fn sent_to(&self, address: &str) -> Vec<RecordedEmail> {
        self.lock()
            .iter()
            .filter(|r| {
                let e = &r.email;
                e.to.iter()
                    .chain(&e.cc)
                    .chain(&e.bcc)
                    .any(|a| a.address().eq_ignore_ascii_case(address))
            })
            .cloned()
            .collect()
    }

    pub fn last(&self) -> Option<RecordedEmail> {
        self.lock().last().cloned()
    }

    /// Returns and forgets everything recorded.
    pub fn take(&self) -> Vec<RecordedEmail> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedEmail>> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, email: OutgoingEmail, in_transaction: bool) -> Result<QueuedEmail, MailError> {
        email.validate()?;
        let mut sent = self.lock();
        if let Some(key) = &email.idempotency_key {
            if let Some(earlier) = sent
                .iter()
                .find(|r| r.email.idempotency_key.as_ref() == Some(key))
            {
                return Ok(QueuedEmail {
                    outbox_id: earlier.outbox_id.clone(),
                    message_id: earlier.message_id.clone(),
                    duplicate: true,
                });
            }
        }
        let domain = email
            .from
            .as_ref()
            .map(|f| f.domain().to_string())
            .unwrap_or_else(|| "recording.invalid".to_string());
        let recorded = RecordedEmail {
            email,
            outbox_id: format!("recorded__{}", uuid::Uuid::now_v7()),
            message_id: MessageId::generate(&domain),
            in_transaction,
        };
        let queued = QueuedEmail {
            outbox_id: recorded.outbox_id.clone(),
            message_id: recorded.message_id.clone(),
            duplicate: false,
        };
        sent.push(recorded);
        Ok(queued)
    }
}

#[async_trait::async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, on: Exec<'_>, email: OutgoingEmail) -> Result<QueuedEmail, MailError> {
        self.record(email, matches!(on, Exec::Conn(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recording_mailer_records_validates_and_deduplicates() {
        let mailer = RecordingMailer::new();
        let test = crate::testing::sqlite().await;
        let email = OutgoingEmail::builder()
            .template(
                "verify-email",
                serde_json::json!({"url": "https://app.example/v?t=1", "user": {"name": "Ann"}}),
            )
            .to("ann@example.com")
            .idempotency_key("verify:1")
            .build()
            .unwrap();
        let first = mailer.send((&test.db).into(), email.clone()).await.unwrap();
        let again = mailer.send((&test.db).into(), email).await.unwrap();
        assert!(!first.duplicate && again.duplicate);
        assert_eq!(first.message_id, again.message_id);
        assert_eq!(mailer.sent().len(), 1);
        let recorded = mailer.sent_to("ANN@example.com");
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            recorded[0].variable("user.name"),
            Some(&serde_json::json!("Ann"))
        );
        assert_eq!(
            recorded[0].links(),
            vec!["https://app.example/v?t=1".to_string()]
        );

        let mut broken = recorded[0].email.clone();
        broken.content = EmailContent::Rendered {
            subject: String::new(),
            text: Some("x".into()),
            html: None,
        };
        broken.idempotency_key = None;
        assert!(matches!(
            mailer.send((&test.db).into(), broken).await,
            Err(MailError::Invalid { ref field, .. }) if field == "subject"
        ));
        assert_eq!(mailer.take().len(), 1);
        assert!(mailer.sent().is_empty());
    }
}

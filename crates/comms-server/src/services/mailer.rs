//! `OutboxMailer`: the `Mailer` port implemented as a transactional outbox.
//!
//! A send validates the message, resolves and renders its template (the organization's, else
//! the built-in one), fixes its `Message-ID`, and writes one `pending` outbox row: on the
//! caller's transaction when `send` is given one (so the message exists only if that
//! transaction commits), in its own statement when given the pool. Nothing is written when any
//! step fails, and the error names the field. The delivery worker is woken after each send.

use std::sync::Arc;

use serde_json::Value as Json;
use shared_server::db::Exec;
use shared_server::mail::{
    check_subject, EmailAddress, EmailContent, MailError, Mailer, MessageId, OutgoingEmail,
    QueuedEmail,
};
use tokio::sync::Notify;

use super::templates::EmailTemplateService;
use crate::entities::{addresses_json, NewOutboxEmail, OutboxId};
use crate::repos::OutboxRepo;

/// The outbox-backed `Mailer` (provided as `dyn Mailer` by the layer).
#[derive(Clone)]
pub struct OutboxMailer {
    outbox: OutboxRepo,
    templates: EmailTemplateService,
    default_from: EmailAddress,
    max_attempts: i32,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for OutboxMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMailer")
            .field("default_from", &self.default_from)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl OutboxMailer {
    /// `wake` is notified after every send (the worker waits on it between polls).
    pub fn new(
        outbox: OutboxRepo,
        templates: EmailTemplateService,
        default_from: EmailAddress,
        max_attempts: i32,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            outbox,
            templates,
            default_from,
            max_attempts,
            wake,
        }
    }

    /// Validates, renders and inserts where `on` says.
    async fn queue(
        &self,
        mut on: Exec<'_>,
        email: OutgoingEmail,
    ) -> Result<QueuedEmail, MailError> {
        email.validate()?;
        let mut held = on.conn().await.map_err(|e| MailError::Storage(e.into()))?;
        let conn = &mut held.conn();
        let OutgoingEmail {
            organization_id,
            user_id,
            from,
            to,
            cc,
            bcc,
            reply_to,
            content,
            headers,
            idempotency_key,
        } = email;
        let (subject, text, html, template_name, defaults) = match content {
            EmailContent::Rendered {
                subject,
                text,
                html,
            } => (subject, text, html, None, (vec![], vec![], vec![])),
            EmailContent::Template { name, variables } => {
                let template = self
                    .templates
                    .resolve(&mut *conn, organization_id.as_ref(), &name)
                    .await?;
                let rendered = self.templates.renderer().render(&template, &variables)?;
                let defaults = (template.to, template.cc, template.bcc);
                (
                    rendered.subject,
                    rendered.text,
                    Some(rendered.html),
                    Some(name),
                    defaults,
                )
            }
        };
        check_subject(&subject)?;
        let non_blank = |part: Option<String>| part.filter(|p| !p.trim().is_empty());
        let (text, html) = (non_blank(text), non_blank(html));
        if text.is_none() && html.is_none() {
            return Err(MailError::Invalid {
                field: "body".into(),
                message: "is empty: give a text part, an HTML part or both".into(),
            });
        }
        let or_default = |given: Vec<EmailAddress>, default: Vec<EmailAddress>| {
            if given.is_empty() {
                default
            } else {
                given
            }
        };
        let to = or_default(to, defaults.0);
        let cc = or_default(cc, defaults.1);
        let bcc = or_default(bcc, defaults.2);
        if to.is_empty() {
            return Err(MailError::Invalid {
                field: "to".into(),
                message: match &template_name {
                    Some(name) => format!("has no recipient, and template `{name}` has no default"),
                    None => "has no recipient".into(),
                },
            });
        }
        let from = from.unwrap_or_else(|| self.default_from.clone());
        let message_id = MessageId::generate(from.domain());
        let headers = (!headers.is_empty()).then(|| {
            Json::Array(
                headers
                    .into_iter()
                    .map(|(name, value)| Json::Array(vec![Json::String(name), Json::String(value)]))
                    .collect(),
            )
        });
        let new = NewOutboxEmail {
            id: OutboxId::new(),
            organization_id,
            user_id,
            template_name,
            message_id: message_id.as_str().to_string(),
            from_address: from.to_string(),
            reply_to: reply_to.map(|r| r.to_string()),
            to: addresses_json(&to, false).unwrap_or(Json::Array(vec![])),
            cc: addresses_json(&cc, true),
            bcc: addresses_json(&bcc, true),
            subject,
            body_html: html,
            body_text: text,
            headers,
            max_attempts: self.max_attempts,
            idempotency_key,
            source: Some("mailer".into()),
        };
        let (row, duplicate) = self.outbox.enqueue(&mut *conn, new, "app").await?;
        let message_id = MessageId::parse(&row.message_id).map_err(|e| MailError::Invalid {
            field: "messageId".into(),
            message: e.to_string(),
        })?;
        tracing::debug!(outbox_id = %row.id, %message_id, duplicate, "email queued");
        Ok(QueuedEmail {
            outbox_id: row.id.to_string(),
            message_id,
            duplicate,
        })
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, on: Exec<'_>, email: OutgoingEmail) -> Result<QueuedEmail, MailError> {
        let queued = self.queue(on, email).await?;
        // In a caller's transaction the row is visible once it commits; an early wake-up finds
        // nothing and the next poll delivers it.
        self.wake.notify_one();
        Ok(queued)
    }
}

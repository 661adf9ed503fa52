//! `comms_email_outbox`: every message queued for delivery, with its delivery state. A row is
//! written in the sender's transaction (so a rolled-back sign-up sends nothing), claimed by one
//! worker at a time through a lease, and finished as `sent`, `failed` or `cancelled`.
//!
//! ```text
//! pending --claim--> sending --ok--> sent
//!    ^                  |  \--permanent error / attempts exhausted--> failed
//!    +--transient error-+
//!    +--lease expired (crashed worker): reclaimed by the next claim
//! pending --cancel--> cancelled
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

shared_server::entity_id!(
    /// Id of a `comms_email_outbox` row.
    OutboxId,
    "comms_email_outbox"
);

shared_server::string_enum!(
    /// `comms_email_outbox.status`.
    OutboxStatus {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Cancelled = "cancelled",
    }
);

/// A `comms_email_outbox` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEmail {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: OutboxId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<OrganizationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    /// The `Message-ID` header of every attempt (`<uuid@sender-domain>`).
    pub message_id: String,
    pub from_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// JSON array of recipients (`Name <a@b.c>` or `a@b.c`).
    pub to: Json,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcc: Option<Json>,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// JSON array of `[name, value]` pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Json>,
    pub status: OutboxStatus,
    /// Claims so far (incremented when a worker takes the row).
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    /// The worker holding the row (`<hostname>:<pid>:<uuid>`) while `sending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl OutboxEmail {
    /// The row without its bodies (the `outbox_list` projection).
    pub fn without_bodies(mut self) -> Self {
        self.body_html = None;
        self.body_text = None;
        self
    }

    /// The extra headers as `(name, value)` pairs.
    pub fn header_pairs(&self) -> Vec<(String, String)> {
        let Some(Json::Array(items)) = &self.headers else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|pair| {
                let pair = pair.as_array()?;
                Some((
                    pair.first()?.as_str()?.to_string(),
                    pair.get(1)?.as_str()?.to_string(),
                ))
            })
            .collect()
    }
}

/// A message to queue, fully rendered and validated (built by the mailer).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxEmail {
    pub id: OutboxId,
    pub organization_id: Option<OrganizationId>,
    pub user_id: Option<UserId>,
    pub template_name: Option<String>,
    pub message_id: String,
    pub from_address: String,
    pub reply_to: Option<String>,
    pub to: Json,
    pub cc: Option<Json>,
    pub bcc: Option<Json>,
    pub subject: String,
    pub body_html: Option<String>,
    pub body_text: Option<String>,
    pub headers: Option<Json>,
    pub max_attempts: i32,
    pub idempotency_key: Option<String>,
    pub source: Option<String>,
}

/// How many rows are in each state: the operations view (metrics, `doctor`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl OutboxCounts {
    pub fn get(&self, status: OutboxStatus) -> u64 {
        match status {
            OutboxStatus::Pending => self.pending,
            OutboxStatus::Sending => self.sending,
            OutboxStatus::Sent => self.sent,
            OutboxStatus::Failed => self.failed,
            OutboxStatus::Cancelled => self.cancelled,
        }
    }

    pub(crate) fn set(&mut self, status: OutboxStatus, n: u64) {
        match status {
            OutboxStatus::Pending => self.pending = n,
            OutboxStatus::Sending => self.sending = n,
            OutboxStatus::Sent => self.sent = n,
            OutboxStatus::Failed => self.failed = n,
            OutboxStatus::Cancelled => self.cancelled = n,
        }
    }

    /// `(status, count)` for every status, zeros included (one metric series per status).
    pub fn pairs(&self) -> Vec<(&'static str, u64)> {
        OutboxStatus::ALL
            .iter()
            .map(|s| (s.as_str(), self.get(*s)))
            .collect()
    }

    /// Messages not finished yet (`pending` + `sending`).
    pub fn backlog(&self) -> u64 {
        self.pending + self.sending
    }
}

//! `comms_email_delivery_log`: one append-only line per delivery attempt (outcome, provider,
//! provider message id, error, duration, worker), so an operator can see why a message was
//! retried or failed long after the outbox row changed.

use serde::{Deserialize, Serialize};
use shared_server::entities::{Audit, OrganizationId};

use super::OutboxId;

shared_server::entity_id!(
    /// Id of a `comms_email_delivery_log` row.
    DeliveryLogId,
    "comms_email_delivery_log"
);

shared_server::string_enum!(
    /// `comms_email_delivery_log.outcome`.
    DeliveryOutcome {
        Sent = "sent",
        Retry = "retry",
        Failed = "failed",
    }
);

/// A `comms_email_delivery_log` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryLogEntry {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: DeliveryLogId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<OrganizationId>,
    pub outbox_id: OutboxId,
    pub attempt: i32,
    pub outcome: DeliveryOutcome,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

/// One attempt to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeliveryLogEntry {
    pub organization_id: Option<OrganizationId>,
    pub outbox_id: OutboxId,
    pub attempt: i32,
    pub outcome: DeliveryOutcome,
    pub provider: String,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub worker: Option<String>,
}

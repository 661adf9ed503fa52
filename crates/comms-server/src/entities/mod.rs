//! Row types of the comms tables (slices.md §5.1): email templates (org-scoped, managed through
//! the base repository), outbox messages and their delivery log (system mail has no tenant, so
//! those two have their own repositories). Each module holds the id newtype, the row struct
//! (decoded on both backends, serialised in the camelCase wire form) and what an insert takes.

mod delivery_log;
mod outbox;
mod template;

use serde_json::Value as Json;
use shared_server::mail::EmailAddress;

pub use delivery_log::{DeliveryLogEntry, DeliveryLogId, DeliveryOutcome, NewDeliveryLogEntry};
pub use outbox::{NewOutboxEmail, OutboxCounts, OutboxEmail, OutboxId, OutboxStatus};
pub use template::{
    DefaultRecipients, EmailTemplate, EmailTemplateId, EmailTemplatePatch, NewEmailTemplate,
};

shared_server::id_sql_value!(EmailTemplateId, OutboxId, DeliveryLogId);

/// A list of addresses as the JSON array stored in `to`/`cc`/`bcc` columns (`None` when empty
/// and `empty_is_null`).
pub(crate) fn addresses_json(list: &[EmailAddress], empty_is_null: bool) -> Option<Json> {
    if list.is_empty() && empty_is_null {
        return None;
    }
    Some(Json::Array(
        list.iter().map(|a| Json::String(a.to_string())).collect(),
    ))
}

/// Parses a stored JSON array of addresses; `field` names the column in the error.
pub(crate) fn addresses_from_json(
    field: &str,
    value: Option<&Json>,
) -> Result<Vec<EmailAddress>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let Json::Array(items) = value else {
        return Err(format!("{field} is not a JSON array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let text = item
                .as_str()
                .ok_or_else(|| format!("{field}[{i}] is not a string"))?;
            EmailAddress::parse(text).map_err(|e| format!("{field}[{i}]: {e}"))
        })
        .collect()
}

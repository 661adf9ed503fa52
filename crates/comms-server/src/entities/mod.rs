//! Row types of the comms tables (slices.md §5.1): email templates (org-scoped, managed through
//! the base repository), outbox messages and their delivery log (system mail has no tenant, so
//! those two have their own repositories). Each module holds the id newtype, the row struct
//! (decoded on both backends, serialised in the camelCase wire form) and what an insert takes.

mod delivery_log;
mod outbox;
mod template;

use serde_json::Value as Json;
use shared_server::db::SqlValue;
use shared_server::mail::EmailAddress;

pub use delivery_log::{DeliveryLogEntry, DeliveryLogId, DeliveryOutcome, NewDeliveryLogEntry};
pub use outbox::{NewOutboxEmail, OutboxCounts, OutboxEmail, OutboxId, OutboxStatus};
pub use template::{
    DefaultRecipients, EmailTemplate, EmailTemplateId, EmailTemplatePatch, NewEmailTemplate,
};

/// An enum stored as TEXT (+ CHECK): `as_str`, `FromStr`, serde and sqlx decoding as the same
/// strings, and `SqlValue` binding.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} `{}`",
                        stringify!($name),
                        s.chars().take(64).collect::<String>()
                    )),
                }
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }

        impl From<$name> for SqlValue {
            fn from(v: $name) -> Self {
                SqlValue::Text(Some(v.as_str().to_string()))
            }
        }
    };
}
pub(crate) use text_enum;

/// Binds id newtypes directly.
macro_rules! id_sql_value {
    ($($id:ty),+) => {$(
        impl From<$id> for SqlValue {
            fn from(id: $id) -> Self {
                SqlValue::Text(Some(id.as_str().to_string()))
            }
        }
        impl From<&$id> for SqlValue {
            fn from(id: &$id) -> Self {
                SqlValue::Text(Some(id.as_str().to_string()))
            }
        }
    )+};
}

id_sql_value!(EmailTemplateId, OutboxId, DeliveryLogId);

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

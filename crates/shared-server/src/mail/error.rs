//! [`MailError`]: why an email was not queued, naming the input field at fault.

use super::address::InvalidEmailAddress;
use crate::db::RepoError;

/// Why an email was not queued. Every variant but `Storage` is the caller's input, and names
/// the field (`to[1]`, `subject`, `variables.url`, …); nothing was written when it is returned.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid email address in `{field}`: `{value}` ({reason})")]
    InvalidAddress {
        field: String,
        value: String,
        reason: &'static str,
    },
    #[error("invalid email: `{field}` {message}")]
    Invalid { field: String, message: String },
    #[error("email template `{name}` does not exist (neither the organization's nor built in)")]
    TemplateNotFound { name: String },
    #[error("email template `{template}` needs the variable `{variable}`, which was not given")]
    MissingVariable { template: String, variable: String },
    #[error("email template `{template}` cannot be rendered: {message}")]
    Template { template: String, message: String },
    #[error("the email could not be queued: {0}")]
    Storage(#[from] RepoError),
}

impl MailError {
    /// The input field the error is about (`to[0]`, `subject`, `variables.url`, `template`),
    /// for validation responses; `None` for storage failures.
    pub fn field(&self) -> Option<String> {
        match self {
            MailError::InvalidAddress { field, .. } | MailError::Invalid { field, .. } => {
                Some(field.clone())
            }
            MailError::MissingVariable { variable, .. } => Some(format!("variables.{variable}")),
            MailError::TemplateNotFound { .. } | MailError::Template { .. } => {
                Some("template".to_string())
            }
            MailError::Storage(_) => None,
        }
    }

    pub(super) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        MailError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(super) fn address(field: impl Into<String>, error: InvalidEmailAddress) -> Self {
        MailError::InvalidAddress {
            field: field.into(),
            value: error.value,
            reason: error.reason,
        }
    }
}

//! `iam_verification`: one-time values with an expiry (password-reset tokens, delete-account
//! tokens). `identifier` names the purpose and the token (`reset-password:<token>`), `value`
//! what it grants (a user id). Rows are hard-deleted when consumed or expired.

use shared_server::db::repo::{Entity, NewRow, NoFilter, PatchRow, Unscoped};
use shared_server::db::{RepoError, SqlValue};
use shared_server::entities::Audit;
use shared_server::Timestamp;

use super::invalid;
use shared_server::db::Columns;

shared_server::entity_id!(
    /// Id of an `iam_verification` row.
    VerificationId,
    "iam_verification"
);

shared_server::id_sql_value!(VerificationId);

/// An `iam_verification` row.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct Verification {
    #[sqlx(rename = "_row_id")]
    pub row_id: i64,
    pub id: VerificationId,
    pub identifier: String,
    pub value: String,
    pub expires_at: Timestamp,
    #[sqlx(flatten)]
    pub audit: Audit,
}

/// Identifiers embed the token: only the purpose prefix is shown.
impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification")
            .field("id", &self.id)
            .field("identifier", &redact_identifier(&self.identifier))
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn redact_identifier(identifier: &str) -> String {
    let purpose: String = identifier
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '-')
        .collect();
    format!("{purpose}***")
}

impl Entity for Verification {
    type Id = VerificationId;
    type New = NewVerification;
    type Patch = VerificationPatch;
    type Filter = NoFilter;
    type Scope = Unscoped;
    const TABLE: &'static str = "iam_verification";
    const NAME: &'static str = "Verification";

    fn id(&self) -> &VerificationId {
        &self.id
    }

    shared_server::repo_spans!("VerificationRepo");
}

/// A one-time value to store.
#[derive(Clone, PartialEq)]
pub struct NewVerification {
    pub identifier: String,
    pub value: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for NewVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewVerification")
            .field("identifier", &redact_identifier(&self.identifier))
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl NewRow for NewVerification {
    fn into_columns(self, now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        if self.identifier.is_empty() {
            return Err(invalid("verification identifier must not be empty"));
        }
        if self.expires_at <= now {
            return Err(invalid("verification expires_at must be in the future"));
        }
        let mut c = Columns::default();
        c.set("identifier", self.identifier)
            .set("value", self.value)
            .set("expires_at", self.expires_at);
        c.finish()
    }
}

/// A partial update of a verification row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerificationPatch {
    pub value: Option<String>,
    pub expires_at: Option<Timestamp>,
}

impl PatchRow for VerificationPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("value", self.value)
            .patch("expires_at", self.expires_at);
        c.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_token() {
        let new = NewVerification {
            identifier: "reset-password:SecretToken123".into(),
            value: "u".into(),
            expires_at: Timestamp::now(),
        };
        let shown = format!("{new:?}");
        assert!(shown.contains("reset-password"), "{shown}");
        assert!(!shown.contains("SecretToken123"), "{shown}");
    }
}

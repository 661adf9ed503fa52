//! `iam_two_factor`: a user's two-factor enrolment (better-auth's `twoFactor` model) — the TOTP
//! secret and the backup codes, both as better-auth's `symmetricEncrypt` text, whether the TOTP
//! secret was confirmed, and the account-lockout counter. The `Debug` output shows neither
//! secret.

use shared_server::db::repo::{Entity, NewRow, NoFilter, PatchRow, Unscoped};
use shared_server::db::{Columns, RepoError, SqlValue};
use shared_server::entities::{Audit, UserId};
use shared_server::Timestamp;

shared_server::entity_id!(
    /// Id of an `iam_two_factor` row.
    TwoFactorId,
    "iam_two_factor"
);

shared_server::id_sql_value!(TwoFactorId);

/// An `iam_two_factor` row.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct TwoFactor {
    #[sqlx(rename = "_row_id")]
    pub row_id: i64,
    pub id: TwoFactorId,
    pub user_id: UserId,
    /// The encrypted TOTP secret.
    pub secret: String,
    /// The encrypted JSON array of unused backup codes.
    pub backup_codes: String,
    /// False from `enable` until the first correct TOTP code.
    pub verified: bool,
    /// Consecutive failed sign-in verifications (the account lockout's budget).
    pub failed_verification_count: i32,
    pub locked_until: Option<Timestamp>,
    #[sqlx(flatten)]
    pub audit: Audit,
}

impl std::fmt::Debug for TwoFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactor")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("verified", &self.verified)
            .field("failed_verification_count", &self.failed_verification_count)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

impl Entity for TwoFactor {
    type Id = TwoFactorId;
    type New = NewTwoFactor;
    type Patch = TwoFactorPatch;
    type Filter = NoFilter;
    type Scope = Unscoped;
    const TABLE: &'static str = "iam_two_factor";
    const NAME: &'static str = "TwoFactor";

    fn id(&self) -> &TwoFactorId {
        &self.id
    }

    shared_server::repo_spans!("TwoFactorRepo");
}

/// An enrolment to insert.
#[derive(Clone, PartialEq)]
pub struct NewTwoFactor {
    pub user_id: UserId,
    pub secret: String,
    pub backup_codes: String,
    pub verified: bool,
}

impl std::fmt::Debug for NewTwoFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTwoFactor")
            .field("user_id", &self.user_id)
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

impl NewRow for NewTwoFactor {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("user_id", self.user_id)
            .set("secret", self.secret)
            .set("backup_codes", self.backup_codes)
            .set("verified", self.verified);
        c.finish()
    }
}

/// A partial update (a re-enrolment replaces the secret and codes and resets `verified`).
#[derive(Clone, Default, PartialEq)]
pub struct TwoFactorPatch {
    pub secret: Option<String>,
    pub backup_codes: Option<String>,
    pub verified: Option<bool>,
}

impl std::fmt::Debug for TwoFactorPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactorPatch")
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

impl PatchRow for TwoFactorPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("secret", self.secret)
            .patch("backup_codes", self.backup_codes)
            .patch("verified", self.verified);
        c.finish()
    }
}

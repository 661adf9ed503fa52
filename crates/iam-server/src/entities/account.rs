//! `iam_account`: how a user signs in. One row per (provider, provider account); the
//! `credential` provider's row holds the password hash (email + password sign-in), with
//! `account_id` = the user id, as better-auth stores it.
//!
//! Its `Debug` output never shows the password hash or the provider tokens.

use shared_server::db::repo::{Entity, ListFilter, NewRow, PatchRow, Unscoped};
use shared_server::db::{RepoError, SqlValue};
use shared_server::entities::{Audit, UserId};
use shared_server::Timestamp;

use super::invalid;
use shared_server::db::Columns;

shared_server::entity_id!(
    /// Id of an `iam_account` row.
    AccountId,
    "iam_account"
);

shared_server::id_sql_value!(AccountId);

/// `provider_id` of email + password accounts.
pub const CREDENTIAL_PROVIDER: &str = "credential";

/// An `iam_account` row.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct Account {
    #[sqlx(rename = "_row_id")]
    pub row_id: i64,
    pub id: AccountId,
    /// The provider's id of the user (the user id itself for `credential`).
    pub account_id: String,
    pub provider_id: String,
    pub user_id: UserId,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<Timestamp>,
    pub refresh_token_expires_at: Option<Timestamp>,
    pub scope: Option<String>,
    /// The password hash (`credential` only): Argon2id PHC string, or better-auth's scrypt
    /// `salt:key` until the next successful sign-in upgrades it.
    pub password: Option<String>,
    #[sqlx(flatten)]
    pub audit: Audit,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("provider_id", &self.provider_id)
            .field("user_id", &self.user_id)
            .field("access_token", &redacted(&self.access_token))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("id_token", &redacted(&self.id_token))
            .field("scope", &self.scope)
            .field("password", &redacted(&self.password))
            .field("audit", &self.audit)
            .finish()
    }
}

impl Entity for Account {
    type Id = AccountId;
    type New = NewAccount;
    type Patch = AccountPatch;
    type Filter = AccountFilter;
    type Scope = Unscoped;
    const TABLE: &'static str = "iam_account";
    const NAME: &'static str = "Account";

    fn id(&self) -> &AccountId {
        &self.id
    }

    shared_server::repo_spans!("AccountRepo");
}

/// An account to insert.
#[derive(Clone, PartialEq)]
pub struct NewAccount {
    pub account_id: String,
    pub provider_id: String,
    pub user_id: UserId,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<Timestamp>,
    pub refresh_token_expires_at: Option<Timestamp>,
    pub scope: Option<String>,
    pub password: Option<String>,
    pub source: Option<String>,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("account_id", &self.account_id)
            .field("provider_id", &self.provider_id)
            .field("user_id", &self.user_id)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl NewAccount {
    /// The `credential` account of `user` holding `password_hash`.
    pub fn credential(user: &UserId, password_hash: String) -> Self {
        Self {
            account_id: user.as_str().to_string(),
            provider_id: CREDENTIAL_PROVIDER.to_string(),
            user_id: user.clone(),
            access_token: None,
            refresh_token: None,
            id_token: None,
            access_token_expires_at: None,
            refresh_token_expires_at: None,
            scope: None,
            password: Some(password_hash),
            source: None,
        }
    }
}

impl NewRow for NewAccount {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        if self.account_id.trim().is_empty() {
            return Err(invalid("account_id must not be empty"));
        }
        if self.provider_id.trim().is_empty() {
            return Err(invalid("provider_id must not be empty"));
        }
        if self.password.is_some() && self.provider_id != CREDENTIAL_PROVIDER {
            return Err(invalid("only `credential` accounts hold a password"));
        }
        let mut c = Columns::default();
        c.set("account_id", self.account_id)
            .set("provider_id", self.provider_id)
            .set("user_id", self.user_id)
            .set("access_token", self.access_token)
            .set("refresh_token", self.refresh_token)
            .set("id_token", self.id_token)
            .set("access_token_expires_at", self.access_token_expires_at)
            .set("refresh_token_expires_at", self.refresh_token_expires_at)
            .set("scope", self.scope)
            .set("password", self.password)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update (`Some(None)` clears a nullable column).
#[derive(Clone, Default, PartialEq)]
pub struct AccountPatch {
    pub access_token: Option<Option<String>>,
    pub refresh_token: Option<Option<String>>,
    pub id_token: Option<Option<String>>,
    pub access_token_expires_at: Option<Option<Timestamp>>,
    pub refresh_token_expires_at: Option<Option<Timestamp>>,
    pub scope: Option<Option<String>>,
    pub password: Option<Option<String>>,
}

impl std::fmt::Debug for AccountPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountPatch")
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl PatchRow for AccountPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("access_token", self.access_token)
            .patch("refresh_token", self.refresh_token)
            .patch("id_token", self.id_token)
            .patch("access_token_expires_at", self.access_token_expires_at)
            .patch("refresh_token_expires_at", self.refresh_token_expires_at)
            .patch("scope", self.scope)
            .patch("password", self.password);
        c.finish()
    }
}

/// Which accounts `list`/`count` return (unset fields do not filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFilter {
    pub user_id: Option<UserId>,
    pub provider_id: Option<String>,
}

impl ListFilter for AccountFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        let mut c = Vec::new();
        if let Some(user) = self.user_id {
            c.push(("user_id", user.into()));
        }
        if let Some(provider) = self.provider_id {
            c.push(("provider_id", provider.into()));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let user = UserId::new();
        let new = NewAccount::credential(&user, "$argon2id$v=19$secret-hash".into());
        let shown = format!("{new:?}");
        assert!(!shown.contains("secret-hash"), "{shown}");
        let patch = AccountPatch {
            password: Some(Some("secret-hash".into())),
            ..AccountPatch::default()
        };
        assert!(!format!("{patch:?}").contains("secret-hash"));
    }

    #[test]
    fn only_credential_accounts_hold_passwords() {
        let user = UserId::new();
        let mut new = NewAccount::credential(&user, "h".into());
        new.provider_id = "github".into();
        assert!(matches!(
            new.into_columns(Timestamp::now()),
            Err(RepoError::Invalid { .. })
        ));
    }
}

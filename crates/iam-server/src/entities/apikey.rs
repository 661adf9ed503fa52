//! `iam_apikey` (org-scoped: the organization the key acts in): API keys of the better-auth
//! API-key plugin (`specs/better-auth-api.md` §8). Only the SHA-256 hash of a key is stored
//! (`key`), with its first characters (`start`) for display; the counters (`request_count`,
//! `remaining`, `last_request`, `last_refill_at`) are written by `ApiKeyRepo::record_use` alone.

use shared_server::db::repo::{Entity, ListFilter, NewRow, OrgScoped, PatchRow};
use shared_server::db::{RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

use super::invalid;
use shared_server::db::Columns;

shared_server::entity_id!(
    /// Id of an `iam_apikey` row.
    ApiKeyId,
    "iam_apikey"
);

shared_server::id_sql_value!(ApiKeyId);

/// The per-key rate limit's defaults (§8.5): 10 uses per 24 h.
pub const DEFAULT_RATE_LIMIT_TIME_WINDOW_MS: i64 = 86_400_000;
pub const DEFAULT_RATE_LIMIT_MAX: i32 = 10;

/// An `iam_apikey` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKey {
    #[sqlx(rename = "_row_id")]
    pub row_id: i64,
    pub id: ApiKeyId,
    /// The organization the key acts in (the creator's active organization at creation).
    pub organization_id: OrganizationId,
    /// The owner (better-auth's `referenceId`).
    pub user_id: UserId,
    pub name: Option<String>,
    pub start: Option<String>,
    pub prefix: Option<String>,
    /// `base64url_nopad(SHA-256(plain key))`.
    pub key: String,
    pub enabled: bool,
    pub rate_limit_enabled: bool,
    /// Milliseconds.
    pub rate_limit_time_window: i64,
    pub rate_limit_max: i32,
    pub request_count: i32,
    /// Uses left; `None` is unlimited.
    pub remaining: Option<i32>,
    /// Milliseconds.
    pub refill_interval: Option<i32>,
    pub refill_amount: Option<i32>,
    pub last_refill_at: Option<Timestamp>,
    pub last_request: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    /// JSON-encoded `{resource: [actions]}`.
    pub permissions: Option<String>,
    /// JSON-encoded object.
    pub metadata: Option<String>,
    #[sqlx(flatten)]
    pub audit: Audit,
}

impl ApiKey {
    /// Whether the key expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at < now)
    }

    /// Whether a refill is due at `now` (§8.5: more than `refillInterval` since the last
    /// refill, or since creation).
    pub fn refill_due(&self, now: Timestamp) -> bool {
        match (self.refill_interval, self.refill_amount) {
            (Some(interval), Some(amount)) if interval > 0 && amount > 0 => {
                let since = self.last_refill_at.unwrap_or(self.audit.created_at);
                now.unix_millis() - since.unix_millis() > i64::from(interval)
            }
            _ => false,
        }
    }
}

impl Entity for ApiKey {
    type Id = ApiKeyId;
    type New = NewApiKey;
    type Patch = ApiKeyPatch;
    type Filter = ApiKeyFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "iam_apikey";
    const NAME: &'static str = "ApiKey";

    fn id(&self) -> &ApiKeyId {
        &self.id
    }

    shared_server::repo_spans!("ApiKeyRepo");
}

/// A key to insert (the organization is the repository call's `org`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    pub user_id: UserId,
    pub name: Option<String>,
    pub start: Option<String>,
    pub prefix: Option<String>,
    /// The hash, never the plain key.
    pub key: String,
    pub enabled: bool,
    pub rate_limit_enabled: bool,
    pub rate_limit_time_window: i64,
    pub rate_limit_max: i32,
    pub remaining: Option<i32>,
    pub refill_interval: Option<i32>,
    pub refill_amount: Option<i32>,
    pub expires_at: Option<Timestamp>,
    pub permissions: Option<String>,
    pub metadata: Option<String>,
    pub source: Option<String>,
}

fn check_limits(
    window: Option<i64>,
    max: Option<i32>,
    remaining: Option<Option<i32>>,
) -> Result<(), RepoError> {
    if window.is_some_and(|w| w <= 0) {
        return Err(invalid("api key rate_limit_time_window must be positive"));
    }
    if max.is_some_and(|m| m <= 0) {
        return Err(invalid("api key rate_limit_max must be positive"));
    }
    if remaining.flatten().is_some_and(|r| r < 0) {
        return Err(invalid("api key remaining must not be negative"));
    }
    Ok(())
}

impl NewRow for NewApiKey {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        if self.key.is_empty() {
            return Err(invalid("api key hash must not be empty"));
        }
        check_limits(
            Some(self.rate_limit_time_window),
            Some(self.rate_limit_max),
            Some(self.remaining),
        )?;
        let mut c = Columns::default();
        c.set("user_id", self.user_id)
            .set("name", self.name)
            .set("start", self.start)
            .set("prefix", self.prefix)
            .set("key", self.key)
            .set("enabled", self.enabled)
            .set("rate_limit_enabled", self.rate_limit_enabled)
            .set("rate_limit_time_window", self.rate_limit_time_window)
            .set("rate_limit_max", self.rate_limit_max)
            .set("request_count", 0_i32)
            .set("remaining", self.remaining)
            .set("refill_interval", self.refill_interval)
            .set("refill_amount", self.refill_amount)
            .set("expires_at", self.expires_at)
            .set("permissions", self.permissions)
            .set("metadata", self.metadata)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of a key's settings (`Some(None)` clears a nullable column). The usage
/// counters are not patchable: only `record_use` writes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiKeyPatch {
    pub name: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub expires_at: Option<Option<Timestamp>>,
    pub metadata: Option<Option<String>>,
    pub remaining: Option<Option<i32>>,
    pub refill_interval: Option<Option<i32>>,
    pub refill_amount: Option<Option<i32>>,
    pub rate_limit_enabled: Option<bool>,
    pub rate_limit_time_window: Option<i64>,
    pub rate_limit_max: Option<i32>,
    pub permissions: Option<Option<String>>,
}

impl ApiKeyPatch {
    /// Whether nothing would be written.
    pub fn is_empty(&self) -> bool {
        self == &ApiKeyPatch::default()
    }
}

impl PatchRow for ApiKeyPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        check_limits(
            self.rate_limit_time_window,
            self.rate_limit_max,
            self.remaining,
        )?;
        let mut c = Columns::default();
        c.patch("name", self.name)
            .patch("enabled", self.enabled)
            .patch("expires_at", self.expires_at)
            .patch("metadata", self.metadata)
            .patch("remaining", self.remaining)
            .patch("refill_interval", self.refill_interval)
            .patch("refill_amount", self.refill_amount)
            .patch("rate_limit_enabled", self.rate_limit_enabled)
            .patch("rate_limit_time_window", self.rate_limit_time_window)
            .patch("rate_limit_max", self.rate_limit_max)
            .patch("permissions", self.permissions);
        c.finish()
    }
}

/// Which keys `list`/`count` return (unset fields do not filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiKeyFilter {
    pub user_id: Option<UserId>,
}

impl ListFilter for ApiKeyFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        let mut c = Vec::new();
        if let Some(user) = self.user_id {
            c.push(("user_id", user.into()));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(created: Timestamp) -> ApiKey {
        ApiKey {
            row_id: 1,
            id: ApiKeyId::new(),
            organization_id: OrganizationId::new(),
            user_id: UserId::new(),
            name: None,
            start: None,
            prefix: None,
            key: "h".into(),
            enabled: true,
            rate_limit_enabled: true,
            rate_limit_time_window: DEFAULT_RATE_LIMIT_TIME_WINDOW_MS,
            rate_limit_max: DEFAULT_RATE_LIMIT_MAX,
            request_count: 0,
            remaining: Some(0),
            refill_interval: Some(1000),
            refill_amount: Some(5),
            last_refill_at: None,
            last_request: None,
            expires_at: None,
            permissions: None,
            metadata: None,
            audit: Audit {
                created_at: created,
                updated_at: created,
                deleted_at: None,
                created_by: None,
                updated_by: None,
                deleted_by: None,
                version: 1,
                source: None,
            },
        }
    }

    #[test]
    fn refills_are_due_strictly_after_the_interval() {
        let created = Timestamp::now();
        let k = key(created);
        assert!(!k.refill_due(created.plus(Duration::from_millis(1000))));
        assert!(k.refill_due(created.plus(Duration::from_millis(1001))));
        let no_refill = ApiKey {
            refill_amount: None,
            ..k
        };
        assert!(!no_refill.refill_due(created.plus(Duration::from_secs(3600))));
    }

    #[test]
    fn negative_limits_are_refused_before_sql() {
        let patch = ApiKeyPatch {
            rate_limit_max: Some(0),
            ..ApiKeyPatch::default()
        };
        assert!(patch.into_columns(Timestamp::now()).is_err());
        assert!(ApiKeyPatch::default().is_empty());
    }
}

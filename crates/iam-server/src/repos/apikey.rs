//! `ApiKeyRepo`: API keys (org-scoped). Besides the base operations it has the lookup by hash
//! (the authentication entry point, deliberately not org-filtered), the owner's keys in one
//! organization, and `record_use`: one guarded `UPDATE` that spends a use (remaining / refill)
//! and a per-key rate-limit slot together, so concurrent uses can never over-spend a key.

use std::time::Duration;

use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::{OrganizationId, UserId};
use shared_server::Timestamp;

use crate::entities::{ApiKey, ApiKeyId};

shared_server::repository!(
    /// API keys (org-scoped).
    ApiKeyRepo(OrgRepo<ApiKey>)
);

/// The columns `list_by_user` may sort by: better-auth's field name → column.
pub const SORTABLE_FIELDS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("start", "start"),
    ("prefix", "prefix"),
    ("enabled", "enabled"),
    ("expiresAt", "expires_at"),
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("lastRequest", "last_request"),
    ("requestCount", "request_count"),
    ("remaining", "remaining"),
];

/// How `list_by_user` orders and pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiKeyListQuery {
    /// A column of [`SORTABLE_FIELDS`]; `None` is creation order.
    pub sort_column: Option<&'static str>,
    pub descending: bool,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl ApiKeyRepo {
    /// The key whose hash is `hash`, in whatever organization.
    #[tracing::instrument(skip_all, name = "ApiKeyRepo.find_by_key_hash")]
    pub async fn find_by_key_hash(
        &self,
        on: impl Into<Exec<'_>>,
        hash: &str,
    ) -> Result<Option<ApiKey>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_apikey WHERE key = ");
        sql.push_bind(hash).push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<ApiKey>)
    }

    /// The user's keys in `org`, ordered and paged by `query`.
    #[tracing::instrument(skip_all, name = "ApiKeyRepo.list_by_user")]
    pub async fn list_by_user(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        query: ApiKeyListQuery,
    ) -> Result<Vec<ApiKey>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_apikey WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND user_id = ")
            .push_bind(user)
            .push(" AND deleted_at IS NULL ORDER BY ");
        // NULLs sort first ascending and last descending on both backends (as the plugin's
        // in-memory sort does); `_row_id` completes the order.
        let column = query
            .sort_column
            .filter(|c| SORTABLE_FIELDS.iter().any(|(_, col)| col == c))
            .unwrap_or("created_at");
        if query.descending {
            sql.push(&format!(
                "CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, {column} DESC, _row_id DESC"
            ));
        } else {
            sql.push(&format!(
                "CASE WHEN {column} IS NULL THEN 0 ELSE 1 END, {column} ASC, _row_id ASC"
            ));
        }
        if let Some(limit) = query.limit {
            sql.push(" LIMIT ").push_bind(i64::from(limit));
        } else if query.offset.is_some() {
            // Both backends accept a LIMIT this large as "no limit".
            sql.push(" LIMIT ").push_bind(i64::MAX);
        }
        if let Some(offset) = query.offset {
            sql.push(" OFFSET ").push_bind(i64::from(offset));
        }
        sql.fetch_all(conn).await.map_err(map_db_error::<ApiKey>)
    }

    /// How many keys the user has in `org`.
    pub async fn count_by_user(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<u64, RepoError> {
        let mut pooled = self.db().acquire().await?;
        let mut sql = Sql::new("SELECT COUNT(*) FROM iam_apikey WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND user_id = ")
            .push_bind(user)
            .push(" AND deleted_at IS NULL");
        let (n,): (i64,) = sql
            .fetch_one(&mut pooled.conn())
            .await
            .map_err(map_db_error::<ApiKey>)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Spends one use of `key` at `now` in one guarded `UPDATE` (§8.5), and returns the row
    /// after it; `None` when a guard failed (the key vanished, was disabled, expired, is out
    /// of uses, is rate limited, or its limits changed since `key` was read): the caller
    /// re-reads the row to tell which.
    ///
    /// `key` supplies the limits (window, max, refill), which the statement checks are still
    /// current; the counters are read and written by the statement itself:
    /// * `remaining` (when tracked): `refill_amount - 1` with `last_refill_at = now` if a
    ///   refill is due, else `remaining - 1`, only while it is above 0;
    /// * with the rate limit on (`limiter_enabled` and the key's flag): `request_count = 1` if
    ///   the last use is older than the window, else `+ 1` only while below the max;
    /// * `last_request = updated_at = now`.
    #[tracing::instrument(skip_all, name = "ApiKeyRepo.record_use")]
    pub async fn record_use(
        &self,
        on: impl Into<Exec<'_>>,
        key: &ApiKey,
        now: Timestamp,
        limiter_enabled: bool,
    ) -> Result<Option<ApiKey>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let refill = match (key.refill_interval, key.refill_amount) {
            (Some(interval), Some(amount)) if interval > 0 && amount > 0 => Some((
                now.minus(Duration::from_millis(u64::from(interval.unsigned_abs()))),
                amount,
            )),
            _ => None,
        };
        let limited = limiter_enabled && key.rate_limit_enabled;
        let window_start = now.minus(Duration::from_millis(
            key.rate_limit_time_window.unsigned_abs(),
        ));

        // `due`: a refill is due (only when one is configured).
        let due = |sql: &mut Sql| match refill {
            Some((before, _)) => {
                sql.push("(COALESCE(last_refill_at, created_at) < ")
                    .push_bind(before)
                    .push(")");
            }
            None => {
                sql.push("(1 = 0)");
            }
        };

        let mut sql = Sql::new(
            "UPDATE iam_apikey SET remaining = CASE WHEN remaining IS NULL THEN NULL WHEN ",
        );
        due(&mut sql);
        sql.push(" THEN ");
        match refill {
            Some((_, amount)) => sql.push_bind(amount - 1),
            None => sql.push("remaining"),
        };
        sql.push(" ELSE remaining - 1 END, last_refill_at = CASE WHEN remaining IS NOT NULL AND ");
        due(&mut sql);
        sql.push(" THEN ")
            .push_bind(now)
            .push(" ELSE last_refill_at END, ");
        if limited {
            sql.push("request_count = CASE WHEN last_request IS NULL OR last_request < ")
                .push_bind(window_start)
                .push(" THEN 1 ELSE request_count + 1 END, ");
        }
        sql.push("last_request = ")
            .push_bind(now)
            .push(", updated_at = ")
            .push_bind(now)
            .push(" WHERE id = ")
            .push_bind(&key.id)
            .push(" AND deleted_at IS NULL AND enabled = ")
            .push_bind(true)
            .push(" AND (expires_at IS NULL OR expires_at >= ")
            .push_bind(now)
            .push(") AND (remaining IS NULL OR remaining > 0 OR ");
        due(&mut sql);
        sql.push(")");
        if limited {
            sql.push(" AND (last_request IS NULL OR last_request < ")
                .push_bind(window_start)
                .push(" OR request_count < ")
                .push_bind(key.rate_limit_max)
                .push(")");
        }
        // The limits the thresholds above were computed from are still the row's.
        sql.push(" AND rate_limit_enabled = ")
            .push_bind(key.rate_limit_enabled)
            .push(" AND rate_limit_time_window = ")
            .push_bind(key.rate_limit_time_window)
            .push(" AND rate_limit_max = ")
            .push_bind(key.rate_limit_max)
            .push(" AND COALESCE(refill_interval, -1) = ")
            .push_bind(key.refill_interval.unwrap_or(-1))
            .push(" AND COALESCE(refill_amount, -1) = ")
            .push_bind(key.refill_amount.unwrap_or(-1))
            .push(" RETURNING *");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<ApiKey>)
    }

    /// Removes the key (an expired or exhausted one, found by hash), whatever its organization;
    /// returns whether it existed.
    pub async fn delete_by_id(&self, id: &ApiKeyId) -> Result<bool, RepoError> {
        let mut pooled = self.db().acquire().await?;
        let mut sql = Sql::new("DELETE FROM iam_apikey WHERE id = ");
        sql.push_bind(id);
        let n = sql
            .execute(&mut pooled.conn())
            .await
            .map_err(map_db_error::<ApiKey>)?;
        Ok(n > 0)
    }

    /// Removes every key that expired before `now`; returns how many.
    #[tracing::instrument(skip_all, name = "ApiKeyRepo.delete_expired")]
    pub async fn delete_expired(&self, now: Timestamp) -> Result<u64, RepoError> {
        let mut pooled = self.db().acquire().await?;
        let mut sql =
            Sql::new("DELETE FROM iam_apikey WHERE expires_at IS NOT NULL AND expires_at < ");
        sql.push_bind(now);
        sql.execute(&mut pooled.conn())
            .await
            .map_err(map_db_error::<ApiKey>)
    }
}

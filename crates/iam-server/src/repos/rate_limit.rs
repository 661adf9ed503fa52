//! `RateLimitRepo`: the auth API's rate-limit counters in `iam_rate_limit`, for deployments
//! with several instances (`IAM_RATE_LIMIT_STORAGE=database`). One request is one atomic
//! upsert (`INSERT … ON CONFLICT (key) DO UPDATE … WHERE <allowed>`), so instances sharing the
//! database never let a burst through between a read and a write. Stale counters are deleted
//! by the limiter from time to time (`delete_stale`).

use shared_server::db::repo::Sql;
use shared_server::db::{Db, RepoError};
use shared_server::ids::new_id;

/// What a hit on a key decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitHit {
    Allowed,
    /// Denied; the window frees a slot in `retry_after_ms`.
    Limited {
        retry_after_ms: i64,
    },
}

/// Rate-limit counters (`iam_rate_limit`: `key`, `count`, `last_request` in epoch ms).
#[derive(Debug, Clone)]
pub struct RateLimitRepo {
    db: Db,
}

impl RateLimitRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Counts a request on `key` at `now_ms` under better-auth's algorithm (§6): no row, or
    /// the last allowed request `window_ms` or more ago → allowed with `count = 1`; else
    /// `count >= max` → limited (row unchanged); else allowed with `count + 1`. Allowed
    /// requests set `last_request = now_ms`.
    #[tracing::instrument(skip_all, name = "RateLimitRepo.hit")]
    pub async fn hit(
        &self,
        key: &str,
        window_ms: i64,
        max: i64,
        now_ms: i64,
    ) -> Result<RateLimitHit, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let conn = &mut pooled.conn();
        let window_start = now_ms - window_ms;
        let mut sql = Sql::new(
            "INSERT INTO iam_rate_limit (id, key, count, last_request, created_by, updated_by) \
             VALUES (",
        );
        sql.push_bind(new_id("iam_rate_limit"))
            .push(", ")
            .push_bind(key)
            .push(", 1, ")
            .push_bind(now_ms)
            .push(
                ", 'system', 'system') ON CONFLICT (key) DO UPDATE SET count = CASE \
                 WHEN iam_rate_limit.last_request <= ",
            )
            .push_bind(window_start)
            .push(" THEN 1 ELSE iam_rate_limit.count + 1 END, last_request = ")
            .push_bind(now_ms)
            .push(" WHERE iam_rate_limit.last_request <= ")
            .push_bind(window_start)
            .push(" OR iam_rate_limit.count < ")
            .push_bind(max)
            .push(" RETURNING count");
        // A row comes back only when the request was counted (inserted or updated).
        let counted: Option<(i32,)> = sql.fetch_optional(conn).await?;
        if counted.is_some() {
            return Ok(RateLimitHit::Allowed);
        }
        let mut sql = Sql::new("SELECT last_request FROM iam_rate_limit WHERE key = ");
        sql.push_bind(key);
        let last: Option<(i64,)> = sql.fetch_optional(conn).await?;
        let retry_after_ms = last
            .map(|(last,)| last + window_ms - now_ms)
            .unwrap_or(0)
            .max(0);
        Ok(RateLimitHit::Limited { retry_after_ms })
    }

    /// Deletes counters whose last request is older than `before_ms` (their window has
    /// passed: the next request starts at 1 anyway); returns how many.
    #[tracing::instrument(skip_all, name = "RateLimitRepo.delete_stale")]
    pub async fn delete_stale(&self, before_ms: i64) -> Result<u64, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let mut sql = Sql::new("DELETE FROM iam_rate_limit WHERE last_request < ");
        sql.push_bind(before_ms);
        Ok(sql.execute(&mut pooled.conn()).await?)
    }
}

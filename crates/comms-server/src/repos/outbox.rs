//! `OutboxRepo`: the durable queue behind the `Mailer`.
//!
//! - `enqueue` writes a message where it is told (usually the caller's transaction); a repeated idempotency key
//!   returns the first row instead (`ON CONFLICT … DO NOTHING`, safe inside a PostgreSQL
//!   transaction, where a failed INSERT would abort it).
//! - `claim_due` hands a batch to one worker: one `UPDATE … WHERE id IN (SELECT … LIMIT n)
//!   RETURNING *` that sets the lease and counts the attempt. On PostgreSQL the inner SELECT
//!   takes `FOR UPDATE SKIP LOCKED`, so concurrent workers get disjoint batches without waiting;
//!   on SQLite the single statement holds the database's write lock from start to end, which
//!   serialises claimers the same way. Rows whose lease expired (a crashed worker) are claimed
//!   again like due ones.
//! - `mark_sent` / `mark_retry` / `mark_failed` finish an attempt only while the caller still
//!   holds the lease (`lease_owner = me AND status = 'sending'`), so a worker that lost its
//!   lease can never overwrite the outcome of the worker that took over.

use std::sync::Arc;
use std::time::Duration;

use shared_server::db::repo::{Page, PageRequest, Sql};
use shared_server::db::{Backend, Db, Exec, SqlValue};
use shared_server::entities::OrganizationId;
use shared_server::{Clock, RepoError, Timestamp};

use super::db_error;
use crate::entities::{NewOutboxEmail, OutboxCounts, OutboxEmail, OutboxId, OutboxStatus};

/// Rows one purge statement deletes; purges loop until fewer are left.
pub const PURGE_CHUNK: i64 = 1000;
/// `last_error` is truncated to this many characters.
const MAX_ERROR_CHARS: usize = 2000;

/// The email outbox.
#[derive(Clone)]
pub struct OutboxRepo {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OutboxRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRepo").field("db", &self.db).finish()
    }
}

/// The first `MAX_ERROR_CHARS` characters of an error text.
pub(crate) fn truncate_error(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

impl OutboxRepo {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Inserts `new` as `pending`, due now, where `on` says (the caller's transaction, or its
    /// own statement on the pool). Returns the row and whether it already existed
    /// (same idempotency key: the earlier row is returned and nothing is written).
    #[tracing::instrument(skip_all, name = "OutboxRepo.enqueue")]
    pub async fn enqueue(
        &self,
        on: impl Into<Exec<'_>>,
        new: NewOutboxEmail,
        actor: &str,
    ) -> Result<(OutboxEmail, bool), RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let now = self.now();
        let key = new.idempotency_key.clone();
        let values: Vec<SqlValue> = vec![
            new.id.into(),
            SqlValue::Text(new.organization_id.map(|o| o.as_str().to_string())),
            SqlValue::Text(new.user_id.map(|u| u.as_str().to_string())),
            new.template_name.into(),
            new.message_id.into(),
            new.from_address.into(),
            new.reply_to.into(),
            new.to.into(),
            new.cc.into(),
            new.bcc.into(),
            new.subject.into(),
            new.body_html.into(),
            new.body_text.into(),
            new.headers.into(),
            OutboxStatus::Pending.into(),
            0i32.into(),
            new.max_attempts.into(),
            now.into(),
            new.idempotency_key.into(),
            new.source.into(),
            now.into(),
            now.into(),
            actor.into(),
            actor.into(),
            1i32.into(),
        ];
        let mut sql = Sql::new(
            "INSERT INTO comms_email_outbox (id, organization_id, user_id, template_name, message_id, \
             from_address, reply_to, \"to\", cc, bcc, subject, body_html, body_text, headers, status, \
             attempts, max_attempts, next_attempt_at, idempotency_key, source, created_at, updated_at, \
             created_by, updated_by, version) VALUES (",
        );
        sql.push_bind_list(values)
            .push(") ON CONFLICT (idempotency_key) DO NOTHING RETURNING *");
        if let Some(row) = sql
            .fetch_optional::<OutboxEmail>(conn)
            .await
            .map_err(db_error)?
        {
            return Ok((row, false));
        }
        let Some(key) = key else {
            return Err(RepoError::Invalid {
                message: "the outbox insert wrote nothing and no idempotency key explains it"
                    .into(),
            });
        };
        let mut sql = Sql::new("SELECT * FROM comms_email_outbox WHERE idempotency_key = ");
        sql.push_bind(key.clone());
        match sql
            .fetch_optional::<OutboxEmail>(conn)
            .await
            .map_err(db_error)?
        {
            Some(row) => Ok((row, true)),
            None => Err(RepoError::not_found("OutboxEmail", key)),
        }
    }

    /// Claims up to `limit` rows that are due (`pending` with `next_attempt_at <= now`) or whose
    /// lease expired (`sending` with `lease_until < now`): status `sending`, lease `owner` until
    /// `now + lease`, `attempts + 1`. Oldest due first.
    #[tracing::instrument(skip_all, name = "OutboxRepo.claim_due", fields(owner = %owner))]
    pub async fn claim_due(
        &self,
        owner: &str,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxEmail>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let mut conn = pooled.conn();
        let lock = match conn.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut sql = Sql::new("UPDATE comms_email_outbox SET status = 'sending', lease_owner = ");
        sql.push_bind(owner.to_string())
            .push(", lease_until = ")
            .push_bind(now.plus(lease))
            .push(", attempts = attempts + 1, updated_at = ")
            .push_bind(now)
            .push(
                ", updated_by = 'system', version = version + 1 WHERE id IN (SELECT id FROM comms_email_outbox \
                 WHERE (status = 'pending' AND next_attempt_at <= ",
            )
            .push_bind(now)
            .push(") OR (status = 'sending' AND lease_until < ")
            .push_bind(now)
            .push(") ORDER BY next_attempt_at, _row_id LIMIT ")
            .push_bind(i64::from(limit))
            .push(lock)
            .push(") RETURNING *");
        let mut rows: Vec<OutboxEmail> = sql.fetch_all(&mut conn).await.map_err(db_error)?;
        rows.sort_by_key(|r| (r.next_attempt_at, r.row_id));
        Ok(rows)
    }

    /// Extends `owner`'s lease on a row to `until`; `false` when the lease was lost.
    pub async fn renew_lease(
        &self,
        owner: &str,
        id: &OutboxId,
        until: Timestamp,
    ) -> Result<bool, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let mut sql = Sql::new("UPDATE comms_email_outbox SET lease_until = ");
        sql.push_bind(until);
        push_lease_guard(&mut sql, id, owner);
        Ok(sql.execute(&mut pooled.conn()).await.map_err(db_error)? == 1)
    }

    /// `sent`, with the provider and its message id; lease cleared. `false`: lease lost.
    #[tracing::instrument(skip_all, name = "OutboxRepo.mark_sent")]
    pub async fn mark_sent(
        &self,
        on: impl Into<Exec<'_>>,
        owner: &str,
        id: &OutboxId,
        provider: &str,
        provider_message_id: Option<String>,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let now = self.now();
        let mut sql = Sql::new("UPDATE comms_email_outbox SET status = 'sent', sent_at = ");
        sql.push_bind(now)
            .push(", provider = ")
            .push_bind(provider.to_string())
            .push(", provider_message_id = ")
            .push_bind(provider_message_id);
        push_finish(&mut sql, now);
        push_lease_guard(&mut sql, id, owner);
        Ok(sql.execute(conn).await.map_err(db_error)? == 1)
    }

    /// Back to `pending`, due at `next_attempt_at`, with the error; lease cleared.
    #[tracing::instrument(skip_all, name = "OutboxRepo.mark_retry")]
    pub async fn mark_retry(
        &self,
        on: impl Into<Exec<'_>>,
        owner: &str,
        id: &OutboxId,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let now = self.now();
        let mut sql =
            Sql::new("UPDATE comms_email_outbox SET status = 'pending', next_attempt_at = ");
        sql.push_bind(next_attempt_at)
            .push(", last_error = ")
            .push_bind(truncate_error(error));
        push_finish(&mut sql, now);
        push_lease_guard(&mut sql, id, owner);
        Ok(sql.execute(conn).await.map_err(db_error)? == 1)
    }

    /// `failed` for good, with the error; lease cleared.
    #[tracing::instrument(skip_all, name = "OutboxRepo.mark_failed")]
    pub async fn mark_failed(
        &self,
        on: impl Into<Exec<'_>>,
        owner: &str,
        id: &OutboxId,
        error: &str,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let now = self.now();
        let mut sql = Sql::new("UPDATE comms_email_outbox SET status = 'failed', last_error = ");
        sql.push_bind(truncate_error(error));
        push_finish(&mut sql, now);
        push_lease_guard(&mut sql, id, owner);
        Ok(sql.execute(conn).await.map_err(db_error)? == 1)
    }

    /// Hands every row `owner` still holds back to the queue, due now (graceful shutdown).
    /// The attempt stays counted: it may have reached the server.
    #[tracing::instrument(skip_all, name = "OutboxRepo.release_leases")]
    pub async fn release_leases(&self, owner: &str) -> Result<u64, RepoError> {
        let now = self.now();
        let mut pooled = self.db.acquire().await?;
        let mut sql =
            Sql::new("UPDATE comms_email_outbox SET status = 'pending', next_attempt_at = ");
        sql.push_bind(now);
        push_finish(&mut sql, now);
        sql.push(" WHERE lease_owner = ")
            .push_bind(owner.to_string())
            .push(" AND status = 'sending'");
        sql.execute(&mut pooled.conn()).await.map_err(db_error)
    }

    /// Cancels a `pending` message of `org`. Another organization's or a missing row:
    /// `NotFound`; a message past `pending`: `Invalid`.
    #[tracing::instrument(skip_all, name = "OutboxRepo.cancel")]
    pub async fn cancel(
        &self,
        org: &OrganizationId,
        id: &OutboxId,
        actor: &str,
    ) -> Result<OutboxEmail, RepoError> {
        let now = self.now();
        let mut pooled = self.db.acquire().await?;
        let mut conn = pooled.conn();
        let mut sql = Sql::new("UPDATE comms_email_outbox SET status = 'cancelled', updated_at = ");
        sql.push_bind(now)
            .push(", updated_by = ")
            .push_bind(actor.to_string())
            .push(", version = version + 1 WHERE id = ")
            .push_bind(id)
            .push(" AND organization_id = ")
            .push_bind(org.as_str())
            .push(" AND status = 'pending' RETURNING *");
        if let Some(row) = sql
            .fetch_optional::<OutboxEmail>(&mut conn)
            .await
            .map_err(db_error)?
        {
            return Ok(row);
        }
        match self.find_in_org(&mut conn, org, id).await? {
            None => Err(RepoError::not_found("OutboxEmail", id)),
            Some(row) => Err(RepoError::Invalid {
                message: format!(
                    "message {id} is {} and can no longer be cancelled (only pending messages can)",
                    row.status
                ),
            }),
        }
    }

    /// Any row by id (operations and tests; tenant-facing reads use [`OutboxRepo::get`]).
    pub async fn find_by_id(&self, id: &OutboxId) -> Result<Option<OutboxEmail>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let mut sql = Sql::new("SELECT * FROM comms_email_outbox WHERE id = ");
        sql.push_bind(id);
        sql.fetch_optional(&mut pooled.conn())
            .await
            .map_err(db_error)
    }

    /// `org`'s row, or `NotFound` (also for another organization's row).
    pub async fn get(&self, org: &OrganizationId, id: &OutboxId) -> Result<OutboxEmail, RepoError> {
        self.find_in_org(&self.db, org, id)
            .await?
            .ok_or_else(|| RepoError::not_found("OutboxEmail", id))
    }

    async fn find_in_org(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &OutboxId,
    ) -> Result<Option<OutboxEmail>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM comms_email_outbox WHERE id = ");
        sql.push_bind(id)
            .push(" AND organization_id = ")
            .push_bind(org.as_str());
        sql.fetch_optional(conn).await.map_err(db_error)
    }

    /// Every row carrying `message_id` (tests and support: "which row is this mail?").
    pub async fn find_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<OutboxEmail>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let mut sql = Sql::new("SELECT * FROM comms_email_outbox WHERE message_id = ");
        sql.push_bind(message_id.to_string());
        sql.fetch_optional(&mut pooled.conn())
            .await
            .map_err(db_error)
    }

    /// `org`'s messages, newest first (`created_at DESC, id DESC`), optionally of one status.
    #[tracing::instrument(skip_all, name = "OutboxRepo.list")]
    pub async fn list(
        &self,
        org: &OrganizationId,
        status: Option<OutboxStatus>,
        page: PageRequest,
    ) -> Result<Page<OutboxEmail>, RepoError> {
        let limit = page.effective_limit() as usize;
        let mut pooled = self.db.acquire().await?;
        let mut conn = pooled.conn();
        let cursor = match &page.after {
            None => None,
            Some(after) => {
                let mut sql = Sql::new("SELECT created_at, id FROM comms_email_outbox WHERE id = ");
                sql.push_bind(after.clone())
                    .push(" AND organization_id = ")
                    .push_bind(org.as_str());
                let key: Option<(Timestamp, String)> =
                    sql.fetch_optional(&mut conn).await.map_err(db_error)?;
                Some(key.ok_or(RepoError::InvalidCursor)?)
            }
        };
        let mut sql = Sql::new("SELECT * FROM comms_email_outbox WHERE organization_id = ");
        sql.push_bind(org.as_str());
        if let Some(status) = status {
            sql.push(" AND status = ").push_bind(status);
        }
        if let Some((created_at, id)) = cursor {
            sql.push(" AND (created_at < ")
                .push_bind(created_at)
                .push(" OR (created_at = ")
                .push_bind(created_at)
                .push(" AND id < ")
                .push_bind(id)
                .push("))");
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(limit as i64 + 1);
        let mut items: Vec<OutboxEmail> = sql.fetch_all(&mut conn).await.map_err(db_error)?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|e| e.id.as_str().to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Deletes `status` rows finished before `before` (sent rows by `sent_at`, others by
    /// `updated_at`); their delivery logs cascade. Returns how many were deleted.
    #[tracing::instrument(skip_all, name = "OutboxRepo.purge", fields(status = %status))]
    pub async fn purge(&self, status: OutboxStatus, before: Timestamp) -> Result<u64, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let mut conn = pooled.conn();
        let mut total = 0;
        loop {
            let mut sql = Sql::new(
                "DELETE FROM comms_email_outbox WHERE id IN (SELECT id FROM comms_email_outbox WHERE status = ",
            );
            sql.push_bind(status)
                .push(" AND COALESCE(sent_at, updated_at) < ")
                .push_bind(before)
                .push(" LIMIT ")
                .push_bind(PURGE_CHUNK)
                .push(")");
            let deleted = sql.execute(&mut conn).await.map_err(db_error)?;
            total += deleted;
            if deleted < PURGE_CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    /// How many rows are in each status (zeros included).
    #[tracing::instrument(skip_all, name = "OutboxRepo.counts_by_status")]
    pub async fn counts_by_status(&self) -> Result<OutboxCounts, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let sql = Sql::new("SELECT status, COUNT(*) FROM comms_email_outbox GROUP BY status");
        let rows: Vec<(OutboxStatus, i64)> =
            sql.fetch_all(&mut pooled.conn()).await.map_err(db_error)?;
        let mut counts = OutboxCounts::default();
        for (status, n) in rows {
            counts.set(status, u64::try_from(n).unwrap_or(0));
        }
        Ok(counts)
    }
}

/// `, lease_owner = NULL, lease_until = NULL, updated_at = now, …, version + 1`
fn push_finish(sql: &mut Sql, now: Timestamp) {
    sql.push(", lease_owner = NULL, lease_until = NULL, updated_at = ")
        .push_bind(now)
        .push(", updated_by = 'system', version = version + 1");
}

/// ` WHERE id = $ AND lease_owner = $ AND status = 'sending'`
fn push_lease_guard(sql: &mut Sql, id: &OutboxId, owner: &str) {
    sql.push(" WHERE id = ")
        .push_bind(id)
        .push(" AND lease_owner = ")
        .push_bind(owner.to_string())
        .push(" AND status = 'sending'");
}

//! `TwoFactorRepo`: enrolments (not org-scoped; one per user). Besides the base operations it
//! has the lookup by user, and the guarded single-statement writes that concurrent
//! verifications rely on: the failure counter's increment and lock, and the backup codes'
//! compare-and-swap (a code can be spent only once even by two requests at the same moment).

use shared_server::db::repo::{map_db_error, Repo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::UserId;
use shared_server::Timestamp;

use super::entities::{TwoFactor, TwoFactorId};

shared_server::repository!(
    /// Two-factor enrolments (not org-scoped).
    TwoFactorRepo(Repo<TwoFactor>)
);

impl TwoFactorRepo {
    /// The user's enrolment.
    #[tracing::instrument(skip_all, name = "TwoFactorRepo.find_by_user")]
    pub async fn find_by_user(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
    ) -> Result<Option<TwoFactor>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_two_factor WHERE user_id = ");
        sql.push_bind(user).push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<TwoFactor>)
    }

    /// Deletes the user's enrolment; returns how many rows went.
    #[tracing::instrument(skip_all, name = "TwoFactorRepo.delete_by_user")]
    pub async fn delete_by_user(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM iam_two_factor WHERE user_id = ");
        sql.push_bind(user);
        sql.execute(conn).await.map_err(map_db_error::<TwoFactor>)
    }

    /// Counts one failed verification (atomically) and, once `max` consecutive failures are
    /// reached, locks the enrolment until `lock_until`. Returns the new count.
    #[tracing::instrument(skip_all, name = "TwoFactorRepo.record_failure")]
    pub async fn record_failure(
        &self,
        on: impl Into<Exec<'_>>,
        id: &TwoFactorId,
        max: u32,
        lock_until: Timestamp,
        now: Timestamp,
    ) -> Result<i32, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(
            "UPDATE iam_two_factor SET failed_verification_count = failed_verification_count + 1, \
             updated_at = ",
        );
        sql.push_bind(now)
            .push(", version = version + 1 WHERE id = ")
            .push_bind(id)
            .push(" RETURNING failed_verification_count");
        let count: Option<(i32,)> = sql
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_db_error::<TwoFactor>)?;
        let count = count.map(|(c,)| c).unwrap_or(0);
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        if count >= max {
            let mut lock = Sql::new("UPDATE iam_two_factor SET locked_until = ");
            lock.push_bind(lock_until)
                .push(" WHERE id = ")
                .push_bind(id)
                .push(" AND failed_verification_count >= ")
                .push_bind(max);
            lock.execute(conn)
                .await
                .map_err(map_db_error::<TwoFactor>)?;
        }
        Ok(count)
    }

    /// Clears the failure budget (after a success).
    #[tracing::instrument(skip_all, name = "TwoFactorRepo.reset_failures")]
    pub async fn reset_failures(
        &self,
        on: impl Into<Exec<'_>>,
        id: &TwoFactorId,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(
            "UPDATE iam_two_factor SET failed_verification_count = 0, locked_until = NULL, \
             updated_at = ",
        );
        sql.push_bind(now)
            .push(", version = version + 1 WHERE id = ")
            .push_bind(id);
        sql.execute(conn).await.map_err(map_db_error::<TwoFactor>)?;
        Ok(())
    }

    /// Clears a lock that has run out (and its counter), leaving a live lock alone.
    #[tracing::instrument(skip_all, name = "TwoFactorRepo.clear_expired_lock")]
    pub async fn clear_expired_lock(
        &self,
        on: impl Into<Exec<'_>>,
        id: &TwoFactorId,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(
            "UPDATE iam_two_factor SET failed_verification_count = 0, locked_until = NULL \
             WHERE id = ",
        );
        sql.push_bind(id)
            .push(" AND locked_until IS NOT NULL AND locked_until <= ")
            .push_bind(now);
        sql.execute(conn).await.map_err(map_db_error::<TwoFactor>)?;
        Ok(())
    }

    /// Replaces the backup codes only if they are still `expected`: false when another request
    /// changed them first (the code was already spent).
    #[tracing::instrument(skip_all, name = "TwoFactorRepo.swap_backup_codes")]
    pub async fn swap_backup_codes(
        &self,
        on: impl Into<Exec<'_>>,
        id: &TwoFactorId,
        expected: &str,
        replacement: &str,
        now: Timestamp,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("UPDATE iam_two_factor SET backup_codes = ");
        sql.push_bind(replacement.to_string())
            .push(", updated_at = ")
            .push_bind(now)
            .push(", version = version + 1 WHERE id = ")
            .push_bind(id)
            .push(" AND backup_codes = ")
            .push_bind(expected.to_string());
        let changed = sql.execute(conn).await.map_err(map_db_error::<TwoFactor>)?;
        Ok(changed == 1)
    }
}

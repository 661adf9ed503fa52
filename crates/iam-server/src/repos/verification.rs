//! `VerificationRepo`: one-time values. Lookups take the newest unexpired row of an identifier;
//! consuming deletes every row of the identifier in one statement, so a token works once even
//! under concurrent use.

use shared_server::db::repo::{map_db_error, Repo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::Timestamp;

use crate::entities::Verification;

shared_server::repository!(
    /// Verification values (not org-scoped).
    VerificationRepo(Repo<Verification>)
);

impl VerificationRepo {
    /// The newest row of `identifier` that has not expired at `now` (and, when `value` is
    /// given, holds it).
    #[tracing::instrument(skip_all, name = "VerificationRepo.find_valid")]
    pub async fn find_valid(
        &self,
        on: impl Into<Exec<'_>>,
        identifier: &str,
        value: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Verification>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_verification WHERE identifier = ");
        sql.push_bind(identifier.to_string())
            .push(" AND expires_at > ")
            .push_bind(now);
        if let Some(value) = value {
            sql.push(" AND value = ").push_bind(value.to_string());
        }
        sql.push(" AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Verification>)
    }

    /// Deletes every row of `identifier` and returns the newest one if it had not expired at
    /// `now`: the single use of a token (a second call finds nothing).
    #[tracing::instrument(skip_all, name = "VerificationRepo.consume")]
    pub async fn consume(
        &self,
        on: impl Into<Exec<'_>>,
        identifier: &str,
        now: Timestamp,
    ) -> Result<Option<Verification>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM iam_verification WHERE identifier = ");
        sql.push_bind(identifier.to_string()).push(" RETURNING *");
        let deleted: Vec<Verification> = sql
            .fetch_all(conn)
            .await
            .map_err(map_db_error::<Verification>)?;
        Ok(deleted
            .into_iter()
            .filter(|row| row.audit.deleted_at.is_none())
            .max_by(|a, b| (a.audit.created_at, a.row_id).cmp(&(b.audit.created_at, b.row_id)))
            .filter(|row| row.expires_at > now))
    }

    /// Deletes every row of `identifier`; returns how many.
    #[tracing::instrument(skip_all, name = "VerificationRepo.delete_by_identifier")]
    pub async fn delete_by_identifier(
        &self,
        on: impl Into<Exec<'_>>,
        identifier: &str,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM iam_verification WHERE identifier = ");
        sql.push_bind(identifier.to_string());
        sql.execute(conn)
            .await
            .map_err(map_db_error::<Verification>)
    }

    /// Deletes rows that expired at or before `now`; returns how many.
    #[tracing::instrument(skip_all, name = "VerificationRepo.delete_expired")]
    pub async fn delete_expired(
        &self,
        on: impl Into<Exec<'_>>,
        now: Timestamp,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM iam_verification WHERE expires_at <= ");
        sql.push_bind(now);
        sql.execute(conn)
            .await
            .map_err(map_db_error::<Verification>)
    }
}

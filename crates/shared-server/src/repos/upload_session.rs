//! `UploadSessionRepo`: pending uploads between initiation and completion, keyed by object
//! key. `store` upserts (a re-initiated upload replaces its descriptor), completion deletes the
//! row (so a descriptor cannot be replayed), and a job deletes expired rows.

use serde_json::Value as Json;

use crate::db::repo::{insert_statement, map_db_error, OrgRepo, Sql};
use crate::db::{Exec, RepoError};
use crate::entities::{
    NewUploadSession, OrganizationId, UploadSession, UploadSessionId, UserId,
    UPLOAD_INITIATION_SOURCE,
};
use crate::files::ObjectKey;
use crate::time::Timestamp;

crate::repository!(
    /// Upload sessions (org-scoped, owned by the uploader).
    UploadSessionRepo(OrgRepo<UploadSession>)
);

impl UploadSessionRepo {
    /// Inserts the session for `file_key`, or replaces the signature, metadata and expiry of
    /// the existing one (`source = 'upload-initiation'`). A key held by another user or
    /// organization is never taken over: `Conflict { shared_upload_session_file_key_uq }`.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip_all, name = "UploadSessionRepo.store")]
    pub async fn store(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        file_key: &ObjectKey,
        signature: &str,
        metadata: Json,
        expires_at: Timestamp,
    ) -> Result<UploadSessionId, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let new = NewUploadSession {
            file_key: file_key.clone(),
            user_id: user.clone(),
            signature: signature.to_string(),
            metadata,
            expires_at,
            source: Some(UPLOAD_INITIATION_SOURCE.to_string()),
        };
        let mut sql = insert_statement::<UploadSession>(self.now(), Some(org), new, user.as_str())?;
        sql.push(
            " ON CONFLICT (file_key) DO UPDATE SET signature = excluded.signature, \
             metadata = excluded.metadata, expires_at = excluded.expires_at, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by, \
             source = excluded.source, deleted_at = NULL, deleted_by = NULL, \
             version = shared_upload_session.version + 1 \
             WHERE shared_upload_session.organization_id = excluded.organization_id \
             AND shared_upload_session.user_id = excluded.user_id \
             RETURNING id",
        );
        let stored: Option<(UploadSessionId,)> = sql
            .fetch_optional(conn)
            .await
            .map_err(map_db_error::<UploadSession>)?;
        match stored {
            Some((id,)) => Ok(id),
            None => Err(RepoError::Conflict {
                constraint: "shared_upload_session_file_key_uq".to_string(),
            }),
        }
    }

    /// The session for `file_key` in `org` (expired ones included: see [`Self::is_valid`]).
    #[tracing::instrument(skip_all, name = "UploadSessionRepo.find_by_file_key")]
    pub async fn find_by_file_key(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        file_key: &ObjectKey,
    ) -> Result<Option<UploadSession>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = by_file_key("SELECT *", org, file_key);
        sql.push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<UploadSession>)
    }

    /// Deletes the session for `file_key` in `org`; idempotent (`false` when there was none).
    #[tracing::instrument(skip_all, name = "UploadSessionRepo.delete_by_file_key")]
    pub async fn delete_by_file_key(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        file_key: &ObjectKey,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let sql = by_file_key("DELETE", org, file_key);
        Ok(sql
            .execute(conn)
            .await
            .map_err(map_db_error::<UploadSession>)?
            > 0)
    }

    /// Deletes sessions of every organization that expired before `now` (job use only);
    /// returns how many.
    #[tracing::instrument(skip_all, name = "UploadSessionRepo.delete_expired")]
    pub async fn delete_expired(
        &self,
        on: impl Into<Exec<'_>>,
        now: Timestamp,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM shared_upload_session WHERE expires_at < ");
        sql.push_bind(now);
        sql.execute(conn)
            .await
            .map_err(map_db_error::<UploadSession>)
    }

    /// Deletes up to `limit` sessions of any organization that expired before `now` and
    /// returns their object keys (job use only: the caller deletes the objects). Each row is
    /// deleted, and its key returned, by exactly one caller, however many run at once.
    #[tracing::instrument(skip_all, name = "UploadSessionRepo.take_expired")]
    pub async fn take_expired(
        &self,
        on: impl Into<Exec<'_>>,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<ObjectKey>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(
            "DELETE FROM shared_upload_session WHERE id IN \
             (SELECT id FROM shared_upload_session WHERE expires_at < ",
        );
        sql.push_bind(now)
            .push(" ORDER BY expires_at LIMIT ")
            .push_bind(i64::from(limit.max(1)))
            .push(") RETURNING file_key");
        let taken: Vec<(ObjectKey,)> = sql
            .fetch_all(conn)
            .await
            .map_err(map_db_error::<UploadSession>)?;
        Ok(taken.into_iter().map(|(key,)| key).collect())
    }

    /// Whether a session for `file_key` exists in `org` and `now <= expires_at`.
    #[tracing::instrument(skip_all, name = "UploadSessionRepo.is_valid")]
    pub async fn is_valid(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        file_key: &ObjectKey,
        now: Timestamp,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = by_file_key("SELECT COUNT(*)", org, file_key);
        sql.push(" AND deleted_at IS NULL AND expires_at >= ")
            .push_bind(now);
        let (n,): (i64,) = sql
            .fetch_one(conn)
            .await
            .map_err(map_db_error::<UploadSession>)?;
        Ok(n > 0)
    }
}

/// `<verb> FROM shared_upload_session WHERE organization_id = $1 AND file_key = $2`.
fn by_file_key(verb: &str, org: &OrganizationId, file_key: &ObjectKey) -> Sql {
    let mut sql = Sql::new(format!(
        "{verb} FROM shared_upload_session WHERE organization_id = "
    ));
    sql.push_bind(org)
        .push(" AND file_key = ")
        .push_bind(file_key);
    sql
}

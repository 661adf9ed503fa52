//! `SessionRepo`: sessions (scoped by user), plus the token lookups, revocations and clean-up
//! the auth API needs. Sessions are hard-deleted: a revoked token must never resolve again.

use crate::db::repo::{map_db_error, Repo, Sql};
use crate::db::{Exec, RepoError};
use crate::entities::{OrganizationId, Session, SessionId, TeamId, UserId};
use crate::time::Timestamp;

crate::repository!(
    /// Sessions (not org-scoped).
    SessionRepo(Repo<Session>)
);

impl SessionRepo {
    /// The session with this token if it has not expired (by the injected clock).
    #[tracing::instrument(skip_all, name = "SessionRepo.find_by_token")]
    pub async fn find_by_token(
        &self,
        on: impl Into<Exec<'_>>,
        token: &str,
    ) -> Result<Option<Session>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM shared_session WHERE token = ");
        sql.push_bind(token)
            .push(" AND expires_at > ")
            .push_bind(self.now())
            .push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Session>)
    }

    /// The user's unexpired sessions, newest first.
    #[tracing::instrument(skip_all, name = "SessionRepo.list_by_user")]
    pub async fn list_by_user(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
    ) -> Result<Vec<Session>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM shared_session WHERE user_id = ");
        sql.push_bind(user)
            .push(" AND expires_at > ")
            .push_bind(self.now())
            .push(" AND deleted_at IS NULL ORDER BY created_at DESC, id DESC");
        sql.fetch_all(conn).await.map_err(map_db_error::<Session>)
    }

    /// Deletes the session with this token; `false` when there was none.
    #[tracing::instrument(skip_all, name = "SessionRepo.delete_by_token")]
    pub async fn delete_by_token(
        &self,
        on: impl Into<Exec<'_>>,
        token: &str,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM shared_session WHERE token = ");
        sql.push_bind(token);
        Ok(sql.execute(conn).await.map_err(map_db_error::<Session>)? > 0)
    }

    /// Deletes every session of the user except `except` (the caller's own, when revoking the
    /// others); returns how many were deleted.
    #[tracing::instrument(skip_all, name = "SessionRepo.delete_by_user")]
    pub async fn delete_by_user(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
        except: Option<&SessionId>,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM shared_session WHERE user_id = ");
        sql.push_bind(user);
        if let Some(keep) = except {
            sql.push(" AND id <> ").push_bind(keep);
        }
        sql.execute(conn).await.map_err(map_db_error::<Session>)
    }

    /// Sets (or clears) the session's active organization and team; returns the updated
    /// session. Missing, soft-deleted or expired → `NotFound`.
    #[tracing::instrument(skip_all, name = "SessionRepo.set_active_organization")]
    pub async fn set_active_organization(
        &self,
        on: impl Into<Exec<'_>>,
        id: &SessionId,
        org: Option<&OrganizationId>,
        team: Option<&TeamId>,
    ) -> Result<Session, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let now = self.now();
        let mut sql = Sql::new("UPDATE shared_session SET active_organization_id = ");
        sql.push_bind(org.cloned())
            .push(", active_team_id = ")
            .push_bind(team.cloned())
            .push(", updated_at = ")
            .push_bind(now)
            // The session's owner is the only one who switches it.
            .push(", updated_by = user_id, version = version + 1 WHERE id = ")
            .push_bind(id)
            .push(" AND expires_at > ")
            .push_bind(now)
            .push(" AND deleted_at IS NULL RETURNING *");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Session>)?
            .ok_or_else(|| RepoError::not_found("Session", id))
    }

    /// Deletes sessions that expired at or before `now`; returns how many.
    #[tracing::instrument(skip_all, name = "SessionRepo.delete_expired")]
    pub async fn delete_expired(
        &self,
        on: impl Into<Exec<'_>>,
        now: Timestamp,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM shared_session WHERE expires_at <= ");
        sql.push_bind(now);
        sql.execute(conn).await.map_err(map_db_error::<Session>)
    }
}

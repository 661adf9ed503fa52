//! `InvitationRepo`: invitations (org-scoped, slices.md §2.3). Every method takes the
//! organization, except the two lookups by the invitee — an invitation's opaque id (what the
//! invitee holds, the organization unknown to them) and the invitee's own email — which are the
//! entry points of accept/reject/get-invitation and list-user-invitations; the service checks
//! the recipient before anything is shown or changed.

use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::{OrganizationId, TeamId};
use shared_server::Timestamp;

use crate::entities::{Invitation, InvitationId, InvitationStatus};

shared_server::repository!(
    /// Invitations (org-scoped).
    InvitationRepo(OrgRepo<Invitation>)
);

/// A pending invitation of a user with its organization's name (list-user-invitations).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InvitationWithOrganization {
    #[sqlx(flatten)]
    pub invitation: Invitation,
    pub organization_name: String,
}

impl InvitationRepo {
    /// The pending, unexpired invitation of `email` (any case) to `org`.
    #[tracing::instrument(skip_all, name = "InvitationRepo.find_pending")]
    pub async fn find_pending(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        email: &str,
        now: Timestamp,
    ) -> Result<Option<Invitation>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_invitation WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND email = ")
            .push_bind(email.to_lowercase())
            .push(" AND status = ")
            .push_bind(InvitationStatus::Pending)
            .push(" AND expires_at > ")
            .push_bind(now)
            .push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Invitation>)
    }

    /// The pending invitation of `email` to `org`, expired or not (the partial unique index
    /// allows one).
    #[tracing::instrument(skip_all, name = "InvitationRepo.find_pending_any_expiry")]
    pub async fn find_pending_any_expiry(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        email: &str,
    ) -> Result<Option<Invitation>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_invitation WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND email = ")
            .push_bind(email.to_lowercase())
            .push(" AND status = ")
            .push_bind(InvitationStatus::Pending)
            .push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Invitation>)
    }

    /// The organization's invitations (every status when `status` is `None`), oldest first.
    #[tracing::instrument(skip_all, name = "InvitationRepo.list")]
    pub async fn list(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        status: Option<InvitationStatus>,
    ) -> Result<Vec<Invitation>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_invitation WHERE organization_id = ");
        sql.push_bind(org).push(" AND deleted_at IS NULL");
        if let Some(status) = status {
            sql.push(" AND status = ").push_bind(status);
        }
        sql.push(" ORDER BY created_at ASC, id ASC");
        sql.fetch_all(conn)
            .await
            .map_err(map_db_error::<Invitation>)
    }

    /// Pending, unexpired invitations of `org`.
    #[tracing::instrument(skip_all, name = "InvitationRepo.count_pending")]
    pub async fn count_pending(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        now: Timestamp,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT COUNT(*) FROM iam_invitation WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND status = ")
            .push_bind(InvitationStatus::Pending)
            .push(" AND expires_at > ")
            .push_bind(now)
            .push(" AND deleted_at IS NULL");
        let (n,): (i64,) = sql
            .fetch_one(conn)
            .await
            .map_err(map_db_error::<Invitation>)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Moves the invitation to `status` if it is at `expected_version` (slices.md §2.3).
    pub async fn set_status(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &InvitationId,
        status: InvitationStatus,
        expected_version: i32,
        actor: &str,
    ) -> Result<Invitation, RepoError> {
        let patch = crate::entities::InvitationPatch {
            status: Some(status),
            ..Default::default()
        };
        self.update(on, org, id, expected_version, patch, actor)
            .await
    }

    /// Clears `team` from the organization's pending invitations (the team is being removed);
    /// returns how many changed.
    #[tracing::instrument(skip_all, name = "InvitationRepo.clear_team")]
    pub async fn clear_team(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        team: &TeamId,
        now: Timestamp,
        actor: &str,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("UPDATE iam_invitation SET team_id = NULL, updated_at = ");
        sql.push_bind(now)
            .push(", updated_by = ")
            .push_bind(actor)
            .push(", version = version + 1 WHERE organization_id = ")
            .push_bind(org)
            .push(" AND team_id = ")
            .push_bind(team)
            .push(" AND status = ")
            .push_bind(InvitationStatus::Pending)
            .push(" AND deleted_at IS NULL");
        sql.execute(conn).await.map_err(map_db_error::<Invitation>)
    }

    /// The invitation with this id in whichever organization holds it: the invitee's entry
    /// point (they hold the opaque id, not the organization). Callers must check the recipient.
    #[tracing::instrument(skip_all, name = "InvitationRepo.find_for_invitee")]
    pub async fn find_for_invitee(
        &self,
        on: impl Into<Exec<'_>>,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_invitation WHERE id = ");
        sql.push_bind(id).push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Invitation>)
    }

    /// The pending, unexpired invitations addressed to `email`, with their organization's
    /// name, oldest first (list-user-invitations: the caller's own address only).
    pub async fn list_pending_for_email(
        &self,
        email: &str,
        now: Timestamp,
    ) -> Result<Vec<InvitationWithOrganization>, RepoError> {
        let mut pooled = self.db().acquire().await?;
        let mut sql = Sql::new(
            "SELECT i.*, o.name AS organization_name FROM iam_invitation i \
             JOIN shared_organization o ON o.id = i.organization_id WHERE i.email = ",
        );
        sql.push_bind(email.to_lowercase())
            .push(" AND i.status = ")
            .push_bind(InvitationStatus::Pending)
            .push(" AND i.expires_at > ")
            .push_bind(now)
            .push(
                " AND i.deleted_at IS NULL AND o.deleted_at IS NULL \
                 ORDER BY i.created_at ASC, i.id ASC",
            );
        sql.fetch_all(&mut pooled.conn())
            .await
            .map_err(map_db_error::<Invitation>)
    }
}

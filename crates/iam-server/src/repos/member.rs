//! `MemberRepo`: memberships (org-scoped), plus the lookups sessions need: a user's membership
//! of one organization, and the user's organizations in the personal-first order that picks a
//! new session's active organization (slices.md §2.2).

use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Conn, RepoError};
use shared_server::entities::{Organization, OrganizationId, UserId};

use crate::entities::{Member, MemberStatus};

shared_server::repository!(
    /// Organization memberships (org-scoped).
    MemberRepo(OrgRepo<Member>)
);

impl MemberRepo {
    /// The user's membership of `org` (any status), unless soft-deleted.
    pub async fn find(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Option<Member>, RepoError> {
        let mut pooled = self.db().acquire().await?;
        self.find_in(&mut pooled.conn(), org, user).await
    }

    #[tracing::instrument(skip_all, name = "MemberRepo.find")]
    pub async fn find_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Option<Member>, RepoError> {
        let mut sql = Sql::new("SELECT * FROM iam_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND user_id = ")
            .push_bind(user)
            .push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Member>)
    }

    /// Active members of `org`.
    pub async fn count_active(&self, org: &OrganizationId) -> Result<u64, RepoError> {
        let mut pooled = self.db().acquire().await?;
        self.count_active_in(&mut pooled.conn(), org).await
    }

    #[tracing::instrument(skip_all, name = "MemberRepo.count_active")]
    pub async fn count_active_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
    ) -> Result<u64, RepoError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM iam_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND status = ")
            .push_bind(MemberStatus::Active)
            .push(" AND deleted_at IS NULL");
        let (n,): (i64,) = sql.fetch_one(conn).await.map_err(map_db_error::<Member>)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The organizations where the user is an active member, personal first, then by when the
    /// user joined, then by the organization's age (slices.md §2.2). The first one is what a
    /// new session activates.
    pub async fn list_active_for_user_personal_first(
        &self,
        user: &UserId,
    ) -> Result<Vec<Organization>, RepoError> {
        let mut pooled = self.db().acquire().await?;
        self.list_active_for_user_personal_first_in(&mut pooled.conn(), user)
            .await
    }

    #[tracing::instrument(skip_all, name = "MemberRepo.list_active_for_user_personal_first")]
    pub async fn list_active_for_user_personal_first_in(
        &self,
        conn: &mut Conn<'_>,
        user: &UserId,
    ) -> Result<Vec<Organization>, RepoError> {
        // COALESCE: NULL ordering differs between the backends; a membership without a join
        // time counts from its creation.
        let mut sql = Sql::new(
            "SELECT o.* FROM shared_organization o \
             JOIN iam_member m ON m.organization_id = o.id \
             WHERE m.user_id = ",
        );
        sql.push_bind(user)
            .push(" AND m.status = ")
            .push_bind(MemberStatus::Active)
            .push(
                " AND m.deleted_at IS NULL AND o.deleted_at IS NULL \
                 ORDER BY o.is_personal DESC, COALESCE(m.joined_at, m.created_at) ASC, \
                 o.created_at ASC, o.id ASC",
            );
        sql.fetch_all(conn).await.map_err(map_db_error::<Member>)
    }
}

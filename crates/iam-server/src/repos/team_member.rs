//! `TeamMemberRepo`: team memberships (org-scoped, slices.md §2.3). Every statement filters on
//! the organization, so a team id of another tenant reads as empty.

use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::{OrganizationId, Team, TeamId, UserId};

use crate::entities::TeamMember;

shared_server::repository!(
    /// Team memberships (org-scoped).
    TeamMemberRepo(OrgRepo<TeamMember>)
);

impl TeamMemberRepo {
    /// The team's members, oldest first.
    #[tracing::instrument(skip_all, name = "TeamMemberRepo.list_by_team")]
    pub async fn list_by_team(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        team: &TeamId,
    ) -> Result<Vec<TeamMember>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_team_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND team_id = ")
            .push_bind(team)
            .push(" AND deleted_at IS NULL ORDER BY created_at ASC, id ASC");
        sql.fetch_all(conn)
            .await
            .map_err(map_db_error::<TeamMember>)
    }

    /// The user's team memberships in `org`.
    pub async fn list_by_user(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Vec<TeamMember>, RepoError> {
        let mut pooled = self.db().acquire().await?;
        let mut sql = Sql::new("SELECT * FROM iam_team_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND user_id = ")
            .push_bind(user)
            .push(" AND deleted_at IS NULL ORDER BY created_at ASC, id ASC");
        sql.fetch_all(&mut pooled.conn())
            .await
            .map_err(map_db_error::<TeamMember>)
    }

    /// The teams of `org` the user belongs to, oldest first.
    #[tracing::instrument(skip_all, name = "TeamMemberRepo.list_teams_of_user")]
    pub async fn list_teams_of_user(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Vec<Team>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(
            "SELECT t.* FROM shared_team t JOIN iam_team_member tm ON tm.team_id = t.id \
             WHERE t.organization_id = ",
        );
        sql.push_bind(org)
            .push(" AND tm.organization_id = ")
            .push_bind(org)
            .push(" AND tm.user_id = ")
            .push_bind(user)
            .push(
                " AND t.deleted_at IS NULL AND tm.deleted_at IS NULL \
                 ORDER BY t.created_at ASC, t.id ASC",
            );
        sql.fetch_all(conn)
            .await
            .map_err(map_db_error::<TeamMember>)
    }

    /// The user's own teams in every organization where they are an active member (oldest
    /// first): scoped by the user, never by a tenant the user does not belong to.
    #[tracing::instrument(skip_all, name = "TeamMemberRepo.list_teams_of_user_everywhere")]
    pub async fn list_teams_of_user_everywhere(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
    ) -> Result<Vec<Team>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(
            "SELECT t.* FROM shared_team t \
             JOIN iam_team_member tm ON tm.team_id = t.id AND tm.organization_id = t.organization_id \
             JOIN iam_member m ON m.organization_id = t.organization_id AND m.user_id = tm.user_id \
             WHERE tm.user_id = ",
        );
        sql.push_bind(user)
            .push(" AND m.status = ")
            .push_bind(crate::entities::MemberStatus::Active)
            .push(
                " AND t.deleted_at IS NULL AND tm.deleted_at IS NULL AND m.deleted_at IS NULL \
                 ORDER BY t.created_at ASC, t.id ASC",
            );
        sql.fetch_all(conn)
            .await
            .map_err(map_db_error::<TeamMember>)
    }

    /// The user's membership of the team, if any.
    #[tracing::instrument(skip_all, name = "TeamMemberRepo.find")]
    pub async fn find(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        team: &TeamId,
        user: &UserId,
    ) -> Result<Option<TeamMember>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_team_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND team_id = ")
            .push_bind(team)
            .push(" AND user_id = ")
            .push_bind(user)
            .push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<TeamMember>)
    }

    /// Members of the team.
    #[tracing::instrument(skip_all, name = "TeamMemberRepo.count_by_team")]
    pub async fn count_by_team(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        team: &TeamId,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT COUNT(*) FROM iam_team_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND team_id = ")
            .push_bind(team)
            .push(" AND deleted_at IS NULL");
        let (n,): (i64,) = sql
            .fetch_one(conn)
            .await
            .map_err(map_db_error::<TeamMember>)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Removes the user from the team; `false` when they were not in it.
    #[tracing::instrument(skip_all, name = "TeamMemberRepo.delete")]
    pub async fn delete(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        team: &TeamId,
        user: &UserId,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM iam_team_member WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND team_id = ")
            .push_bind(team)
            .push(" AND user_id = ")
            .push_bind(user);
        Ok(sql
            .execute(conn)
            .await
            .map_err(map_db_error::<TeamMember>)?
            > 0)
    }

    /// Removes the user from every team of `org` (they left the organization).
    #[tracing::instrument(skip_all, name = "TeamMemberRepo.delete_user")]
    pub async fn delete_user(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("DELETE FROM iam_team_member WHERE organization_id = ");
        sql.push_bind(org).push(" AND user_id = ").push_bind(user);
        sql.execute(conn).await.map_err(map_db_error::<TeamMember>)
    }
}

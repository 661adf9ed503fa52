//! `iam_team_member` (org-scoped): a user's membership of a team. One row per (team, user)
//! (`iam_team_member_team_id_user_id_uq`, which makes adding idempotent); team members must be
//! members of the team's organization (checked by the service).

use shared_server::db::repo::{Entity, ListFilter, NewRow, OrgScoped, PatchRow};
use shared_server::db::{RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, TeamId, UserId};
use shared_server::Timestamp;

use shared_server::db::Columns;

shared_server::entity_id!(
    /// Id of an `iam_team_member` row.
    TeamMemberId,
    "iam_team_member"
);

shared_server::id_sql_value!(TeamMemberId);

/// An `iam_team_member` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TeamMember {
    #[sqlx(rename = "_row_id")]
    pub row_id: i64,
    pub id: TeamMemberId,
    pub organization_id: OrganizationId,
    pub team_id: TeamId,
    pub user_id: UserId,
    #[sqlx(flatten)]
    pub audit: Audit,
}

impl Entity for TeamMember {
    type Id = TeamMemberId;
    type New = NewTeamMember;
    type Patch = TeamMemberPatch;
    type Filter = TeamMemberFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "iam_team_member";
    const NAME: &'static str = "TeamMember";

    fn id(&self) -> &TeamMemberId {
        &self.id
    }

    shared_server::repo_spans!("TeamMemberRepo");
}

/// A team membership to insert (the organization is the repository call's `org`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTeamMember {
    pub team_id: TeamId,
    pub user_id: UserId,
    pub source: Option<String>,
}

impl NewRow for NewTeamMember {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("team_id", self.team_id)
            .set("user_id", self.user_id)
            .set("source", self.source);
        c.finish()
    }
}

/// Team memberships have nothing to change (only the audit columns move).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamMemberPatch;

impl PatchRow for TeamMemberPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        Ok(Vec::new())
    }
}

/// Which team memberships `list`/`count` return (unset fields do not filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamMemberFilter {
    pub team_id: Option<TeamId>,
    pub user_id: Option<UserId>,
}

impl ListFilter for TeamMemberFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        let mut c = Vec::new();
        if let Some(team) = self.team_id {
            c.push(("team_id", team.into()));
        }
        if let Some(user) = self.user_id {
            c.push(("user_id", user.into()));
        }
        c
    }
}

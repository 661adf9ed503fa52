//! Team operations of the organization plugin (better-auth-api.md §7.7): create, list, update,
//! remove, the active team, a user's teams, and team members. Teams live in `shared_team`
//! (names unique per organization; the slug is derived from the name), memberships in
//! `iam_team_member`.

use shared_server::db::Exec;
use shared_server::entities::{NewTeam, OrganizationId, Team, TeamId, TeamPatch, UserId};
use shared_server::RepoError;

use super::{
    bad, forbidden, parse_id, Activated, Caller, OrgRef, OrganizationService, USER_CREATED_SOURCE,
};
use crate::entities::{NewTeamMember, TeamMember};
use crate::error::{ErrorCode, IamError};
use crate::services::access;
use crate::services::organizations::slug_base;

/// A team and how many members it has (get-full-organization shows the count).
#[derive(Debug, Clone)]
pub struct TeamWithCount {
    pub team: Team,
    pub member_count: u64,
}

impl OrganizationService {
    /// The organization's teams with their member counts, oldest first.
    pub(super) async fn teams_with_counts(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
    ) -> Result<Vec<TeamWithCount>, IamError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let teams = self.org_teams(&mut *conn, org).await?;
        let mut out = Vec::with_capacity(teams.len());
        for team in teams {
            let member_count = self
                .team_members
                .count_by_team(&mut *conn, org, &team.id)
                .await?;
            out.push(TeamWithCount { team, member_count });
        }
        Ok(out)
    }

    async fn org_teams(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
    ) -> Result<Vec<Team>, IamError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql =
            shared_server::db::repo::Sql::new("SELECT * FROM shared_team WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND deleted_at IS NULL ORDER BY created_at ASC, id ASC");
        Ok(sql
            .fetch_all(conn)
            .await
            .map_err(shared_server::db::repo::map_db_error::<Team>)?)
    }

    /// A slug for a team name, unique in the organization (`-2`, `-3`, … on collision).
    async fn team_slug(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        name: &str,
        except: Option<&TeamId>,
    ) -> Result<String, IamError> {
        let taken: Vec<String> = self
            .org_teams(on, org)
            .await?
            .into_iter()
            .filter(|t| Some(&t.id) != except)
            .map(|t| t.slug)
            .collect();
        let base = slug_base(name);
        let mut slug = base.clone();
        let mut n = 1;
        while taken.contains(&slug) {
            n += 1;
            slug = format!("{base}-{n}");
        }
        Ok(slug)
    }

    /// The organization named (or active) where the caller is a member; `not_member` otherwise
    /// (team endpoints name organizations by id only).
    async fn team_org(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        not_member: IamError,
    ) -> Result<(OrganizationId, crate::entities::Member), IamError> {
        let org = OrgRef {
            id: org_id.map(str::to_string),
            slug: None,
        };
        self.member_org(caller, &org, not_member).await
    }

    /// create-team (needs `team:create`; at most the team limit).
    pub async fn create_team(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        name: &str,
    ) -> Result<Team, IamError> {
        let (org, me) = self
            .team_org(
                caller,
                org_id,
                forbidden(ErrorCode::YouAreNotAllowedToInviteUsersToThisOrganization),
            )
            .await?;
        if !access::can(&me.role, "team", &["create"]) {
            return Err(forbidden(
                ErrorCode::YouAreNotAllowedToCreateTeamsInThisOrganization,
            ));
        }
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        self.lock_organization(&mut *conn, &org).await?;
        let teams = self.org_teams(&mut *conn, &org).await?;
        if teams.len() as u64 >= u64::from(self.settings().team_limit) {
            return Err(bad(ErrorCode::YouHaveReachedTheMaximumNumberOfTeams));
        }
        if teams.iter().any(|t| t.name == name.trim()) {
            return Err(bad(ErrorCode::TeamAlreadyExists));
        }
        let slug = self.team_slug(&mut *conn, &org, name, None).await?;
        let team = self
            .teams
            .insert(
                &mut *conn,
                &org,
                NewTeam {
                    source: Some(USER_CREATED_SOURCE.to_string()),
                    ..NewTeam::new(name, slug)
                },
                caller.actor(),
            )
            .await
            .map_err(|e| match e {
                RepoError::Conflict { .. } => bad(ErrorCode::TeamAlreadyExists),
                other => other.into(),
            })?;
        tx.commit().await?;
        tracing::info!(org.id = %org, team.id = %team.id, "team created");
        Ok(team)
    }

    /// list-teams: the organization's teams (members only).
    pub async fn list_teams(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
    ) -> Result<Vec<Team>, IamError> {
        let (org, _) = self
            .team_org(
                caller,
                org_id,
                forbidden(ErrorCode::YouAreNotAllowedToAccessThisOrganization),
            )
            .await?;
        self.org_teams(&self.db, &org).await
    }

    /// update-team (needs `team:update`): renames the team.
    pub async fn update_team(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        team_id: &str,
        name: Option<String>,
    ) -> Result<Team, IamError> {
        let not_allowed = || forbidden(ErrorCode::YouAreNotAllowedToUpdateThisTeam);
        let (org, me) = self.team_org(caller, org_id, not_allowed()).await?;
        if !access::can(&me.role, "team", &["update"]) {
            return Err(not_allowed());
        }
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        self.lock_organization(&mut *conn, &org).await?;
        let team = self
            .team(&mut *conn, &org, team_id)
            .await?
            .ok_or_else(|| bad(ErrorCode::TeamNotFound))?;
        let Some(name) = name else {
            return Ok(team);
        };
        let teams = self.org_teams(&mut *conn, &org).await?;
        if teams
            .iter()
            .any(|t| t.id != team.id && t.name == name.trim())
        {
            return Err(bad(ErrorCode::TeamAlreadyExists));
        }
        let slug = self
            .team_slug(&mut *conn, &org, &name, Some(&team.id))
            .await?;
        let updated = self
            .teams
            .update(
                &mut *conn,
                &org,
                &team.id,
                team.audit.version,
                TeamPatch {
                    name: Some(name),
                    slug: Some(slug),
                    ..TeamPatch::default()
                },
                caller.actor(),
            )
            .await
            .map_err(|e| match e {
                RepoError::Conflict { .. } => bad(ErrorCode::TeamAlreadyExists),
                RepoError::NotFound { .. } | RepoError::VersionConflict { .. } => {
                    bad(ErrorCode::TeamNotFound)
                }
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(updated)
    }

    /// remove-team (needs `team:delete`; never the caller's active team nor the last team).
    /// Pending invitations to the team keep their organization but lose the team.
    pub async fn remove_team(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        team_id: &str,
    ) -> Result<(), IamError> {
        let not_allowed = || forbidden(ErrorCode::YouAreNotAllowedToDeleteThisTeam);
        let (org, me) = self.team_org(caller, org_id, not_allowed()).await?;
        if caller
            .session
            .active_team_id
            .as_ref()
            .is_some_and(|t| t.as_str() == team_id)
        {
            return Err(not_allowed());
        }
        if !access::can(&me.role, "team", &["delete"]) {
            return Err(forbidden(
                ErrorCode::YouAreNotAllowedToDeleteTeamsInThisOrganization,
            ));
        }
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        self.lock_organization(&mut *conn, &org).await?;
        let team = self
            .team(&mut *conn, &org, team_id)
            .await?
            .ok_or_else(|| bad(ErrorCode::TeamNotFound))?;
        if self.org_teams(&mut *conn, &org).await?.len() <= 1 {
            return Err(bad(ErrorCode::UnableToRemoveLastTeam));
        }
        let now = self.now();
        self.invitations
            .clear_team(&mut *conn, &org, &team.id, now, caller.actor())
            .await?;
        self.teams.hard_delete(&mut *conn, &org, &team.id).await?;
        tx.commit().await?;
        tracing::info!(org.id = %org, team.id = %team.id, "team removed");
        Ok(())
    }

    /// set-active-team: `Some(None)` unsets; `None` re-activates the current one. The team must
    /// be in the active organization and the caller in the team.
    pub async fn set_active_team(
        &self,
        caller: &Caller,
        team_id: Option<Option<String>>,
    ) -> Result<Activated<Team>, IamError> {
        let team_id = match team_id {
            Some(None) => {
                if caller.session.active_team_id.is_none() {
                    return Ok(Activated {
                        value: None,
                        session: None,
                    });
                }
                let session = self
                    .sessions
                    .set_active_organization(
                        &self.db,
                        &caller.session.id,
                        caller.session.active_organization_id.as_ref(),
                        None,
                    )
                    .await?;
                return Ok(Activated {
                    value: None,
                    session: Some(session),
                });
            }
            Some(Some(id)) => id,
            None => match &caller.session.active_team_id {
                Some(id) => id.as_str().to_string(),
                None => {
                    return Ok(Activated {
                        value: None,
                        session: None,
                    })
                }
            },
        };
        let Some(org) = caller.session.active_organization_id.clone() else {
            return Err(bad(ErrorCode::NoActiveOrganization));
        };
        let mut pooled = self.db.acquire().await?;
        let conn = &mut pooled.conn();
        let team = self
            .team(&mut *conn, &org, &team_id)
            .await?
            .ok_or_else(|| bad(ErrorCode::TeamNotFound))?;
        let in_org = self
            .membership(&mut *conn, &org, &caller.user.id)
            .await?
            .is_some();
        let in_team = self
            .team_members
            .find(&mut *conn, &org, &team.id, &caller.user.id)
            .await?
            .is_some();
        if !in_org || !in_team {
            return Err(forbidden(ErrorCode::UserIsNotAMemberOfTheTeam));
        }
        let session = self
            .sessions
            .set_active_organization(&mut *conn, &caller.session.id, Some(&org), Some(&team.id))
            .await?;
        Ok(Activated {
            value: Some(team),
            session: Some(session),
        })
    }

    /// list-user-teams: the caller's own teams — in the named organization, else in every
    /// organization they belong to — or, for another user (needs `member:update`), that user's
    /// teams in the named (or active) organization.
    pub async fn list_user_teams(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<Team>, IamError> {
        let is_self = user_id.is_none_or(|id| id == caller.user.id.as_str());
        if is_self && org_id.is_none() {
            return Ok(self
                .team_members
                .list_teams_of_user_everywhere(&self.db, &caller.user.id)
                .await?);
        }
        let (org, me) = self
            .team_org(
                caller,
                org_id,
                forbidden(ErrorCode::YouAreNotAMemberOfThisOrganization),
            )
            .await?;
        let target: UserId = match user_id {
            Some(id) if !is_self => {
                if !access::can(&me.role, "member", &["update"]) {
                    return Err(forbidden(ErrorCode::YouAreNotAllowedToUpdateThisMember));
                }
                let user: Option<UserId> = parse_id(id);
                let member = match &user {
                    Some(user) => self.membership(&self.db, &org, user).await?,
                    None => None,
                };
                match (user, member) {
                    (Some(user), Some(_)) => user,
                    _ => return Err(bad(ErrorCode::UserIsNotAMemberOfTheOrganization)),
                }
            }
            _ => caller.user.id.clone(),
        };
        Ok(self
            .team_members
            .list_teams_of_user(&self.db, &org, &target)
            .await?)
    }

    /// list-team-members: the team's members (default the active team); the caller must be in
    /// the organization and in the team.
    pub async fn list_team_members(
        &self,
        caller: &Caller,
        team_id: Option<&str>,
    ) -> Result<Vec<TeamMember>, IamError> {
        let team_id = match (team_id, &caller.session.active_team_id) {
            (Some(id), _) => id.to_string(),
            (None, Some(active)) => active.as_str().to_string(),
            (None, None) => return Err(bad(ErrorCode::YouDoNotHaveAnActiveTeam)),
        };
        let not_in_team = || bad(ErrorCode::UserIsNotAMemberOfTheTeam);
        let Some(org) = caller.session.active_organization_id.clone() else {
            return Err(bad(ErrorCode::TeamNotFound));
        };
        let mut pooled = self.db.acquire().await?;
        let conn = &mut pooled.conn();
        let team = self
            .team(&mut *conn, &org, &team_id)
            .await?
            .ok_or_else(|| bad(ErrorCode::TeamNotFound))?;
        if self
            .membership(&mut *conn, &org, &caller.user.id)
            .await?
            .is_none()
        {
            return Err(not_in_team());
        }
        if self
            .team_members
            .find(&mut *conn, &org, &team.id, &caller.user.id)
            .await?
            .is_none()
        {
            return Err(not_in_team());
        }
        Ok(self
            .team_members
            .list_by_team(&mut *conn, &org, &team.id)
            .await?)
    }

    /// The active organization member `user_id` names, read inside the caller's transaction:
    /// 400 `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION` for a malformed id or a non-member.
    async fn member_user(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user_id: &str,
    ) -> Result<UserId, IamError> {
        let user: Option<UserId> = parse_id(user_id);
        let target = match &user {
            Some(user) => self.membership(on, org, user).await?,
            None => None,
        };
        match (user, target) {
            (Some(user), Some(_)) => Ok(user),
            _ => Err(bad(ErrorCode::UserIsNotAMemberOfTheOrganization)),
        }
    }

    /// add-team-member (needs `member:update`): idempotent; the user must be an organization
    /// member.
    pub async fn add_team_member(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        team_id: &str,
        user_id: &str,
    ) -> Result<TeamMember, IamError> {
        let (org, me) = self
            .team_org(
                caller,
                org_id,
                bad(ErrorCode::UserIsNotAMemberOfTheOrganization),
            )
            .await?;
        if !access::can(&me.role, "member", &["update"]) {
            return Err(forbidden(ErrorCode::YouAreNotAllowedToCreateANewTeamMember));
        }
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        self.lock_organization(&mut *conn, &org).await?;
        let user = self.member_user(&mut *conn, &org, user_id).await?;
        let team = self
            .team(&mut *conn, &org, team_id)
            .await?
            .ok_or_else(|| bad(ErrorCode::TeamNotFound))?;
        if let Some(existing) = self
            .team_members
            .find(&mut *conn, &org, &team.id, &user)
            .await?
        {
            return Ok(existing);
        }
        if let Some(limit) = self.settings().team_member_limit {
            if self
                .team_members
                .count_by_team(&mut *conn, &org, &team.id)
                .await?
                >= u64::from(limit)
            {
                return Err(forbidden(ErrorCode::TeamMemberLimitReached));
            }
        }
        let added = self
            .team_members
            .insert(
                &mut *conn,
                &org,
                NewTeamMember {
                    team_id: team.id.clone(),
                    user_id: user,
                    source: Some(USER_CREATED_SOURCE.to_string()),
                },
                caller.actor(),
            )
            .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// remove-team-member (needs `member:delete`).
    pub async fn remove_team_member(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        team_id: &str,
        user_id: &str,
    ) -> Result<(), IamError> {
        let (org, me) = self
            .team_org(
                caller,
                org_id,
                bad(ErrorCode::UserIsNotAMemberOfTheOrganization),
            )
            .await?;
        if !access::can(&me.role, "member", &["delete"]) {
            return Err(forbidden(ErrorCode::YouAreNotAllowedToRemoveATeamMember));
        }
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        self.lock_organization(&mut *conn, &org).await?;
        let user = self.member_user(&mut *conn, &org, user_id).await?;
        let team: TeamId = self
            .team(&mut *conn, &org, team_id)
            .await?
            .ok_or_else(|| bad(ErrorCode::TeamNotFound))?
            .id;
        if !self
            .team_members
            .delete(&mut *conn, &org, &team, &user)
            .await?
        {
            return Err(bad(ErrorCode::UserIsNotAMemberOfTheTeam));
        }
        tx.commit().await?;
        Ok(())
    }
}

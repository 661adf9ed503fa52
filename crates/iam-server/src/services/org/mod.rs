//! `OrganizationService`: the operations behind the organization plugin's endpoints
//! (better-auth-api.md §7): organizations (this file), members (`members`), invitations
//! (`invitations`) and teams (`teams`), with the limits and rules of slices.md §2.2.
//!
//! Every organization-scoped read and write names the organization explicitly, and a caller
//! acts in an organization only through an *active* membership of theirs. Operations that write
//! more than one row run in one transaction: a refused request writes nothing (the only
//! exceptions are better-auth's documented side effects, e.g. clearing the active organization
//! of a caller who turned out not to be a member).

mod invitations;
mod members;
mod teams;

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value};
use shared_server::db::repo::Sql;
use shared_server::db::{Backend, Exec};
use shared_server::entities::{
    NewOrganization, NewTeam, Organization, OrganizationFilter, OrganizationId, OrganizationPatch,
    OrganizationType, Session, TeamId, User,
};
use shared_server::mail::{MailError, Mailer, OutgoingEmail};
use shared_server::repos::{OrganizationRepo, SessionRepo, TeamRepo, UserRepo};
use shared_server::{Clock, Db, RepoError, Timestamp};

use crate::config::{IamConfig, OrganizationConfig};
use crate::entities::{Member, MemberRole, MemberStatus, NewMember, NewTeamMember};
use crate::error::{ErrorCode, IamError};
use crate::repos::{InvitationRepo, MemberRepo, MemberWithUser, TeamMemberRepo};
use crate::services::access::{self, Permissions};
use crate::services::organizations::slug_base;
use crate::services::AuthService;

pub use invitations::{InvitationDetails, InviteInput};
pub use members::ListMembersInput;
pub use teams::TeamWithCount;

/// `source` of rows created through the organization endpoints.
pub const USER_CREATED_SOURCE: &str = "user_created";

/// The signed-in caller: their session and user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub session: Session,
    pub user: User,
}

impl Caller {
    fn actor(&self) -> &str {
        self.user.id.as_str()
    }
}

/// A new organization as the create endpoint receives it (validated by the handler).
#[derive(Debug, Clone)]
pub struct CreateOrganization {
    pub name: String,
    pub slug: String,
    pub logo: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub keep_current_active: bool,
}

/// What creating an organization produced.
#[derive(Debug, Clone)]
pub struct CreatedOrganization {
    pub organization: Organization,
    pub owner: Member,
}

/// An update of an organization's profile (unset fields stay).
#[derive(Debug, Clone, Default)]
pub struct UpdateOrganization {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// `Some(None)`: clear.
    pub logo: Option<Option<String>>,
    pub metadata: Option<Map<String, Value>>,
}

/// What set-active answers: the organization (or `None`), and the session to re-send as a
/// cookie when it changed.
#[derive(Debug, Clone)]
pub struct Activated<T> {
    pub value: Option<T>,
    pub session: Option<Session>,
}

/// An organization with its members, invitations and teams (get-full-organization).
#[derive(Debug, Clone)]
pub struct FullOrganization {
    pub organization: Organization,
    pub members: Vec<MemberWithUser>,
    pub invitations: Vec<crate::entities::Invitation>,
    pub teams: Vec<TeamWithCount>,
}

/// Which organization a request names: an explicit id, a slug, or the session's active one.
#[derive(Debug, Clone, Default)]
pub struct OrgRef {
    pub id: Option<String>,
    pub slug: Option<String>,
}

/// The organization plugin's operations. Built per request from [`AuthService`] (cheap: pools
/// and `Arc`s).
#[derive(Clone)]
pub struct OrganizationService {
    db: Db,
    clock: Arc<dyn Clock>,
    config: Arc<IamConfig>,
    mailer: Arc<dyn Mailer>,
    users: UserRepo,
    orgs: OrganizationRepo,
    sessions: SessionRepo,
    members: MemberRepo,
    teams: TeamRepo,
    team_members: TeamMemberRepo,
    invitations: InvitationRepo,
}

impl std::fmt::Debug for OrganizationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrganizationService")
            .finish_non_exhaustive()
    }
}

pub(crate) fn bad(code: ErrorCode) -> IamError {
    IamError::bad_request(code)
}

pub(crate) fn forbidden(code: ErrorCode) -> IamError {
    IamError::forbidden(code)
}

/// Parses an id given by a client; a malformed one names no row.
pub(crate) fn parse_id<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.parse().ok()
}

impl OrganizationService {
    pub fn new(auth: &AuthService) -> Self {
        let db = auth.db().clone();
        let clock = auth.clock().clone();
        let repos = auth.repos();
        Self {
            config: auth.config().clone(),
            mailer: auth.mailer().clone(),
            users: repos.users.clone(),
            orgs: repos.orgs.clone(),
            sessions: repos.sessions.clone(),
            members: repos.members.clone(),
            teams: TeamRepo::new(db.clone(), clock.clone()),
            team_members: TeamMemberRepo::new(db.clone(), clock.clone()),
            invitations: InvitationRepo::new(db.clone(), clock.clone()),
            db,
            clock,
        }
    }

    fn settings(&self) -> &OrganizationConfig {
        &self.config.organization
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The caller's *active* membership of `org`.
    async fn membership(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &shared_server::entities::UserId,
    ) -> Result<Option<Member>, IamError> {
        Ok(self
            .members
            .find(on, org, user)
            .await?
            .filter(|m| m.status == MemberStatus::Active))
    }

    /// The organization named by an explicit id, else the session's active one (an empty id
    /// counts as none, as JavaScript's `||` does in better-auth).
    fn org_id_or_active(
        &self,
        caller: &Caller,
        id: Option<&str>,
    ) -> Option<Option<OrganizationId>> {
        match id.filter(|id| !id.is_empty()) {
            Some(id) => Some(parse_id(id)),
            None => caller.session.active_organization_id.clone().map(Some),
        }
    }

    /// Resolves `slug` (→ 400 `ORGANIZATION_NOT_FOUND` when unknown), else the id, else the
    /// active organization. `Ok(None)`: nothing named and nothing active. `Some(None)`: an id
    /// that cannot name a row.
    async fn resolve(
        &self,
        caller: &Caller,
        org: &OrgRef,
    ) -> Result<Option<Option<OrganizationId>>, IamError> {
        if let Some(slug) = org.slug.as_deref().filter(|s| !s.is_empty()) {
            return match self.orgs.find_by_slug(&self.db, slug).await? {
                Some(found) => Ok(Some(Some(found.id))),
                None => Err(bad(ErrorCode::OrganizationNotFound)),
            };
        }
        Ok(self.org_id_or_active(caller, org.id.as_deref()))
    }

    /// Locks the organization ([`Self::lock_organization`]) and returns the caller's active
    /// membership in it, read under that lock: 400 `MEMBER_NOT_FOUND` when there is none.
    async fn lock_as_member(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        caller: &Caller,
    ) -> Result<Member, IamError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        self.lock_organization(&mut *conn, org).await?;
        self.membership(&mut *conn, org, &caller.user.id)
            .await?
            .ok_or_else(|| bad(ErrorCode::MemberNotFound))
    }

    /// Serializes the transaction's organization-wide checks (last owner, membership,
    /// invitation and team limits) against concurrent writers of the same organization: a row
    /// lock on the organization (PostgreSQL), or the database write lock taken up front
    /// (SQLite, so no reader has to upgrade later). Call first in the transaction.
    async fn lock_organization(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
    ) -> Result<(), IamError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = match conn.backend() {
            Backend::Postgres => Sql::new("SELECT id FROM shared_organization WHERE id = "),
            Backend::Sqlite => Sql::new("UPDATE shared_organization SET id = id WHERE id = "),
        };
        sql.push_bind(org);
        if conn.backend() == Backend::Postgres {
            sql.push(" FOR UPDATE");
        }
        sql.execute(conn).await?;
        Ok(())
    }

    /// Clears the caller's active organization and team (better-auth does this when a caller
    /// names an organization they do not belong to).
    async fn clear_active(&self, caller: &Caller) -> Result<Option<Session>, IamError> {
        match self
            .sessions
            .set_active_organization(&self.db, &caller.session.id, None, None)
            .await
        {
            Ok(session) => Ok(Some(session)),
            Err(RepoError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Queues a message in the caller's transaction; a message the mailer refuses as invalid
    /// is logged and skipped (the invitation stands; it can be re-sent).
    async fn queue(&self, on: impl Into<Exec<'_>>, email: OutgoingEmail) -> Result<(), IamError> {
        match self.mailer.send(on.into(), email).await {
            Ok(_) => Ok(()),
            Err(MailError::Storage(error)) => Err(error.into()),
            Err(error) => {
                tracing::warn!(%error, "an organization email was not queued");
                Ok(())
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Organizations
    // -----------------------------------------------------------------------------------------

    /// Creates an organization with the caller as owner, its default team (the caller in it),
    /// and — unless `keep_current_active` — makes both active on the caller's session.
    pub async fn create_organization(
        &self,
        caller: &Caller,
        input: CreateOrganization,
    ) -> Result<CreatedOrganization, IamError> {
        let settings = self.settings();
        if !settings.allow_user_to_create_organization {
            return Err(forbidden(
                ErrorCode::YouAreNotAllowedToCreateANewOrganization,
            ));
        }
        let created = self
            .orgs
            .count(
                &self.db,
                OrganizationFilter {
                    owner_user_id: Some(caller.user.id.clone()),
                    is_personal: Some(false),
                },
            )
            .await?;
        if created >= u64::from(settings.organization_limit) {
            return Err(forbidden(
                ErrorCode::YouHaveReachedTheMaximumNumberOfOrganizations,
            ));
        }
        if self.orgs.slug_exists(&self.db, &input.slug).await? {
            return Err(bad(ErrorCode::OrganizationAlreadyExists));
        }
        let metadata = input.metadata.map(|m| Value::Object(m).to_string());
        let now = self.now();
        let actor = caller.actor().to_string();
        let new = NewOrganization {
            org_type: OrganizationType::Team,
            logo: input.logo,
            metadata,
            source: Some(USER_CREATED_SOURCE.to_string()),
            ..NewOrganization::new(input.name, input.slug, caller.user.id.clone())
        };
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        let organization = match self.orgs.insert(&mut *conn, new, &actor).await {
            Ok(org) => org,
            Err(RepoError::Conflict { .. }) => {
                return Err(bad(ErrorCode::OrganizationAlreadyExists))
            }
            Err(other) => return Err(other.into()),
        };
        let owner = self
            .members
            .insert(
                &mut *conn,
                &organization.id,
                NewMember {
                    source: Some(USER_CREATED_SOURCE.to_string()),
                    ..NewMember::active(caller.user.id.clone(), MemberRole::Owner, now)
                },
                &actor,
            )
            .await?;
        let team = self
            .teams
            .insert(
                &mut *conn,
                &organization.id,
                NewTeam {
                    source: Some(USER_CREATED_SOURCE.to_string()),
                    ..NewTeam::new(organization.name.clone(), slug_base(&organization.name))
                },
                &actor,
            )
            .await?;
        self.team_members
            .insert(
                &mut *conn,
                &organization.id,
                NewTeamMember {
                    team_id: team.id.clone(),
                    user_id: caller.user.id.clone(),
                    source: Some(USER_CREATED_SOURCE.to_string()),
                },
                &actor,
            )
            .await?;
        if !input.keep_current_active {
            match self
                .sessions
                .set_active_organization(
                    &mut *conn,
                    &caller.session.id,
                    Some(&organization.id),
                    Some(&team.id),
                )
                .await
            {
                Ok(_) | Err(RepoError::NotFound { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        tx.commit().await?;
        tracing::info!(org.id = %organization.id, user.id = %caller.user.id, "organization created");
        Ok(CreatedOrganization {
            organization,
            owner,
        })
    }

    /// Whether the slug is free.
    pub async fn slug_is_free(&self, slug: &str) -> Result<bool, IamError> {
        Ok(!self.orgs.slug_exists(&self.db, slug).await?)
    }

    /// Updates the organization's profile (needs `organization:update`).
    pub async fn update_organization(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        update: UpdateOrganization,
    ) -> Result<Organization, IamError> {
        let Some(org) = self.org_id_or_active(caller, org_id) else {
            return Err(bad(ErrorCode::OrganizationNotFound));
        };
        let member = match &org {
            Some(org) => self.membership(&self.db, org, &caller.user.id).await?,
            None => None,
        };
        let (Some(org), Some(member)) = (org, member) else {
            return Err(bad(ErrorCode::UserIsNotAMemberOfTheOrganization));
        };
        if !access::can(&member.role, "organization", &["update"]) {
            return Err(forbidden(
                ErrorCode::YouAreNotAllowedToUpdateThisOrganization,
            ));
        }
        if let Some(slug) = &update.slug {
            if let Some(other) = self.orgs.find_by_slug(&self.db, slug).await? {
                if other.id != org {
                    return Err(bad(ErrorCode::OrganizationSlugAlreadyTaken));
                }
            }
        }
        let patch = OrganizationPatch {
            name: update.name,
            slug: update.slug,
            logo: update.logo,
            metadata: update.metadata.map(|m| Some(Value::Object(m).to_string())),
            ..OrganizationPatch::default()
        };
        for _ in 0..3 {
            let current = self
                .orgs
                .find_by_id(&self.db, &org)
                .await?
                .ok_or_else(|| bad(ErrorCode::OrganizationNotFound))?;
            match self
                .orgs
                .update(
                    &self.db,
                    &org,
                    current.audit.version,
                    patch.clone(),
                    caller.actor(),
                )
                .await
            {
                Ok(updated) => return Ok(updated),
                Err(RepoError::VersionConflict { .. }) => continue,
                Err(RepoError::Conflict { .. }) => {
                    return Err(bad(ErrorCode::OrganizationSlugAlreadyTaken))
                }
                Err(RepoError::NotFound { .. }) => {
                    return Err(bad(ErrorCode::OrganizationNotFound))
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(IamError::Status(StatusCode::CONFLICT))
    }

    /// Deletes the organization (needs `organization:delete`); its members, invitations, teams
    /// and team memberships go with it (foreign keys cascade), and sessions that had it active
    /// lose it (ON DELETE SET NULL). Returns the organization as it was.
    pub async fn delete_organization(
        &self,
        caller: &Caller,
        org_id: &str,
    ) -> Result<Organization, IamError> {
        let org: Option<OrganizationId> = parse_id(org_id);
        let member = match &org {
            Some(org) => self.membership(&self.db, org, &caller.user.id).await?,
            None => None,
        };
        let (Some(org), Some(member)) = (org, member) else {
            return Err(bad(ErrorCode::UserIsNotAMemberOfTheOrganization));
        };
        if !access::can(&member.role, "organization", &["delete"]) {
            return Err(forbidden(
                ErrorCode::YouAreNotAllowedToDeleteThisOrganization,
            ));
        }
        let organization = self
            .orgs
            .find_by_id(&self.db, &org)
            .await?
            .ok_or(IamError::Status(StatusCode::BAD_REQUEST))?;
        match self.orgs.hard_delete(&self.db, &org).await {
            Ok(()) => {}
            Err(RepoError::NotFound { .. }) => {
                return Err(IamError::Status(StatusCode::BAD_REQUEST))
            }
            Err(other) => return Err(other.into()),
        }
        tracing::info!(org.id = %org, user.id = %caller.user.id, "organization deleted");
        Ok(organization)
    }

    /// set-active: `Some(None)` unsets; neither id nor slug re-activates the current one.
    pub async fn set_active_organization(
        &self,
        caller: &Caller,
        id: Option<Option<String>>,
        slug: Option<String>,
    ) -> Result<Activated<Organization>, IamError> {
        let active = caller.session.active_organization_id.clone();
        let org: Option<OrganizationId> = match (id, slug) {
            (Some(None), _) => {
                if active.is_none() {
                    return Ok(Activated {
                        value: None,
                        session: None,
                    });
                }
                let session = self.clear_active(caller).await?;
                return Ok(Activated {
                    value: None,
                    session,
                });
            }
            (Some(Some(id)), _) => parse_id(&id),
            (None, Some(slug)) => match self.orgs.find_by_slug(&self.db, &slug).await? {
                Some(found) => Some(found.id),
                None => return Err(bad(ErrorCode::OrganizationNotFound)),
            },
            (None, None) => match active.clone() {
                Some(active) => Some(active),
                None => {
                    return Ok(Activated {
                        value: None,
                        session: None,
                    })
                }
            },
        };
        let member = match &org {
            Some(org) => self.membership(&self.db, org, &caller.user.id).await?,
            None => None,
        };
        let (Some(org), Some(_)) = (org, member) else {
            self.clear_active(caller).await?;
            return Err(forbidden(ErrorCode::UserIsNotAMemberOfTheOrganization));
        };
        let organization = self
            .orgs
            .find_by_id(&self.db, &org)
            .await?
            .ok_or_else(|| bad(ErrorCode::OrganizationNotFound))?;
        // Switching organizations leaves the previous organization's team behind.
        let team = if active.as_ref() == Some(&org) {
            caller.session.active_team_id.clone()
        } else {
            None
        };
        let session = self
            .sessions
            .set_active_organization(&self.db, &caller.session.id, Some(&org), team.as_ref())
            .await
            .map_err(|e| match e {
                RepoError::NotFound { .. } => IamError::unauthorized(ErrorCode::Unauthorized),
                other => other.into(),
            })?;
        Ok(Activated {
            value: Some(organization),
            session: Some(session),
        })
    }

    /// The organization a member asks for (`None` when nothing is named and none is active).
    /// A caller who is not a member gets 403 and loses the active organization.
    async fn organization_for_member(
        &self,
        caller: &Caller,
        org: &OrgRef,
    ) -> Result<Option<Organization>, IamError> {
        let id = match org.slug.as_deref().filter(|s| !s.is_empty()) {
            Some(slug) => match self.orgs.find_by_slug(&self.db, slug).await? {
                Some(found) => found.id,
                None => return Err(bad(ErrorCode::OrganizationNotFound)),
            },
            None => match self.org_id_or_active(caller, org.id.as_deref()) {
                None => return Ok(None),
                Some(None) => return Err(bad(ErrorCode::OrganizationNotFound)),
                Some(Some(id)) => id,
            },
        };
        let organization = self
            .orgs
            .find_by_id(&self.db, &id)
            .await?
            .ok_or_else(|| bad(ErrorCode::OrganizationNotFound))?;
        if self
            .membership(&self.db, &id, &caller.user.id)
            .await?
            .is_none()
        {
            self.clear_active(caller).await?;
            return Err(forbidden(ErrorCode::UserIsNotAMemberOfTheOrganization));
        }
        Ok(Some(organization))
    }

    /// get-organization.
    pub async fn get_organization(
        &self,
        caller: &Caller,
        org: &OrgRef,
    ) -> Result<Option<Organization>, IamError> {
        self.organization_for_member(caller, org).await
    }

    /// get-full-organization: members (up to `members_limit`, default the membership limit)
    /// with their users, invitations (only for members who may invite; owner-role invitations
    /// only for owners), and teams with their member counts.
    pub async fn get_full_organization(
        &self,
        caller: &Caller,
        org: &OrgRef,
        members_limit: Option<u64>,
    ) -> Result<Option<FullOrganization>, IamError> {
        let Some(organization) = self.organization_for_member(caller, org).await? else {
            return Ok(None);
        };
        let mut pooled = self.db.acquire().await?;
        let conn = &mut pooled.conn();
        let me = self
            .membership(&mut *conn, &organization.id, &caller.user.id)
            .await?
            .ok_or_else(|| forbidden(ErrorCode::UserIsNotAMemberOfTheOrganization))?;
        let query = crate::repos::MemberQuery {
            limit: members_limit.unwrap_or(u64::from(self.settings().membership_limit)),
            ..Default::default()
        };
        let (members, _) = self
            .members
            .list_with_users(&mut *conn, &organization.id, &query)
            .await?;
        let invitations = if access::can(&me.role, "invitation", &["create"]) {
            let owner = me.role.contains(MemberRole::Owner);
            self.invitations
                .list(&mut *conn, &organization.id, None)
                .await?
                .into_iter()
                .filter(|i| owner || !i.role.contains(MemberRole::Owner))
                .collect()
        } else {
            Vec::new()
        };
        let teams = self.teams_with_counts(&mut *conn, &organization.id).await?;
        Ok(Some(FullOrganization {
            organization,
            members,
            invitations,
            teams,
        }))
    }

    /// The organizations where the caller is an active member.
    pub async fn list_organizations(&self, caller: &Caller) -> Result<Vec<Organization>, IamError> {
        Ok(self
            .members
            .list_active_for_user_personal_first(&self.db, &caller.user.id)
            .await?)
    }

    /// has-permission: whether the caller's roles in the organization grant `permissions`
    /// (`None`: only the legacy key was sent, which never passes).
    pub async fn has_permission(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        permissions: Option<&Permissions>,
    ) -> Result<bool, IamError> {
        let Some(org) = self.org_id_or_active(caller, org_id) else {
            return Err(bad(ErrorCode::NoActiveOrganization));
        };
        let member = match &org {
            Some(org) => self.membership(&self.db, org, &caller.user.id).await?,
            None => None,
        };
        let Some(member) = member else {
            return Err(IamError::unauthorized(
                ErrorCode::UserIsNotAMemberOfTheOrganization,
            ));
        };
        Ok(permissions.is_some_and(|p| access::roles_allow(&member.role, p)))
    }

    /// The membership limit of `org` (its `max_members`, else the configured one).
    async fn membership_limit(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
    ) -> Result<u64, IamError> {
        let organization = self
            .orgs
            .find_by_id(on, org)
            .await?
            .ok_or_else(|| bad(ErrorCode::OrganizationNotFound))?;
        Ok(match organization.max_members {
            Some(n) => u64::try_from(n).unwrap_or(0),
            None => u64::from(self.settings().membership_limit),
        })
    }

    /// The team must belong to `org`.
    async fn team(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        team: &str,
    ) -> Result<Option<shared_server::entities::Team>, IamError> {
        let Some(id) = parse_id::<TeamId>(team) else {
            return Ok(None);
        };
        Ok(self.teams.find_by_id(on, org, &id).await?)
    }
}

//! Invitation operations of the organization plugin (better-auth-api.md §7.6): invite (with the
//! invitation email), list, the invitee's view, accept, reject and cancel. An invitation is
//! usable while pending and unexpired; the invitee is whoever signs in with its email address.

use shared_server::entities::{Organization, OrganizationId, TeamId};
use shared_server::mail::OutgoingEmail;
use shared_server::RepoError;

use super::members::role_not_found;
use super::{bad, forbidden, parse_id, Caller, OrganizationService, USER_CREATED_SOURCE};
use crate::entities::{
    Invitation, InvitationId, InvitationPatch, InvitationStatus, Member, MemberRole, MemberRoles,
    NewInvitation, NewMember, NewTeamMember,
};
use crate::error::{ErrorCode, IamError};
use crate::http::is_valid_email;
use crate::repos::InvitationWithOrganization;
use crate::services::access;
use crate::services::emails::encode_uri_component;

/// 400 `INVITATION_NOT_FOUND` with better-auth's "Invitation not found!" message.
fn not_found_bang() -> IamError {
    IamError::api_with(
        axum::http::StatusCode::BAD_REQUEST,
        ErrorCode::InvitationNotFound,
        "Invitation not found!",
    )
}

/// invite-member's input, validated by the handler.
#[derive(Debug, Clone)]
pub struct InviteInput {
    pub email: String,
    pub roles: Vec<String>,
    pub org_id: Option<String>,
    pub resend: bool,
    pub team_ids: Vec<String>,
}

/// An invitation as its invitee sees it (get-invitation).
#[derive(Debug, Clone)]
pub struct InvitationDetails {
    pub invitation: Invitation,
    pub organization: Organization,
    pub inviter_email: String,
}

/// What accepting produced; `session` is re-sent as a cookie.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub invitation: Invitation,
    pub member: Member,
    pub session: Option<shared_server::entities::Session>,
}

impl OrganizationService {
    /// The link in the invitation email: `<IAM_INVITATION_URL or <public URL>/accept-invitation>/<id>`.
    fn invitation_link(&self, id: &InvitationId) -> String {
        let base = self
            .settings()
            .invitation_url
            .clone()
            .unwrap_or_else(|| format!("{}/accept-invitation", self.config.public_url()));
        format!("{base}/{}", encode_uri_component(id.as_str()))
    }

    fn invitation_email(
        &self,
        caller: &Caller,
        organization: &Organization,
        invitation: &Invitation,
    ) -> Option<OutgoingEmail> {
        let built = OutgoingEmail::builder()
            .template(
                "organization-invitation",
                serde_json::json!({
                    "inviteeEmail": invitation.email,
                    "inviterName": caller.user.name,
                    "inviterEmail": caller.user.email,
                    "organizationName": organization.name,
                    "role": invitation.role.as_string(),
                    "url": self.invitation_link(&invitation.id),
                }),
            )
            .to(invitation.email.as_str())
            .organization(organization.id.clone())
            .user(caller.user.id.clone())
            .build();
        match built {
            Ok(email) => Some(email),
            Err(error) => {
                tracing::warn!(%error, "an invitation email could not be built");
                None
            }
        }
    }

    /// invite-member: a new pending invitation (or, with `resend`, the pending one with a new
    /// expiry), emailed to the invitee.
    pub async fn invite(
        &self,
        caller: &Caller,
        input: InviteInput,
    ) -> Result<Invitation, IamError> {
        let Some(org) = self.org_id_or_active(caller, input.org_id.as_deref()) else {
            return Err(bad(ErrorCode::OrganizationNotFound));
        };
        let email = input.email.to_lowercase();
        if !is_valid_email(&email) {
            return Err(bad(ErrorCode::InvalidEmail));
        }
        let Some(org) = org else {
            return Err(bad(ErrorCode::MemberNotFound));
        };
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        let me = self.lock_as_member(&mut *conn, &org, caller).await?;
        if !access::can(&me.role, "invitation", &["create"]) {
            return Err(forbidden(
                ErrorCode::YouAreNotAllowedToInviteUsersToThisOrganization,
            ));
        }
        let roles = MemberRoles::parse_list(input.roles.iter().map(String::as_str))
            .map_err(|unknown| role_not_found(&unknown, unknown.is_empty()))?;
        if roles.contains(MemberRole::Owner) && !me.role.contains(MemberRole::Owner) {
            return Err(forbidden(
                ErrorCode::YouAreNotAllowedToInviteUserWithThisRole,
            ));
        }
        if self
            .members
            .find_by_email(&mut *conn, &org, &email)
            .await?
            .is_some()
        {
            return Err(bad(ErrorCode::UserIsAlreadyAMemberOfThisOrganization));
        }
        let now = self.now();
        let expires_at = now.plus(self.settings().invitation_expires_in);
        let organization = self
            .orgs
            .find_by_id(&mut *conn, &org)
            .await?
            .ok_or_else(|| bad(ErrorCode::OrganizationNotFound))?;
        // The partial unique index allows one pending row, expired or not.
        let pending = self
            .invitations
            .find_pending_any_expiry(&mut *conn, &org, &email)
            .await?;
        let pending_usable = pending.as_ref().is_some_and(|p| p.is_usable(now));
        if pending_usable
            && !input.resend
            && !self.settings().cancel_pending_invitations_on_reinvite
        {
            return Err(bad(ErrorCode::UserIsAlreadyInvitedToThisOrganization));
        }
        if let (Some(existing), true) = (&pending, pending_usable && input.resend) {
            let refreshed = self
                .invitations
                .update(
                    &mut *conn,
                    &org,
                    &existing.id,
                    existing.audit.version,
                    InvitationPatch {
                        expires_at: Some(expires_at),
                        ..InvitationPatch::default()
                    },
                    caller.actor(),
                )
                .await?;
            if let Some(message) = self.invitation_email(caller, &organization, &refreshed) {
                self.queue(&mut *conn, message).await?;
            }
            tx.commit().await?;
            tracing::info!(org.id = %org, invitation.id = %refreshed.id, "invitation re-sent");
            return Ok(refreshed);
        }
        if let Some(existing) = &pending {
            // Re-inviting (or an expired leftover): the old one is cancelled.
            self.invitations
                .set_status(
                    &mut *conn,
                    &org,
                    &existing.id,
                    InvitationStatus::Cancelled,
                    existing.audit.version,
                    caller.actor(),
                )
                .await?;
        }
        let pending_count = self
            .invitations
            .count_pending(&mut *conn, &org, now)
            .await?;
        if pending_count >= u64::from(self.settings().invitation_limit) {
            return Err(forbidden(ErrorCode::InvitationLimitReached));
        }
        let team = self
            .invitation_team(&mut *conn, &org, &input.team_ids)
            .await?;
        let invitation = self
            .invitations
            .insert(
                &mut *conn,
                &org,
                NewInvitation {
                    email,
                    role: roles,
                    team_id: team,
                    expires_at,
                    inviter_id: caller.user.id.clone(),
                    source: Some(USER_CREATED_SOURCE.to_string()),
                },
                caller.actor(),
            )
            .await
            .map_err(|e| match e {
                RepoError::Conflict { .. } => {
                    bad(ErrorCode::UserIsAlreadyInvitedToThisOrganization)
                }
                other => other.into(),
            })?;
        if let Some(message) = self.invitation_email(caller, &organization, &invitation) {
            self.queue(&mut *conn, message).await?;
        }
        tx.commit().await?;
        tracing::info!(org.id = %org, invitation.id = %invitation.id, "invitation sent");
        Ok(invitation)
    }

    /// The invitation's team: at most one (the table holds one team per invitation); ids with
    /// `,` → `INVALID_TEAM_ID`, unknown or another organization's → `TEAM_NOT_FOUND`, a full
    /// team → `TEAM_MEMBER_LIMIT_REACHED`.
    async fn invitation_team(
        &self,
        on: impl Into<shared_server::db::Exec<'_>>,
        org: &OrganizationId,
        team_ids: &[String],
    ) -> Result<Option<TeamId>, IamError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        if team_ids.iter().any(|t| t.contains(',')) {
            return Err(bad(ErrorCode::InvalidTeamId));
        }
        let mut ids: Vec<&String> = Vec::new();
        for id in team_ids {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() > 1 {
            return Err(IamError::api_with(
                axum::http::StatusCode::BAD_REQUEST,
                ErrorCode::InvalidTeamId,
                "An invitation can name one team",
            ));
        }
        let Some(id) = ids.first() else {
            return Ok(None);
        };
        let team = self
            .team(&mut *conn, org, id)
            .await?
            .ok_or_else(|| bad(ErrorCode::TeamNotFound))?;
        if let Some(limit) = self.settings().team_member_limit {
            if self
                .team_members
                .count_by_team(&mut *conn, org, &team.id)
                .await?
                >= u64::from(limit)
            {
                return Err(forbidden(ErrorCode::TeamMemberLimitReached));
            }
        }
        Ok(Some(team.id))
    }

    /// list-invitations: every invitation of the organization (members who may invite; owner
    /// invitations only for owners).
    pub async fn list_invitations(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
    ) -> Result<Vec<Invitation>, IamError> {
        let Some(org) = self.org_id_or_active(caller, org_id) else {
            return Err(IamError::message_only(
                axum::http::StatusCode::BAD_REQUEST,
                "Organization ID is required",
            ));
        };
        let not_member = || {
            IamError::message_only(
                axum::http::StatusCode::FORBIDDEN,
                "You are not a member of this organization",
            )
        };
        let org = org.ok_or_else(not_member)?;
        let me = self
            .membership(&self.db, &org, &caller.user.id)
            .await?
            .ok_or_else(not_member)?;
        if !access::can(&me.role, "invitation", &["create"]) {
            return Err(forbidden(ErrorCode::YouAreNotAllowedToListInvitations));
        }
        let owner = me.role.contains(MemberRole::Owner);
        Ok(self
            .invitations
            .list(&self.db, &org, None)
            .await?
            .into_iter()
            .filter(|i| owner || !i.role.contains(MemberRole::Owner))
            .collect())
    }

    /// list-user-invitations: pending invitations to the caller's (verified) email.
    pub async fn list_user_invitations(
        &self,
        caller: &Caller,
    ) -> Result<Vec<InvitationWithOrganization>, IamError> {
        if !caller.user.email_verified {
            return Err(forbidden(ErrorCode::EmailVerificationRequiredForInvitation));
        }
        Ok(self
            .invitations
            .list_pending_for_email(&caller.user.email, self.now())
            .await?)
    }

    /// The invitation the caller holds the id of, if it is addressed to them. `missing` is the
    /// answer for an unknown or unusable invitation; `verify` the code when the caller's email
    /// must be verified first.
    async fn invitation_for_invitee(
        &self,
        caller: &Caller,
        id: &str,
        usable_only: bool,
        missing: impl Fn() -> IamError,
        verify: ErrorCode,
    ) -> Result<Invitation, IamError> {
        let id: InvitationId = parse_id(id).ok_or_else(&missing)?;
        let invitation = self
            .invitations
            .find_for_invitee(&self.db, &id)
            .await?
            .ok_or_else(&missing)?;
        let now = self.now();
        let unusable = if usable_only {
            !invitation.is_usable(now)
        } else {
            invitation.status != InvitationStatus::Pending
        };
        if unusable {
            return Err(missing());
        }
        if !invitation.email.eq_ignore_ascii_case(&caller.user.email) {
            return Err(forbidden(ErrorCode::YouAreNotTheRecipientOfTheInvitation));
        }
        if self.settings().require_email_verification_on_invitation && !caller.user.email_verified {
            return Err(forbidden(verify));
        }
        Ok(invitation)
    }

    /// get-invitation: the invitation with its organization and inviter.
    pub async fn get_invitation(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<InvitationDetails, IamError> {
        let invitation = self
            .invitation_for_invitee(
                caller,
                id,
                true,
                not_found_bang,
                ErrorCode::EmailVerificationRequiredForInvitation,
            )
            .await?;
        let organization = self
            .orgs
            .find_by_id(&self.db, &invitation.organization_id)
            .await?
            .ok_or_else(|| bad(ErrorCode::OrganizationNotFound))?;
        let inviter = self
            .membership(
                &self.db,
                &invitation.organization_id,
                &invitation.inviter_id,
            )
            .await?;
        let inviter_user = match inviter {
            Some(_) => {
                self.users
                    .find_by_id(&self.db, &invitation.inviter_id)
                    .await?
            }
            None => None,
        };
        let inviter_user = inviter_user
            .ok_or_else(|| bad(ErrorCode::InviterIsNoLongerAMemberOfTheOrganization))?;
        Ok(InvitationDetails {
            invitation,
            organization,
            inviter_email: inviter_user.email,
        })
    }

    /// accept-invitation: the caller joins with the invitation's role (and team); the
    /// organization (and a single team) become active on the session.
    pub async fn accept_invitation(&self, caller: &Caller, id: &str) -> Result<Accepted, IamError> {
        let invitation = self
            .invitation_for_invitee(
                caller,
                id,
                true,
                || bad(ErrorCode::InvitationNotFound),
                ErrorCode::EmailVerificationRequiredBeforeAcceptingOrRejectingInvitation,
            )
            .await?;
        let org = invitation.organization_id.clone();
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        self.lock_organization(&mut *conn, &org).await?;
        let members = self.members.count_active(&mut *conn, &org).await?;
        if members >= self.membership_limit(&mut *conn, &org).await? {
            return Err(forbidden(ErrorCode::OrganizationMembershipLimitReached));
        }
        if self
            .members
            .find(&mut *conn, &org, &caller.user.id)
            .await?
            .is_some()
        {
            return Err(bad(ErrorCode::UserIsAlreadyAMemberOfThisOrganization));
        }
        let accepted = self
            .invitations
            .set_status(
                &mut *conn,
                &org,
                &invitation.id,
                InvitationStatus::Accepted,
                invitation.audit.version,
                caller.actor(),
            )
            .await
            .map_err(|e| match e {
                RepoError::NotFound { .. } | RepoError::VersionConflict { .. } => {
                    bad(ErrorCode::InvitationNotFound)
                }
                other => other.into(),
            })?;
        let mut team = None;
        if let Some(team_id) = &accepted.team_id {
            let found = self
                .teams
                .find_by_id(&mut *conn, &org, team_id)
                .await?
                .ok_or_else(|| bad(ErrorCode::TeamNotFound))?;
            if let Some(limit) = self.settings().team_member_limit {
                if self
                    .team_members
                    .count_by_team(&mut *conn, &org, &found.id)
                    .await?
                    >= u64::from(limit)
                {
                    return Err(forbidden(ErrorCode::TeamMemberLimitReached));
                }
            }
            if self
                .team_members
                .find(&mut *conn, &org, &found.id, &caller.user.id)
                .await?
                .is_none()
            {
                self.team_members
                    .insert(
                        &mut *conn,
                        &org,
                        NewTeamMember {
                            team_id: found.id.clone(),
                            user_id: caller.user.id.clone(),
                            source: Some(USER_CREATED_SOURCE.to_string()),
                        },
                        caller.actor(),
                    )
                    .await?;
            }
            team = Some(found.id);
        }
        let member = self
            .members
            .insert(
                &mut *conn,
                &org,
                NewMember {
                    invited_by: Some(invitation.inviter_id.clone()),
                    invited_at: Some(invitation.audit.created_at),
                    source: Some(USER_CREATED_SOURCE.to_string()),
                    ..NewMember::active(caller.user.id.clone(), invitation.role.clone(), now)
                },
                caller.actor(),
            )
            .await?;
        let session = match self
            .sessions
            .set_active_organization(&mut *conn, &caller.session.id, Some(&org), team.as_ref())
            .await
        {
            Ok(session) => Some(session),
            Err(RepoError::NotFound { .. }) => None,
            Err(other) => return Err(other.into()),
        };
        tx.commit().await?;
        tracing::info!(org.id = %org, invitation.id = %accepted.id, user.id = %caller.user.id, "invitation accepted");
        Ok(Accepted {
            invitation: accepted,
            member,
            // better-auth re-sends the cookie when a (single) team became active.
            session: session.filter(|_| team.is_some()),
        })
    }

    /// reject-invitation: the invitation, now rejected.
    pub async fn reject_invitation(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Invitation, IamError> {
        let invitation = self
            .invitation_for_invitee(
                caller,
                id,
                false,
                not_found_bang,
                ErrorCode::EmailVerificationRequiredBeforeAcceptingOrRejectingInvitation,
            )
            .await?;
        let rejected = self
            .invitations
            .set_status(
                &self.db,
                &invitation.organization_id,
                &invitation.id,
                InvitationStatus::Rejected,
                invitation.audit.version,
                caller.actor(),
            )
            .await
            .map_err(|e| match e {
                RepoError::NotFound { .. } | RepoError::VersionConflict { .. } => not_found_bang(),
                other => other.into(),
            })?;
        tracing::info!(invitation.id = %rejected.id, "invitation rejected");
        Ok(rejected)
    }

    /// cancel-invitation: the invitation, now cancelled (needs `invitation:cancel` in its
    /// organization).
    pub async fn cancel_invitation(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Invitation, IamError> {
        let id: InvitationId = parse_id(id).ok_or_else(|| bad(ErrorCode::InvitationNotFound))?;
        let invitation = self
            .invitations
            .find_for_invitee(&self.db, &id)
            .await?
            .ok_or_else(|| bad(ErrorCode::InvitationNotFound))?;
        let org = invitation.organization_id.clone();
        let me = self
            .membership(&self.db, &org, &caller.user.id)
            .await?
            .ok_or_else(|| bad(ErrorCode::MemberNotFound))?;
        if !access::can(&me.role, "invitation", &["cancel"]) {
            return Err(forbidden(ErrorCode::YouAreNotAllowedToCancelThisInvitation));
        }
        let cancelled = self
            .invitations
            .set_status(
                &self.db,
                &org,
                &invitation.id,
                InvitationStatus::Cancelled,
                invitation.audit.version,
                caller.actor(),
            )
            .await
            .map_err(|e| match e {
                RepoError::NotFound { .. } | RepoError::VersionConflict { .. } => {
                    bad(ErrorCode::InvitationNotFound)
                }
                other => other.into(),
            })?;
        tracing::info!(org.id = %org, invitation.id = %cancelled.id, "invitation cancelled");
        Ok(cancelled)
    }
}

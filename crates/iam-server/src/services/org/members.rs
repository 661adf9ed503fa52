//! Member operations of the organization plugin (better-auth-api.md §7.5): list members, the
//! caller's membership and role, role changes, removal and leaving — with the owner rules (only
//! owners touch owners or grant the owner role; an organization never loses its last owner).

use shared_server::entities::{OrganizationId, UserId};

use super::{bad, forbidden, parse_id, Caller, OrgRef, OrganizationService};
use crate::entities::{Member, MemberId, MemberPatch, MemberRole, MemberRoles};
use crate::error::{ErrorCode, IamError};
use crate::repos::{MemberMatch, MemberQuery, MemberSort, MemberWithUser};
use crate::services::access;

/// list-members' query, validated by the handler.
#[derive(Debug, Clone, Default)]
pub struct ListMembersInput {
    pub org: OrgRef,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub sort: MemberSort,
    pub descending: bool,
    pub filter: Option<MemberMatch>,
}

/// `ROLE_NOT_FOUND: a, b` (400) with or without the code, as each endpoint answers.
pub(crate) fn role_not_found(unknown: &[String], with_code: bool) -> IamError {
    let message = format!("ROLE_NOT_FOUND: {}", unknown.join(", "));
    if with_code {
        IamError::api_with(
            axum::http::StatusCode::BAD_REQUEST,
            ErrorCode::RoleNotFound,
            message,
        )
    } else {
        IamError::message_only(axum::http::StatusCode::BAD_REQUEST, message)
    }
}

impl OrganizationService {
    /// The organization named by `org` (or the active one) where the caller is a member;
    /// 400 `NO_ACTIVE_ORGANIZATION` when none is named, `not_member` when the caller is not one.
    pub(super) async fn member_org(
        &self,
        caller: &Caller,
        org: &OrgRef,
        not_member: IamError,
    ) -> Result<(OrganizationId, Member), IamError> {
        let Some(org) = self.resolve(caller, org).await? else {
            return Err(bad(ErrorCode::NoActiveOrganization));
        };
        let member = match &org {
            Some(org) => self.membership(&self.db, org, &caller.user.id).await?,
            None => None,
        };
        match (org, member) {
            (Some(org), Some(member)) => Ok((org, member)),
            _ => Err(not_member),
        }
    }

    /// list-members: `{members, total}`.
    pub async fn list_members(
        &self,
        caller: &Caller,
        input: ListMembersInput,
    ) -> Result<(Vec<MemberWithUser>, u64), IamError> {
        let (org, _) = self
            .member_org(
                caller,
                &input.org,
                forbidden(ErrorCode::YouAreNotAMemberOfThisOrganization),
            )
            .await?;
        let query = MemberQuery {
            sort: input.sort,
            descending: input.descending,
            filter: input.filter,
            offset: input.offset.unwrap_or(0),
            limit: input
                .limit
                .unwrap_or(u64::from(self.settings().membership_limit)),
        };
        Ok(self.members.list_with_users(&self.db, &org, &query).await?)
    }

    /// get-active-member: the caller's membership of the active organization, with the user.
    pub async fn active_member(&self, caller: &Caller) -> Result<MemberWithUser, IamError> {
        let Some(org) = caller.session.active_organization_id.clone() else {
            return Err(bad(ErrorCode::NoActiveOrganization));
        };
        let member = self
            .membership(&self.db, &org, &caller.user.id)
            .await?
            .ok_or_else(|| bad(ErrorCode::MemberNotFound))?;
        self.members
            .find_with_user(&self.db, &org, &member.id)
            .await?
            .ok_or_else(|| bad(ErrorCode::MemberNotFound))
    }

    /// get-active-member-role: the caller's roles, or `user_id`'s (a member of the same
    /// organization).
    pub async fn member_role(
        &self,
        caller: &Caller,
        org: &OrgRef,
        user_id: Option<&str>,
    ) -> Result<MemberRoles, IamError> {
        let not_member = || forbidden(ErrorCode::YouAreNotAMemberOfThisOrganization);
        let (org, me) = self.member_org(caller, org, not_member()).await?;
        let Some(user_id) = user_id else {
            return Ok(me.role);
        };
        let user: UserId = parse_id(user_id).ok_or_else(not_member)?;
        let other = self
            .membership(&self.db, &org, &user)
            .await?
            .ok_or_else(not_member)?;
        Ok(other.role)
    }

    /// update-member-role: the updated member (plain).
    pub async fn update_member_role(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        member_id: &str,
        roles: Vec<String>,
    ) -> Result<Member, IamError> {
        let requested: Vec<String> = roles
            .iter()
            .flat_map(|r| r.split(','))
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        if requested.is_empty() {
            return Err(IamError::Status(axum::http::StatusCode::BAD_REQUEST));
        }
        let Some(org) = self.org_id_or_active(caller, org_id) else {
            return Err(bad(ErrorCode::NoActiveOrganization));
        };
        let Some(org) = org else {
            return Err(bad(ErrorCode::MemberNotFound));
        };
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        let me = self.lock_as_member(&mut *conn, &org, caller).await?;
        // Members of other organizations are indistinguishable from missing ones.
        let target = match parse_id::<MemberId>(member_id) {
            Some(id) if id == me.id => Some(me.clone()),
            Some(id) => self.members.find_by_id(&mut *conn, &org, &id).await?,
            None => None,
        }
        .ok_or_else(|| bad(ErrorCode::MemberNotFound))?;
        let not_allowed = || forbidden(ErrorCode::YouAreNotAllowedToUpdateThisMember);
        let caller_is_owner = me.role.contains(MemberRole::Owner);
        let sets_owner = requested.iter().any(|r| r == MemberRole::Owner.as_str());
        if !caller_is_owner && (target.role.contains(MemberRole::Owner) || sets_owner) {
            return Err(not_allowed());
        }
        if caller_is_owner && target.id == me.id && !sets_owner {
            let owners = self.members.count_owners(&mut *conn, &org).await?;
            if owners <= 1 {
                return Err(bad(ErrorCode::YouCannotLeaveTheOrganizationWithoutAnOwner));
            }
        }
        // The creator role passes every check here (better-auth's allowCreatorAllPermissions).
        if !caller_is_owner && !access::can(&me.role, "member", &["update"]) {
            return Err(not_allowed());
        }
        let new_roles = MemberRoles::parse_list(requested.iter().map(String::as_str))
            .map_err(|unknown| role_not_found(&unknown, true))?;
        let updated = self
            .members
            .update(
                &mut *conn,
                &org,
                &target.id,
                target.audit.version,
                MemberPatch {
                    role: Some(new_roles),
                    ..MemberPatch::default()
                },
                caller.actor(),
            )
            .await
            .map_err(|e| match e {
                shared_server::RepoError::NotFound { .. }
                | shared_server::RepoError::VersionConflict { .. } => {
                    bad(ErrorCode::MemberNotFound)
                }
                other => other.into(),
            })?;
        tx.commit().await?;
        tracing::info!(org.id = %org, member.id = %updated.id, role = %updated.role, "member role changed");
        Ok(updated)
    }

    /// remove-member (by member id or email): the removed member. Their team memberships in
    /// the organization go too; the caller's active organization is cleared if they removed
    /// themself.
    pub async fn remove_member(
        &self,
        caller: &Caller,
        org_id: Option<&str>,
        member_id_or_email: &str,
    ) -> Result<Member, IamError> {
        let Some(org) = self.org_id_or_active(caller, org_id) else {
            return Err(bad(ErrorCode::NoActiveOrganization));
        };
        let Some(org) = org else {
            return Err(bad(ErrorCode::MemberNotFound));
        };
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        let me = self.lock_as_member(&mut *conn, &org, caller).await?;
        let target = if member_id_or_email.contains('@') {
            self.members
                .find_by_email(&mut *conn, &org, member_id_or_email)
                .await?
        } else {
            match parse_id::<MemberId>(member_id_or_email) {
                Some(id) => self.members.find_with_user(&mut *conn, &org, &id).await?,
                None => None,
            }
        }
        .map(|m| m.member)
        .ok_or_else(|| bad(ErrorCode::MemberNotFound))?;
        if target.role.contains(MemberRole::Owner) {
            let only_owner = bad(ErrorCode::YouCannotLeaveTheOrganizationAsTheOnlyOwner);
            if !me.role.contains(MemberRole::Owner) {
                return Err(only_owner);
            }
            if self.members.count_owners(&mut *conn, &org).await? <= 1 {
                return Err(only_owner);
            }
        }
        if !access::can(&me.role, "member", &["delete"]) {
            return Err(IamError::unauthorized(
                ErrorCode::YouAreNotAllowedToDeleteThisMember,
            ));
        }
        self.members
            .hard_delete(&mut *conn, &org, &target.id)
            .await?;
        self.team_members
            .delete_user(&mut *conn, &org, &target.user_id)
            .await?;
        if target.user_id == caller.user.id
            && caller.session.active_organization_id.as_ref() == Some(&org)
        {
            self.sessions
                .set_active_organization(&mut *conn, &caller.session.id, None, None)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(org.id = %org, member.id = %target.id, "member removed");
        Ok(target)
    }

    /// leave: the caller's removed membership (with the user). The last owner cannot leave.
    pub async fn leave(&self, caller: &Caller, org_id: &str) -> Result<MemberWithUser, IamError> {
        let org: OrganizationId = parse_id(org_id).ok_or_else(|| bad(ErrorCode::MemberNotFound))?;
        let mut tx = self.db.begin().await?;
        let conn = &mut tx.conn();
        let me = self.lock_as_member(&mut *conn, &org, caller).await?;
        if me.role.contains(MemberRole::Owner)
            && self.members.count_owners(&mut *conn, &org).await? <= 1
        {
            return Err(bad(ErrorCode::YouCannotLeaveTheOrganizationAsTheOnlyOwner));
        }
        let with_user = self
            .members
            .find_with_user(&mut *conn, &org, &me.id)
            .await?
            .ok_or_else(|| bad(ErrorCode::MemberNotFound))?;
        self.members.hard_delete(&mut *conn, &org, &me.id).await?;
        self.team_members
            .delete_user(&mut *conn, &org, &caller.user.id)
            .await?;
        if caller.session.active_organization_id.as_ref() == Some(&org) {
            self.sessions
                .set_active_organization(&mut *conn, &caller.session.id, None, None)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(org.id = %org, user.id = %caller.user.id, "member left");
        Ok(with_user)
    }
}

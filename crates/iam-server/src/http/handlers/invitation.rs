//! The organization plugin's invitation endpoints (better-auth-api.md §7.6): invite-member,
//! list-invitations, list-user-invitations, get-invitation, accept, reject and cancel.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::optional_session;
use super::organization::{caller, caller_or, string_or_list, with_cookie};
use crate::error::IamError;
use crate::http::fields::Fields;
use crate::http::org_wire;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::services::org::{Caller, InviteInput, OrganizationService};
use crate::services::AuthService;

/// `POST /organization/invite-member`.
pub(crate) async fn invite_member(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let email = f.string("email");
    let roles = string_or_list(&mut f, "role", true);
    let org_id = f.optional_string("organizationId");
    let resend = f.optional_bool("resend");
    let team_ids = string_or_list(&mut f, "teamId", false);
    f.finish()?;
    let caller = caller(service, req).await?;
    let invitation = OrganizationService::new(service)
        .invite(
            &caller,
            InviteInput {
                email: email.unwrap_or_default(),
                roles: roles.unwrap_or_default(),
                org_id,
                resend: resend.unwrap_or(false),
                team_ids: team_ids.unwrap_or_default(),
            },
        )
        .await?;
    Ok(Reply::json(org_wire::invitation(&invitation)))
}

/// `GET /organization/list-invitations`.
pub(crate) async fn list_invitations(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let org_id = f.optional_string("organizationId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let invitations = OrganizationService::new(service)
        .list_invitations(&caller, org_id.as_deref())
        .await?;
    Ok(Reply::json(Value::Array(
        invitations.iter().map(org_wire::invitation).collect(),
    )))
}

/// `GET /organization/list-user-invitations`.
pub(crate) async fn list_user_invitations(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    if req.query.contains_key("email") {
        return Err(IamError::message_only(
            StatusCode::BAD_REQUEST,
            "User email cannot be passed for client side API calls.",
        ));
    }
    let Some((session, user)) = optional_session(service, req).await? else {
        return Err(IamError::message_only(
            StatusCode::BAD_REQUEST,
            "Missing session headers, or email query parameter.",
        ));
    };
    let invitations = OrganizationService::new(service)
        .list_user_invitations(&Caller { session, user })
        .await?;
    Ok(Reply::json(Value::Array(
        invitations
            .iter()
            .map(|row| {
                let mut extra = Map::new();
                extra.insert(
                    "organizationName".into(),
                    Value::String(row.organization_name.clone()),
                );
                org_wire::invitation_with(&row.invitation, extra)
            })
            .collect(),
    )))
}

/// `GET /organization/get-invitation`.
pub(crate) async fn get_invitation(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let id = f.string("id");
    f.finish()?;
    let caller = caller_or(
        service,
        req,
        IamError::message_only(StatusCode::UNAUTHORIZED, "Not authenticated"),
    )
    .await?;
    let details = OrganizationService::new(service)
        .get_invitation(&caller, &id.unwrap_or_default())
        .await?;
    let mut extra = Map::new();
    extra.insert("organizationName".into(), json!(details.organization.name));
    extra.insert("organizationSlug".into(), json!(details.organization.slug));
    extra.insert("inviterEmail".into(), json!(details.inviter_email));
    Ok(Reply::json(org_wire::invitation_with(
        &details.invitation,
        extra,
    )))
}

fn invitation_id(req: &AuthRequest) -> Result<String, IamError> {
    let mut f = Fields::body(&req.body);
    let id = f.string("invitationId");
    f.finish()?;
    Ok(id.unwrap_or_default())
}

/// `POST /organization/accept-invitation`.
pub(crate) async fn accept_invitation(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let id = invitation_id(req)?;
    let caller = caller(service, req).await?;
    let accepted = OrganizationService::new(service)
        .accept_invitation(&caller, &id)
        .await?;
    let reply = Reply::json(json!({
        "invitation": org_wire::invitation(&accepted.invitation),
        "member": org_wire::member(&accepted.member),
    }));
    Ok(with_cookie(service, req, reply, accepted.session.as_ref()))
}

/// `POST /organization/reject-invitation`.
pub(crate) async fn reject_invitation(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let id = invitation_id(req)?;
    let caller = caller(service, req).await?;
    let rejected = OrganizationService::new(service)
        .reject_invitation(&caller, &id)
        .await?;
    Ok(Reply::json(json!({
        "invitation": org_wire::invitation(&rejected),
        "member": null,
    })))
}

/// `POST /organization/cancel-invitation`.
pub(crate) async fn cancel_invitation(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let id = invitation_id(req)?;
    let caller = caller(service, req).await?;
    let cancelled = OrganizationService::new(service)
        .cancel_invitation(&caller, &id)
        .await?;
    Ok(Reply::json(org_wire::invitation(&cancelled)))
}

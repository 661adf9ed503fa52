//! The organization plugin's team endpoints (better-auth-api.md §7.7): create, list, update and
//! remove teams, the active team, a user's teams, and team members.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::organization::{caller, caller_or, with_cookie};
use crate::error::IamError;
use crate::http::fields::Fields;
use crate::http::org_wire;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::services::org::OrganizationService;
use crate::services::AuthService;

/// Team names: 1..=255 characters after trimming.
fn check_team_name(f: &mut Fields<'_>, name: &Option<String>) {
    if let Some(name) = name {
        if name.trim().is_empty() {
            f.invalid("name", "Too small: expected string to have >=1 characters");
        } else if name.chars().count() > 255 {
            f.invalid("name", "Too big: expected string to have <=255 characters");
        }
    }
}

/// `POST /organization/create-team`.
pub(crate) async fn create_team(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let name = f.string("name");
    let org_id = f.optional_string("organizationId");
    check_team_name(&mut f, &name);
    f.finish()?;
    let caller = caller_or(service, req, IamError::Status(StatusCode::UNAUTHORIZED)).await?;
    let team = OrganizationService::new(service)
        .create_team(&caller, org_id.as_deref(), name.unwrap_or_default().trim())
        .await?;
    Ok(Reply::json(org_wire::team(&team)))
}

/// `GET /organization/list-teams`.
pub(crate) async fn list_teams(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let org_id = f.optional_string("organizationId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let teams = OrganizationService::new(service)
        .list_teams(&caller, org_id.as_deref())
        .await?;
    Ok(Reply::json(Value::Array(
        teams.iter().map(org_wire::team).collect(),
    )))
}

/// `POST /organization/update-team`.
pub(crate) async fn update_team(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let team_id = f.string("teamId");
    let data = match f.raw("data") {
        Some(Value::Object(map)) => Value::Object(map.clone()),
        Some(_) => {
            f.invalid("data", "Invalid input: expected object");
            Value::Null
        }
        None => {
            f.invalid("data", "Invalid input: expected object, received undefined");
            Value::Null
        }
    };
    let mut d = Fields::body(&data);
    let name = d.optional_string("name");
    let org_id = d.optional_string("organizationId");
    check_team_name(&mut d, &name);
    f.finish()?;
    d.finish()?;
    let caller = caller(service, req).await?;
    let team = OrganizationService::new(service)
        .update_team(
            &caller,
            org_id.as_deref(),
            &team_id.unwrap_or_default(),
            name.map(|n| n.trim().to_string()),
        )
        .await?;
    Ok(Reply::json(org_wire::team(&team)))
}

/// `POST /organization/remove-team`.
pub(crate) async fn remove_team(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let team_id = f.string("teamId");
    let org_id = f.optional_string("organizationId");
    f.finish()?;
    let caller = caller(service, req).await?;
    OrganizationService::new(service)
        .remove_team(&caller, org_id.as_deref(), &team_id.unwrap_or_default())
        .await?;
    Ok(Reply::json(
        json!({ "message": "Team removed successfully." }),
    ))
}

/// `POST /organization/set-active-team`.
pub(crate) async fn set_active_team(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let team_id = f.nullable_string("teamId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let activated = OrganizationService::new(service)
        .set_active_team(&caller, team_id)
        .await?;
    let body = activated.value.as_ref().map_or(Value::Null, org_wire::team);
    Ok(with_cookie(
        service,
        req,
        Reply::json(body),
        activated.session.as_ref(),
    ))
}

/// `GET /organization/list-user-teams`.
pub(crate) async fn list_user_teams(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let user_id = f.optional_string("userId");
    let org_id = f.optional_string("organizationId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let teams = OrganizationService::new(service)
        .list_user_teams(&caller, org_id.as_deref(), user_id.as_deref())
        .await?;
    Ok(Reply::json(Value::Array(
        teams.iter().map(org_wire::team).collect(),
    )))
}

/// `GET /organization/list-team-members`.
pub(crate) async fn list_team_members(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let team_id = f.optional_string("teamId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let members = OrganizationService::new(service)
        .list_team_members(&caller, team_id.as_deref())
        .await?;
    Ok(Reply::json(Value::Array(
        members.iter().map(org_wire::team_member).collect(),
    )))
}

fn team_and_user(req: &AuthRequest) -> Result<(String, String, Option<String>), IamError> {
    let mut f = Fields::body(&req.body);
    let team_id = f.string("teamId");
    let user_id = f.string("userId");
    let org_id = f.optional_string("organizationId");
    f.finish()?;
    Ok((
        team_id.unwrap_or_default(),
        user_id.unwrap_or_default(),
        org_id,
    ))
}

/// `POST /organization/add-team-member`.
pub(crate) async fn add_team_member(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let (team_id, user_id, org_id) = team_and_user(req)?;
    let caller = caller(service, req).await?;
    let added = OrganizationService::new(service)
        .add_team_member(&caller, org_id.as_deref(), &team_id, &user_id)
        .await?;
    Ok(Reply::json(org_wire::team_member(&added)))
}

/// `POST /organization/remove-team-member`.
pub(crate) async fn remove_team_member(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let (team_id, user_id, org_id) = team_and_user(req)?;
    let caller = caller(service, req).await?;
    OrganizationService::new(service)
        .remove_team_member(&caller, org_id.as_deref(), &team_id, &user_id)
        .await?;
    Ok(Reply::json(
        json!({ "message": "Team member removed successfully." }),
    ))
}

//! The organization plugin's organization and member endpoints (better-auth-api.md §7.4,
//! §7.5), and the request helpers the invitation and team handlers share. Each handler
//! validates its body or query first (400 `VALIDATION_ERROR`), then needs a session (401), then
//! calls `OrganizationService` and writes better-auth's JSON.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use shared_server::entities::is_valid_slug;

use super::{dont_remember, optional_session, require_session};
use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::org_wire::{self, Metadata};
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::repos::{MemberMatch, MemberSort};
use crate::services::access::Permissions;
use crate::services::org::{
    Caller, CreateOrganization, ListMembersInput, OrgRef, OrganizationService, UpdateOrganization,
};
use crate::services::AuthService;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The caller, or 401 `UNAUTHORIZED`.
pub(crate) async fn caller(service: &AuthService, req: &AuthRequest) -> Result<Caller, IamError> {
    let (session, user) = require_session(service, req).await?;
    Ok(Caller { session, user })
}

/// The caller, or `unauthenticated` (the endpoints whose 401 differs from the default).
pub(crate) async fn caller_or(
    service: &AuthService,
    req: &AuthRequest,
    unauthenticated: IamError,
) -> Result<Caller, IamError> {
    match optional_session(service, req).await? {
        Some((session, user)) => Ok(Caller { session, user }),
        None => Err(unauthenticated),
    }
}

/// `reply` re-sending the session cookie when the session changed.
pub(crate) fn with_cookie(
    service: &AuthService,
    req: &AuthRequest,
    reply: Reply,
    session: Option<&shared_server::entities::Session>,
) -> Reply {
    match session {
        Some(session) => reply.with_session_cookie(&session.token, dont_remember(service, req)),
        None => reply,
    }
}

/// A string or an array of strings (`role`, `teamId`).
pub(crate) fn string_or_list(
    f: &mut Fields<'_>,
    name: &str,
    required: bool,
) -> Option<Vec<String>> {
    match f.raw(name) {
        None if required => {
            f.invalid(name, "Invalid input: expected string, received undefined");
            None
        }
        None => None,
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        Some(_) => {
            f.invalid(name, "Invalid input: expected string or array of strings");
            None
        }
    }
}

/// An optional JSON object.
pub(crate) fn optional_object(f: &mut Fields<'_>, name: &str) -> Option<Map<String, Value>> {
    match f.raw(name) {
        None => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => {
            f.invalid(name, "Invalid input: expected record");
            None
        }
    }
}

/// An optional whole number given as a number or a numeric string (query values).
pub(crate) fn optional_count(f: &mut Fields<'_>, name: &str) -> Option<u64> {
    let parsed = match f.raw(name)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    if parsed.is_none() {
        f.invalid(name, "Invalid input: expected a non-negative whole number");
    }
    parsed
}

/// `{resource: [actions]}`.
fn permissions_object(f: &mut Fields<'_>, name: &str) -> Option<Permissions> {
    let map = optional_object(f, name)?;
    let mut out = Permissions::new();
    for (resource, actions) in map {
        match actions {
            Value::Array(items) if items.iter().all(Value::is_string) => {
                out.insert(
                    resource,
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                );
            }
            _ => {
                f.invalid(
                    name,
                    format!("Invalid input: `{resource}` expects an array of strings"),
                );
                return None;
            }
        }
    }
    Some(out)
}

/// Slugs are stored under `^[a-z0-9][a-z0-9-]{0,62}$` (slices.md §1.1).
fn check_slug(f: &mut Fields<'_>, name: &str, slug: &Option<String>) {
    if let Some(slug) = slug {
        if !is_valid_slug(slug) {
            f.invalid(
                name,
                "Invalid slug: use 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit",
            );
        }
    }
}

/// Names longer than the column allows are refused up front.
fn check_name(f: &mut Fields<'_>, name: &str, value: &Option<String>) {
    if let Some(value) = value {
        if value.trim().is_empty() {
            f.invalid(name, "Too small: expected string to have >=1 characters");
        } else if value.chars().count() > 255 {
            f.invalid(name, "Too big: expected string to have <=255 characters");
        }
    }
}

fn org_ref(f: &mut Fields<'_>) -> OrgRef {
    OrgRef {
        id: f.optional_string("organizationId"),
        slug: f.optional_string("organizationSlug"),
    }
}

// ---------------------------------------------------------------------------------------------
// Organizations (§7.4)
// ---------------------------------------------------------------------------------------------

/// `POST /organization/create`.
pub(crate) async fn create(service: &AuthService, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let name = f.nonempty_string("name");
    let slug = f.nonempty_string("slug");
    let logo = f.nullable_string("logo");
    let metadata = optional_object(&mut f, "metadata");
    // `userId` is server-only in better-auth and ignored over HTTP.
    let keep = f.optional_bool("keepCurrentActiveOrganization");
    check_name(&mut f, "name", &name);
    check_slug(&mut f, "slug", &slug);
    f.finish()?;
    let caller = caller_or(service, req, IamError::Status(StatusCode::UNAUTHORIZED)).await?;
    let had_metadata = metadata.is_some();
    let created = OrganizationService::new(service)
        .create_organization(
            &caller,
            CreateOrganization {
                name: name.unwrap_or_default(),
                slug: slug.unwrap_or_default(),
                logo: logo.flatten(),
                metadata,
                keep_current_active: keep.unwrap_or(false),
            },
        )
        .await?;
    let mut body = org_wire::organization(&created.organization, Metadata::Parsed);
    if let Value::Object(map) = &mut body {
        if !had_metadata {
            map.remove("metadata");
        }
        map.insert("members".into(), json!([org_wire::member(&created.owner)]));
    }
    Ok(Reply::json(body))
}

/// `POST /organization/check-slug`.
pub(crate) async fn check_slug_endpoint(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let slug = f.string("slug");
    f.finish()?;
    require_session(service, req).await?;
    if OrganizationService::new(service)
        .slug_is_free(&slug.unwrap_or_default())
        .await?
    {
        Ok(Reply::json(json!({ "status": true })))
    } else {
        Err(IamError::bad_request(
            ErrorCode::OrganizationSlugAlreadyTaken,
        ))
    }
}

/// `POST /organization/update`.
pub(crate) async fn update(service: &AuthService, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let org_id = f.optional_string("organizationId");
    let data = match f.raw("data") {
        Some(Value::Object(map)) => Some(Value::Object(map.clone())),
        Some(_) => {
            f.invalid("data", "Invalid input: expected object");
            None
        }
        None => {
            f.invalid("data", "Invalid input: expected object, received undefined");
            None
        }
    };
    let data = data.unwrap_or(Value::Null);
    let mut d = Fields::body(&data);
    let name = d.optional_string("name");
    let slug = d.optional_string("slug");
    let logo = d.nullable_string("logo");
    let metadata = optional_object(&mut d, "metadata");
    check_name(&mut d, "name", &name);
    check_slug(&mut d, "slug", &slug);
    f.finish()?;
    d.finish()?;
    let caller = caller_or(
        service,
        req,
        IamError::message_only(StatusCode::UNAUTHORIZED, "User not found"),
    )
    .await?;
    let updated = OrganizationService::new(service)
        .update_organization(
            &caller,
            org_id.as_deref(),
            UpdateOrganization {
                name,
                slug,
                logo,
                metadata,
            },
        )
        .await?;
    Ok(Reply::json(org_wire::organization(
        &updated,
        Metadata::Parsed,
    )))
}

/// `POST /organization/delete`.
pub(crate) async fn delete(service: &AuthService, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let org_id = f.string("organizationId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let deleted = OrganizationService::new(service)
        .delete_organization(&caller, &org_id.unwrap_or_default())
        .await?;
    Ok(Reply::json(org_wire::organization(
        &deleted,
        Metadata::Stored,
    )))
}

/// `POST /organization/set-active`.
pub(crate) async fn set_active(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let id = f.nullable_string("organizationId");
    let slug = f.optional_string("organizationSlug");
    f.finish()?;
    let caller = caller(service, req).await?;
    let activated = OrganizationService::new(service)
        .set_active_organization(&caller, id, slug)
        .await?;
    let body = activated
        .value
        .as_ref()
        .map_or(Value::Null, |o| org_wire::organization(o, Metadata::Stored));
    Ok(with_cookie(
        service,
        req,
        Reply::json(body),
        activated.session.as_ref(),
    ))
}

/// `GET /organization/get-organization`.
pub(crate) async fn get_organization(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let org = org_ref(&mut f);
    f.finish()?;
    let caller = caller(service, req).await?;
    let found = OrganizationService::new(service)
        .get_organization(&caller, &org)
        .await?;
    Ok(Reply::json(found.as_ref().map_or(Value::Null, |o| {
        org_wire::organization(o, Metadata::Stored)
    })))
}

/// `GET /organization/get-full-organization`.
pub(crate) async fn get_full_organization(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let org = org_ref(&mut f);
    let members_limit = optional_count(&mut f, "membersLimit");
    f.finish()?;
    let caller = caller(service, req).await?;
    let Some(full) = OrganizationService::new(service)
        .get_full_organization(&caller, &org, members_limit)
        .await?
    else {
        return Ok(Reply::json(Value::Null));
    };
    let mut body = org_wire::organization(&full.organization, Metadata::Stored);
    if let Value::Object(map) = &mut body {
        map.insert(
            "members".into(),
            full.members
                .iter()
                .map(org_wire::member_with_user)
                .collect(),
        );
        map.insert(
            "invitations".into(),
            full.invitations.iter().map(org_wire::invitation).collect(),
        );
        map.insert(
            "teams".into(),
            full.teams
                .iter()
                .map(|t| {
                    let mut team = org_wire::team(&t.team);
                    if let Value::Object(m) = &mut team {
                        m.insert("memberCount".into(), json!(t.member_count));
                    }
                    team
                })
                .collect(),
        );
    }
    Ok(Reply::json(body))
}

/// `GET /organization/list`.
pub(crate) async fn list(service: &AuthService, req: &AuthRequest) -> Result<Reply, IamError> {
    let caller = caller(service, req).await?;
    let orgs = OrganizationService::new(service)
        .list_organizations(&caller)
        .await?;
    Ok(Reply::json(Value::Array(
        orgs.iter()
            .map(|o| org_wire::organization(o, Metadata::Stored))
            .collect(),
    )))
}

/// `POST /organization/has-permission`.
pub(crate) async fn has_permission(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let org_id = f.optional_string("organizationId");
    let permissions = permissions_object(&mut f, "permissions");
    // The legacy `permission` key is validated but never evaluated (better-auth's quirk: it
    // always answers `success: false`).
    permissions_object(&mut f, "permission");
    match (
        f.raw("permissions").is_some(),
        f.raw("permission").is_some(),
    ) {
        (true, true) => f.invalid(
            "permissions",
            "Invalid input: send either `permissions` or `permission`, not both",
        ),
        (false, false) => f.invalid(
            "permissions",
            "Invalid input: expected record, received undefined",
        ),
        _ => {}
    }
    f.finish()?;
    let caller = caller(service, req).await?;
    let success = OrganizationService::new(service)
        .has_permission(&caller, org_id.as_deref(), permissions.as_ref())
        .await?;
    Ok(Reply::json(json!({ "error": null, "success": success })))
}

// ---------------------------------------------------------------------------------------------
// Members (§7.5)
// ---------------------------------------------------------------------------------------------

/// `GET /organization/list-members`.
pub(crate) async fn list_members(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let org = org_ref(&mut f);
    let limit = optional_count(&mut f, "limit");
    let offset = optional_count(&mut f, "offset");
    let sort = match f.optional_string("sortBy").as_deref() {
        None | Some("createdAt") => MemberSort::CreatedAt,
        Some("role") => MemberSort::Role,
        Some("name") => MemberSort::Name,
        Some("email") => MemberSort::Email,
        Some(_) => {
            f.invalid(
                "sortBy",
                "Invalid option: expected createdAt, role, name or email",
            );
            MemberSort::CreatedAt
        }
    };
    let descending = match f.optional_string("sortDirection").as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            f.invalid("sortDirection", "Invalid option: expected \"asc\"|\"desc\"");
            false
        }
    };
    let field = f.optional_string("filterField");
    let value = f.optional_string("filterValue");
    let operator = f.optional_string("filterOperator");
    if operator.as_deref().is_some_and(|o| o != "eq") {
        f.invalid("filterOperator", "Invalid option: only \"eq\" is supported");
    }
    let filter = match (field.as_deref(), value) {
        (None, _) => None,
        (Some(_), None) => {
            f.invalid(
                "filterValue",
                "Invalid input: expected string, received undefined",
            );
            None
        }
        (Some("role"), Some(v)) => Some(MemberMatch::Role(v)),
        (Some("email"), Some(v)) => Some(MemberMatch::Email(v)),
        (Some("userId"), Some(v)) => match v.parse() {
            Ok(id) => Some(MemberMatch::UserId(id)),
            Err(_) => {
                f.invalid("filterValue", "Invalid input: not a user id");
                None
            }
        },
        (Some(_), Some(_)) => {
            f.invalid(
                "filterField",
                "Invalid option: expected role, email or userId",
            );
            None
        }
    };
    f.finish()?;
    let caller = caller(service, req).await?;
    let (members, total) = OrganizationService::new(service)
        .list_members(
            &caller,
            ListMembersInput {
                org,
                limit,
                offset,
                sort,
                descending,
                filter,
            },
        )
        .await?;
    Ok(Reply::json(json!({
        "members": members.iter().map(org_wire::member_with_user).collect::<Vec<_>>(),
        "total": total,
    })))
}

/// `GET /organization/get-active-member`.
pub(crate) async fn get_active_member(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let caller = caller(service, req).await?;
    let member = OrganizationService::new(service)
        .active_member(&caller)
        .await?;
    Ok(Reply::json(org_wire::member_with_user(&member)))
}

/// `GET /organization/get-active-member-role`.
pub(crate) async fn get_active_member_role(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let org = org_ref(&mut f);
    let user_id = f.optional_string("userId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let role = OrganizationService::new(service)
        .member_role(&caller, &org, user_id.as_deref())
        .await?;
    Ok(Reply::json(json!({ "role": role })))
}

/// `POST /organization/update-member-role`.
pub(crate) async fn update_member_role(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let member_id = f.string("memberId");
    let role = string_or_list(&mut f, "role", true);
    let org_id = f.optional_string("organizationId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let updated = OrganizationService::new(service)
        .update_member_role(
            &caller,
            org_id.as_deref(),
            &member_id.unwrap_or_default(),
            role.unwrap_or_default(),
        )
        .await?;
    Ok(Reply::json(org_wire::member(&updated)))
}

/// `POST /organization/remove-member`.
pub(crate) async fn remove_member(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let target = f.string("memberIdOrEmail");
    let org_id = f.optional_string("organizationId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let removed = OrganizationService::new(service)
        .remove_member(&caller, org_id.as_deref(), &target.unwrap_or_default())
        .await?;
    Ok(Reply::json(json!({ "member": org_wire::member(&removed) })))
}

/// `POST /organization/leave`.
pub(crate) async fn leave(service: &AuthService, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let org_id = f.string("organizationId");
    f.finish()?;
    let caller = caller(service, req).await?;
    let member = OrganizationService::new(service)
        .leave(&caller, &org_id.unwrap_or_default())
        .await?;
    Ok(Reply::json(org_wire::member_with_user(&member)))
}

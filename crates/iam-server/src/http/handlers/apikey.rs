//! The API-key plugin's endpoints (`specs/better-auth-api.md` §8.3): `POST /api-key/create`,
//! `GET /api-key/get`, `GET /api-key/list`, `POST /api-key/update`, `POST /api-key/delete`.
//! Each validates its input first (400), refuses server-only properties, then needs a session
//! (cookie, bearer or `x-api-key`); keys are managed in the caller's active organization, the
//! one a new key acts in.

use axum::http::StatusCode;
use serde_json::{json, Value};
use shared_server::entities::{OrganizationId, User};

use super::optional_session;
use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::repos::{ApiKeyListQuery, SORTABLE_FIELDS};
use crate::services::apikeys::{api_key_json, ApiKeyService, CreateApiKey, UpdateApiKey};
use crate::services::AuthService;

/// The caller and the organization its keys live in.
struct Caller {
    user: User,
    org: Option<OrganizationId>,
}

/// The caller (an `x-api-key` caller acts in its key's organization; a session in its active
/// organization, re-selected personal-first when stale), or 401 with `missing`.
async fn caller(
    service: &AuthService,
    req: &AuthRequest,
    missing: ErrorCode,
) -> Result<Caller, IamError> {
    if let Some(api) = &req.api_key {
        return Ok(Caller {
            user: api.user.clone(),
            org: api.organization.as_ref().map(|o| o.id.clone()),
        });
    }
    let Some((session, user)) = optional_session(service, req).await? else {
        return Err(IamError::unauthorized(missing));
    };
    let (_, org) = service.ensure_active_organization(session, &user).await?;
    Ok(Caller {
        user,
        org: org.map(|o| o.id),
    })
}

fn server_only() -> IamError {
    IamError::bad_request(ErrorCode::ServerOnlyProperty)
}

pub(crate) async fn create(
    service: &AuthService,
    api_keys: &ApiKeyService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let _config_id = f.optional_string("configId");
    let name = f.optional_string("name");
    let expires_in = f.nullable_number("expiresIn", Some(1.0));
    let prefix = f.optional_string("prefix");
    if let Some(prefix) = &prefix {
        let valid = !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            f.invalid(
                "prefix",
                "Invalid prefix format, must be alphanumeric and contain only underscores and hyphens.",
            );
        }
    }
    let remaining = f.nullable_number("remaining", Some(0.0));
    let metadata = f.any("metadata");
    let refill_amount = f.optional_number("refillAmount", Some(1.0));
    let refill_interval = f.optional_number("refillInterval", None);
    let window = f.optional_number("rateLimitTimeWindow", None);
    let max = f.optional_number("rateLimitMax", None);
    let rate_limit_enabled = f.optional_bool("rateLimitEnabled");
    let permissions = f.optional_statement("permissions", false);
    let user_id_sent = f.present("userId");
    let _organization_id = f.present("organizationId");
    f.finish()?;

    if refill_amount.is_some()
        || refill_interval.is_some()
        || window.is_some()
        || max.is_some()
        || rate_limit_enabled.is_some()
        || permissions.is_some()
        || remaining.flatten().is_some()
    {
        return Err(server_only());
    }
    if user_id_sent {
        return Err(IamError::unauthorized(ErrorCode::UnauthorizedSession));
    }
    let caller = caller(service, req, ErrorCode::UnauthorizedSession).await?;
    let Some(org) = caller.org else {
        return Err(IamError::api_with(
            StatusCode::BAD_REQUEST,
            ErrorCode::OrganizationIdRequired,
            "An active organization is required: an API key acts in the organization that is active when it is created.",
        ));
    };
    let input = CreateApiKey {
        name,
        expires_in: expires_in.flatten(),
        prefix,
        metadata,
        ..CreateApiKey::default()
    };
    let (key, plain) = api_keys.create(&caller.user, &org, input).await?;
    Ok(Reply::json(api_key_json(&key, Some(&plain))))
}

pub(crate) async fn get(
    service: &AuthService,
    api_keys: &ApiKeyService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let id = f.string("id");
    let _config_id = f.optional_string("configId");
    f.finish()?;
    let id = id.unwrap_or_default();
    let caller = caller(service, req, ErrorCode::Unauthorized).await?;
    let key = api_keys
        .get(&caller.user.id, caller.org.as_ref(), &id)
        .await?;
    Ok(Reply::json(api_key_json(&key, None)))
}

pub(crate) async fn list(
    service: &AuthService,
    api_keys: &ApiKeyService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let _config_id = f.optional_string("configId");
    let organization_id = f.optional_string("organizationId");
    let limit = f.optional_count("limit");
    let offset = f.optional_count("offset");
    let sort_by = f.optional_string("sortBy");
    let sort_column = match sort_by.as_deref() {
        None => None,
        Some(field) => match SORTABLE_FIELDS.iter().find(|(name, _)| *name == field) {
            Some((_, column)) => Some(*column),
            None => {
                let names: Vec<&str> = SORTABLE_FIELDS.iter().map(|(n, _)| *n).collect();
                f.invalid(
                    "sortBy",
                    format!("Invalid input: expected one of {}", names.join(", ")),
                );
                None
            }
        },
    };
    let direction = f.optional_enum("sortDirection", &["asc", "desc"]);
    f.finish()?;
    let caller = caller(service, req, ErrorCode::Unauthorized).await?;
    // Organization-owned keys (§8.7) are not a configuration of this build: none to list.
    let (keys, total) = if organization_id.is_some() {
        (Vec::new(), 0)
    } else {
        let query = ApiKeyListQuery {
            sort_column,
            descending: direction == Some("desc"),
            limit,
            offset,
        };
        api_keys
            .list(&caller.user.id, caller.org.as_ref(), query)
            .await?
    };
    let mut body = json!({
        "apiKeys": keys.iter().map(|k| api_key_json(k, None)).collect::<Vec<Value>>(),
        "total": total,
    });
    if let Some(map) = body.as_object_mut() {
        if let Some(limit) = limit {
            map.insert("limit".into(), limit.into());
        }
        if let Some(offset) = offset {
            map.insert("offset".into(), offset.into());
        }
    }
    Ok(Reply::json(body))
}

pub(crate) async fn update(
    service: &AuthService,
    api_keys: &ApiKeyService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let _config_id = f.optional_string("configId");
    let key_id = f.string("keyId");
    let user_id = f.any("userId");
    let name = f.optional_string("name");
    let enabled = f.optional_bool("enabled");
    let remaining = f.optional_number("remaining", Some(1.0));
    let refill_amount = f.optional_number("refillAmount", None);
    let refill_interval = f.optional_number("refillInterval", None);
    let metadata = f.any("metadata");
    let expires_in = f.nullable_number("expiresIn", Some(1.0));
    let rate_limit_enabled = f.optional_bool("rateLimitEnabled");
    let window = f.optional_number("rateLimitTimeWindow", None);
    let max = f.optional_number("rateLimitMax", None);
    let permissions = f.optional_statement("permissions", true);
    f.finish()?;
    let key_id = key_id.unwrap_or_default();

    let caller = caller(service, req, ErrorCode::UnauthorizedSession).await?;
    if let Some(user_id) = user_id.filter(|v| !v.is_null()) {
        let text = user_id
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| user_id.to_string());
        if !text.is_empty() && text != caller.user.id.as_str() {
            return Err(IamError::unauthorized(ErrorCode::UnauthorizedSession));
        }
    }
    if refill_amount.is_some()
        || refill_interval.is_some()
        || max.is_some()
        || window.is_some()
        || rate_limit_enabled.is_some()
        || remaining.is_some()
        || permissions.is_some()
    {
        return Err(server_only());
    }
    let input = UpdateApiKey {
        name,
        enabled,
        expires_in,
        metadata,
        ..UpdateApiKey::default()
    };
    let key = api_keys
        .update(&caller.user.id, caller.org.as_ref(), &key_id, input)
        .await?;
    Ok(Reply::json(api_key_json(&key, None)))
}

pub(crate) async fn delete(
    service: &AuthService,
    api_keys: &ApiKeyService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let _config_id = f.optional_string("configId");
    let key_id = f.string("keyId");
    f.finish()?;
    let key_id = key_id.unwrap_or_default();
    let caller = caller(service, req, ErrorCode::Unauthorized).await?;
    api_keys
        .delete(&caller.user, caller.org.as_ref(), &key_id)
        .await?;
    Ok(Reply::json(json!({ "success": true })))
}

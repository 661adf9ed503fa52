//! The signed-in user's own account: `POST /update-user`, `/change-password`,
//! `/change-email`, `/delete-user` (+ `GET /delete-user/callback`), `/verify-password` and
//! `GET /list-accounts` (`specs/better-auth-api.md` §3.10–3.12, §3.18–3.20).

use axum::http::StatusCode;
use serde_json::{json, Value};
use shared_server::entities::UserPatch;

use super::{
    check_new_password, check_password_not_too_long, dont_remember, optional_session,
    require_session,
};
use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::origin;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::wire;
use crate::http::AuthApi;
use crate::js::truthy;
use crate::plugins::username::UsernameFields;
use crate::services::AuthService;

/// User fields that exist but are not input (`FIELD_NOT_ALLOWED` when set to a truthy value).
const NON_INPUT_USER_FIELDS: &[&str] = &["emailVerified", "createdAt", "updatedAt"];

pub(crate) async fn update_user(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let service = api.service.as_ref();
    let Value::Object(body) = &req.body else {
        return Err(IamError::bad_request(ErrorCode::BodyMustBeAnObject));
    };
    let username_on = service.config().plugins.username.enabled;
    let mut f = Fields::body(&req.body);
    let name = f.optional_string("name");
    let image = f.nullable_string("image");
    // The username plugin's fields (PLUGINS.md §1).
    let (username, display_username) = if username_on {
        (
            f.optional_string("username"),
            f.optional_string("displayUsername"),
        )
    } else {
        (None, None)
    };
    f.finish()?;
    let (session, user) = require_session(service, req).await?;
    if body.get("email").is_some_and(truthy) {
        return Err(IamError::bad_request(ErrorCode::EmailCanNotBeUpdated));
    }
    // The plugins' `twoFactorEnabled` and `lastLoginMethod` are not input either (PLUGINS.md).
    let plugins = &service.config().plugins;
    let last_login_stored =
        plugins.last_login_method.enabled && plugins.last_login_method.store_in_database;
    let non_input = NON_INPUT_USER_FIELDS
        .iter()
        .chain(plugins.two_factor.enabled.then_some(&"twoFactorEnabled"))
        .chain(last_login_stored.then_some(&"lastLoginMethod"))
        .chain(plugins.anonymous.enabled.then_some(&"isAnonymous"));
    if let Some(field) = non_input
        .into_iter()
        .find(|field| body.get(**field).is_some_and(truthy))
    {
        return Err(IamError::api_with(
            StatusCode::BAD_REQUEST,
            ErrorCode::FieldNotAllowed,
            format!("{field} is not allowed to be set"),
        ));
    }
    let usernames = if username_on {
        api.plugins
            .username
            .for_update(&user.id, username, display_username)
            .await?
    } else {
        UsernameFields::default()
    };
    if name.is_none()
        && image.is_none()
        && usernames.username.is_none()
        && usernames.display_username.is_none()
    {
        return Err(IamError::message_only(
            StatusCode::BAD_REQUEST,
            "No fields to update",
        ));
    }
    service
        .update_user(
            &user.id,
            UserPatch {
                name,
                image,
                username: usernames.username.map(Some),
                display_username: usernames.display_username.map(Some),
                ..UserPatch::default()
            },
        )
        .await?;
    Ok(Reply::json(json!({ "status": true }))
        .with_session_cookie(&session.token, dont_remember(service, req)))
}

pub(crate) async fn change_password(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let new_password = f.string("newPassword");
    let current_password = f.string("currentPassword");
    let revoke_others = f.optional_bool("revokeOtherSessions");
    f.finish()?;
    let (Some(new_password), Some(current_password)) = (new_password, current_password) else {
        return Err(IamError::validation("Validation Error"));
    };
    let (_, user) = require_session(service, req).await?;
    let config = service.config();
    check_new_password(config, &new_password)?;
    check_password_not_too_long(config, &current_password)?;
    let not_remembered = dont_remember(service, req);
    let session = service
        .change_password(
            &user,
            &current_password,
            &new_password,
            revoke_others == Some(true),
            !not_remembered,
            &req.client,
        )
        .await?;
    let reply = Reply::json(json!({
        "token": session.as_ref().map(|s| s.token.clone()),
        "user": wire::user(service.config(), &user),
    }));
    Ok(match session {
        Some(session) => reply.with_session_cookie(&session.token, not_remembered),
        None => reply,
    })
}

pub(crate) async fn change_email(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let new_email = f.email("newEmail");
    let callback_url = f.optional_string("callbackURL");
    f.finish()?;
    let new_email = new_email.unwrap_or_default().to_lowercase();
    let (_, user) = require_session(service, req).await?;
    if !service.config().change_email_enabled {
        return Err(IamError::bad_request(ErrorCode::ChangeEmailDisabled));
    }
    service
        .change_email(&user, &new_email, callback_url.as_deref())
        .await?;
    Ok(Reply::json(json!({ "status": true })))
}

pub(crate) async fn delete_user(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let password = f.optional_string("password").filter(|p| !p.is_empty());
    let token = f.optional_string("token").filter(|t| !t.is_empty());
    let _callback_url = f.optional_string("callbackURL");
    f.finish()?;
    let (session, user) = require_session(service, req).await?;
    if !service.config().delete_user_enabled {
        return Err(IamError::Status(StatusCode::NOT_FOUND));
    }
    if let Some(password) = &password {
        check_password_not_too_long(service.config(), password)?;
        service.verify_password(&user.id, password).await?;
    }
    if let Some(token) = &token {
        if !service.consume_delete_token(&user.id, token).await? {
            return Err(IamError::api(
                StatusCode::NOT_FOUND,
                ErrorCode::InvalidToken,
            ));
        }
    } else if password.is_none() && !service.is_fresh(&session) {
        return Err(IamError::bad_request(ErrorCode::SessionExpired));
    }
    service.delete_user(&user.id).await?;
    Ok(
        Reply::json(json!({ "success": true, "message": "User deleted" }))
            .expire_session_cookies(&req.names, &req.cookies),
    )
}

pub(crate) async fn delete_user_callback(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let token = f.string("token");
    let callback_url = f.optional_string("callbackURL");
    f.finish()?;
    origin::check_callback(callback_url.as_deref(), service.config())?;
    if !service.config().delete_user_enabled {
        return Err(IamError::api_with(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidToken,
            "Not found",
        ));
    }
    let Some((_, user)) = optional_session(service, req).await? else {
        return Err(IamError::api(
            StatusCode::NOT_FOUND,
            ErrorCode::FailedToGetUserInfo,
        ));
    };
    if !service
        .consume_delete_token(&user.id, &token.unwrap_or_default())
        .await?
    {
        return Err(IamError::api(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidToken,
        ));
    }
    service.delete_user(&user.id).await?;
    let reply = match callback_url.filter(|c| !c.is_empty()) {
        Some(url) => Reply::redirect(&url),
        None => Reply::json(json!({ "success": true, "message": "User deleted" })),
    };
    Ok(reply.expire_session_cookies(&req.names, &req.cookies))
}

pub(crate) async fn verify_password(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let password = f.string("password");
    f.finish()?;
    let (_, user) = require_session(service, req).await?;
    let password = password.unwrap_or_default();
    check_password_not_too_long(service.config(), &password)?;
    service.verify_password(&user.id, &password).await?;
    Ok(Reply::json(json!({ "status": true })))
}

pub(crate) async fn list_accounts(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let (_, user) = require_session(service, req).await?;
    let accounts = service.list_accounts(&user.id).await?;
    Ok(Reply::json(Value::Array(
        accounts.iter().map(wire::account).collect(),
    )))
}

//! The multi-session plugin's HTTP endpoints (`/multi-session/list-device-sessions`,
//! `/set-active`, `/revoke`; PLUGINS.md §5) and its after-hooks: every reply that sets a
//! session cookie also records that session in a `<session cookie>_multi-<token>` cookie (one
//! per account; the same account signing in again replaces its old one), and sign-out ends
//! every account of the browser.
//!
//! The plugin keeps no state of its own: the browser's cookies are the list, each one signed,
//! and each session is read from `shared_session` as any other.

use serde_json::{json, Value};
use shared_server::entities::{Session, User};

use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::handlers::{dont_remember, require_session};
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::{wire, AuthApi, Endpoint};
use crate::services::credentials;

/// The plugin's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ListDeviceSessions,
    SetActive,
    Revoke,
}

/// `(method, path)` → route.
pub fn route(get: bool, post: bool, path: &str) -> Option<Route> {
    match path {
        "/multi-session/list-device-sessions" if get => Some(Route::ListDeviceSessions),
        "/multi-session/set-active" if post => Some(Route::SetActive),
        "/multi-session/revoke" if post => Some(Route::Revoke),
        _ => None,
    }
}

pub(crate) async fn handle(
    api: &AuthApi,
    route: Route,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    match route {
        Route::ListDeviceSessions => list_device_sessions(api, req).await,
        Route::SetActive => set_active(api, req).await,
        Route::Revoke => revoke(api, req).await,
    }
}

/// The multi-session cookie name of `token`.
fn cookie_name(req: &AuthRequest, token: &str) -> String {
    format!("{}_multi-{}", req.names.session_token, token.to_lowercase())
}

/// The request's multi-session cookies whose signature holds: `(cookie name, token)`.
fn device_tokens(api: &AuthApi, req: &AuthRequest) -> Vec<(String, String)> {
    let prefix = format!("{}_multi-", req.names.session_token);
    let secret = api.service.config().secret();
    req.cookies
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .filter_map(|(name, _)| {
            credentials::signed_cookie(&req.cookies, name, secret).map(|t| (name.clone(), t))
        })
        .collect()
}

fn session_json(api: &AuthApi, session: &Session, user: &User) -> Value {
    json!({
        "session": wire::session(session),
        "user": wire::user(api.service.config(), user),
    })
}

/// → `[{session, user}]`: the browser's live accounts, one entry per user (no session needed).
async fn list_device_sessions(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut seen: Vec<(Session, User)> = Vec::new();
    for (_, token) in device_tokens(api, req) {
        if let Some((session, user)) = api.service.session_for_token(&token).await? {
            if !seen.iter().any(|(_, u)| u.id == user.id) {
                seen.push((session, user));
            }
        }
    }
    let list: Vec<Value> = seen
        .iter()
        .map(|(session, user)| session_json(api, session, user))
        .collect();
    Ok(Reply::json(Value::Array(list)))
}

fn session_token_field(req: &AuthRequest) -> Result<String, IamError> {
    let mut f = Fields::body(&req.body);
    let token = f.string("sessionToken");
    f.finish()?;
    token.ok_or_else(|| IamError::validation("Validation Error"))
}

fn invalid_token() -> IamError {
    IamError::unauthorized(ErrorCode::InvalidSessionToken)
}

/// `{sessionToken}` → `{session, user}`: that account (one of the browser's) becomes the
/// session cookie's. Unknown → 401 `INVALID_SESSION_TOKEN`; ended → the same, its cookie expired.
async fn set_active(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let wanted = session_token_field(req)?;
    let name = cookie_name(req, &wanted);
    let secret = api.service.config().secret();
    let token =
        credentials::signed_cookie(&req.cookies, &name, secret).ok_or_else(invalid_token)?;
    let Some((session, user)) = api.service.session_for_token(&token).await? else {
        return Ok(Reply::error(invalid_token()).expire_cookie(&name));
    };
    Ok(Reply::json(session_json(api, &session, &user))
        .with_session_cookie(&session.token, dont_remember(&api.service, req)))
}

/// `{sessionToken}` (session required) → `{status: true}`: that account's session is deleted
/// and its cookie expired; if it was the current one, the next live account becomes current,
/// or the session cookies are expired when none is left.
async fn revoke(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let wanted = session_token_field(req)?;
    let (current, _) = require_session(&api.service, req).await?;
    let name = cookie_name(req, &wanted);
    let secret = api.service.config().secret();
    let token =
        credentials::signed_cookie(&req.cookies, &name, secret).ok_or_else(invalid_token)?;
    api.service.delete_session(&token).await?;
    let reply = Reply::json(json!({ "status": true })).expire_cookie(&name);
    if current.token != token {
        return Ok(reply);
    }
    for (_, other) in device_tokens(api, req) {
        if other == token {
            continue;
        }
        if let Some((next, _)) = api.service.session_for_token(&other).await? {
            return Ok(reply.with_session_cookie(&next.token, dont_remember(&api.service, req)));
        }
    }
    Ok(reply.expire_session_cookies(&req.names, &req.cookies))
}

/// The after-hooks (PLUGINS.md §5.2): records the session a reply sets in its multi-session
/// cookie, and on sign-out ends every account of the browser.
pub(crate) async fn after(
    api: &AuthApi,
    endpoint: &Endpoint,
    req: &AuthRequest,
    reply: Reply,
) -> Result<Reply, IamError> {
    let config = &api.service.config().plugins.multi_session;
    if !config.enabled {
        return Ok(reply);
    }
    if *endpoint == Endpoint::SignOut {
        let mut reply = reply;
        for (name, token) in device_tokens(api, req) {
            api.service.delete_session(&token).await?;
            reply = reply.expire_cookie(&name);
        }
        return Ok(reply);
    }
    let Some((token, _)) = reply.session_cookie() else {
        return Ok(reply);
    };
    let token = token.to_string();
    let name = cookie_name(req, &token);
    if credentials::cookie(&req.cookies, &name).is_some() {
        return Ok(reply);
    }
    let Some((_, user)) = api.service.session_for_token(&token).await? else {
        return Ok(reply);
    };
    let mut reply = reply;
    let present = device_tokens(api, req);
    let mut replaced = 0;
    for (other_name, other) in &present {
        if let Some((_, other_user)) = api.service.session_for_token(other).await? {
            if other_user.id == user.id {
                api.service.delete_session(other).await?;
                reply = reply.expire_cookie(other_name);
                replaced += 1;
            }
        }
    }
    // better-auth counts the browser's other accounts plus the session cookie being set.
    if present.len() - replaced + 1 > config.maximum_sessions {
        return Ok(reply);
    }
    let max_age = api.service.config().session_expires_in.as_secs();
    Ok(reply.with_signed_cookie(&name, &token, max_age))
}

//! The one-time-token plugin's HTTP endpoints (`GET /one-time-token/generate`,
//! `POST /one-time-token/verify`; PLUGINS.md §6) and its optional `set-ott` after-hook.

use axum::http::{HeaderName, StatusCode};
use serde_json::json;

use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::handlers::{dont_remember, require_session};
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::{wire, AuthApi};

use super::service::Verified;

/// The plugin's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Generate,
    Verify,
}

/// `(method, path)` → route.
pub fn route(get: bool, post: bool, path: &str) -> Option<Route> {
    match path {
        "/one-time-token/generate" if get => Some(Route::Generate),
        "/one-time-token/verify" if post => Some(Route::Verify),
        _ => None,
    }
}

pub(crate) async fn handle(
    api: &AuthApi,
    route: Route,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    match route {
        Route::Generate => generate(api, req).await,
        Route::Verify => verify(api, req).await,
    }
}

/// (signed in) → `{token}`. An `x-api-key` caller has no session to hand on: 401.
async fn generate(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    if req.api_key.is_some() {
        return Err(IamError::unauthorized(ErrorCode::Unauthorized));
    }
    let (session, _) = require_session(&api.service, req).await?;
    let token = api.plugins.one_time_token.generate(&session).await?;
    Ok(Reply::json(json!({ "token": token })))
}

/// `{token}` → `{session, user}` (and the session cookie, unless disabled); the token works
/// once. Unknown, used or expired → 400 `{"message":"Invalid token"}`; its session gone →
/// 400 `{"message":"Session not found"}`.
async fn verify(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let token = f.string("token");
    f.finish()?;
    let Some(token) = token else {
        return Err(IamError::validation("Validation Error"));
    };
    let plugin = &api.plugins.one_time_token;
    let (session, user) = match plugin.verify(&token).await? {
        Verified::Session(found) => *found,
        Verified::InvalidToken => {
            return Err(IamError::message_only(
                StatusCode::BAD_REQUEST,
                "Invalid token",
            ))
        }
        Verified::SessionNotFound => {
            return Err(IamError::message_only(
                StatusCode::BAD_REQUEST,
                "Session not found",
            ))
        }
    };
    let reply = Reply::json(json!({
        "session": wire::session(&session),
        "user": wire::user(api.service.config(), &user),
    }));
    Ok(if plugin.config().disable_set_session_cookie {
        reply
    } else {
        reply.with_session_cookie(&session.token, dont_remember(&api.service, req))
    })
}

/// With `IAM_ONE_TIME_TOKEN_SET_OTT_HEADER`: a reply that sets a session cookie also carries a
/// one-time token for that session in `set-ott` (exposed to scripts).
pub(crate) async fn after(api: &AuthApi, reply: Reply) -> Result<Reply, IamError> {
    let plugin = &api.plugins.one_time_token;
    if !plugin.config().enabled || !plugin.config().set_ott_header {
        return Ok(reply);
    }
    let Some((token, _)) = reply.session_cookie() else {
        return Ok(reply);
    };
    let Some((session, _)) = api.service.session_for_token(token).await? else {
        return Ok(reply);
    };
    let ott = plugin.generate(&session).await?;
    Ok(reply
        .with_header(HeaderName::from_static("set-ott"), ott)
        .exposing_header("set-ott"))
}

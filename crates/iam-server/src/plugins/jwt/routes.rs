//! The jwt plugin's HTTP endpoints (`GET /token`, `GET /jwks`; PLUGINS.md §7) and its
//! get-session after-hook (`set-auth-jwt`).

use axum::http::HeaderName;
use serde_json::json;

use crate::error::IamError;
use crate::http::handlers::require_session;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::{wire, AuthApi};

/// The plugin's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Token,
    Jwks,
}

/// `(GET, path)` → route.
pub fn route(get: bool, path: &str) -> Option<Route> {
    match path {
        "/token" if get => Some(Route::Token),
        "/jwks" if get => Some(Route::Jwks),
        _ => None,
    }
}

pub(crate) async fn handle(
    api: &AuthApi,
    route: Route,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    match route {
        Route::Token => {
            let (_, user) = require_session(&api.service, req).await?;
            let user = wire::user(api.service.config(), &user);
            let token = api.plugins.jwt.token_for(&user).await?;
            Ok(Reply::json(json!({ "token": token })))
        }
        Route::Jwks => Ok(Reply::json(api.plugins.jwt.jwks().await?)),
    }
}

/// get-session with a session also answers `set-auth-jwt: <JWT of its user>` (exposed to
/// scripts), unless switched off.
pub(crate) async fn after_get_session(api: &AuthApi, reply: Reply) -> Result<Reply, IamError> {
    let jwt = &api.plugins.jwt;
    if !jwt.config().enabled || jwt.config().disable_setting_jwt_header {
        return Ok(reply);
    }
    let Some(user) = reply
        .json_body()
        .and_then(|body| body.get("user"))
        .filter(|user| user.is_object())
        .cloned()
    else {
        return Ok(reply);
    };
    let token = jwt.token_for(&user).await?;
    Ok(reply
        .with_header(HeaderName::from_static("set-auth-jwt"), token)
        .exposing_header("set-auth-jwt"))
}

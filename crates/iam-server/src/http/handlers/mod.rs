//! The auth endpoints, one function each, grouped by topic: sign-up/in/out (`sign`), sessions
//! (`session`), the user's account (`user`), email flows (`email`), API keys (`apikey`) and the
//! organization plugin (`organization`, `invitation`, `team`). Each one validates its
//! input first (400), then checks the session (401), then calls `AuthService` and writes
//! better-auth's answer. Shared helpers live here.

pub mod apikey;
pub mod email;
pub mod invitation;
pub mod organization;
pub mod session;
pub mod sign;
pub mod team;
pub mod user;

use axum::http::StatusCode;
use serde_json::json;
use shared_server::entities::{Session, User};

use super::reply::Reply;
use super::request::AuthRequest;
use crate::config::IamConfig;
use crate::error::{ErrorCode, IamError};
use crate::services::credentials;
use crate::services::AuthService;

/// The request's session token: a valid bearer credential, else the signed cookie.
pub(crate) fn request_token(service: &AuthService, req: &AuthRequest) -> Option<String> {
    let secret = service.config().secret();
    credentials::bearer_token(&req.headers, secret)
        .or_else(|| credentials::cookie_token(&req.cookies, &req.names, secret))
}

/// Whether the request carries a valid `dont_remember` marker.
pub(crate) fn dont_remember(service: &AuthService, req: &AuthRequest) -> bool {
    credentials::dont_remember(&req.cookies, &req.names, service.config().secret())
}

/// The caller's session and user, if the request has a valid unexpired one (an `x-api-key`
/// caller's synthetic session first, as the plugin's hook sets it).
pub(crate) async fn optional_session(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Option<(Session, User)>, IamError> {
    if let Some(api) = &req.api_key {
        return Ok(Some((api.session.clone(), api.user.clone())));
    }
    match request_token(service, req) {
        Some(token) => service.session_for_token(&token).await,
        None => Ok(None),
    }
}

/// The caller's session and user, or 401 `UNAUTHORIZED`.
pub(crate) async fn require_session(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<(Session, User), IamError> {
    optional_session(service, req)
        .await?
        .ok_or_else(|| IamError::unauthorized(ErrorCode::Unauthorized))
}

/// A new password's length: 400 `PASSWORD_TOO_SHORT` / `PASSWORD_TOO_LONG` (UTF-16 units).
pub(crate) fn check_new_password(config: &IamConfig, password: &str) -> Result<(), IamError> {
    let length = crate::js::length(password);
    if length < config.min_password_length {
        return Err(IamError::bad_request(ErrorCode::PasswordTooShort));
    }
    check_password_not_too_long(config, password)
}

/// Any password's upper bound: 400 `PASSWORD_TOO_LONG`.
pub(crate) fn check_password_not_too_long(
    config: &IamConfig,
    password: &str,
) -> Result<(), IamError> {
    if crate::js::length(password) > config.max_password_length {
        return Err(IamError::bad_request(ErrorCode::PasswordTooLong));
    }
    Ok(())
}

/// `GET /ok`.
pub(crate) fn ok() -> Reply {
    Reply::json(json!({ "ok": true }))
}

/// `GET /error`: a minimal HTML page naming the error (for browser redirects).
pub(crate) fn error_page(req: &AuthRequest) -> Reply {
    let escape = |text: &str| {
        text.chars()
            .take(500)
            .map(|c| match c {
                '<' => "&lt;".to_string(),
                '>' => "&gt;".to_string(),
                '&' => "&amp;".to_string(),
                '"' => "&quot;".to_string(),
                '\'' => "&#39;".to_string(),
                c => c.to_string(),
            })
            .collect::<String>()
    };
    let code = escape(req.query_str("error").unwrap_or("UNKNOWN"));
    let description = escape(req.query_str("error_description").unwrap_or(""));
    Reply::html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Error</title></head>\
         <body><h1>Something went wrong</h1><p><code>{code}</code></p><p>{description}</p></body></html>"
    ))
}

/// `POST /get-session` without deferred refresh: 405 with better-auth's code.
pub(crate) fn get_session_post() -> Reply {
    Reply::error(IamError::api(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowedDeferSessionRequired,
    ))
}

//! `GET /get-session` (with the sliding refresh), `GET /list-sessions`, and the revocations
//! `POST /revoke-session`, `/revoke-sessions`, `/revoke-other-sessions`
//! (`specs/better-auth-api.md` §2.10, §3.6–3.9).

use axum::http::header;
use serde_json::{json, Value};

use super::{dont_remember, request_token, require_session};
use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::wire;
use crate::services::{cookie_cache, AuthService};
use shared_server::entities::{Session, User};

/// A query flag is set by any non-empty value (better-auth's coercion: even `false`).
fn query_flag(req: &AuthRequest, name: &str) -> bool {
    req.query_str(name).is_some_and(|v| !v.is_empty())
}

pub(crate) async fn get_session(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut reply = get_session_inner(service, req).await?;
    // The cookie cache is off: a leftover session_data cookie is expired.
    if service.config().cookie_cache_max_age.is_none()
        && req
            .cookies
            .iter()
            .any(|(n, _)| n == &req.names.session_data)
    {
        reply = reply.expire_cookie(&req.names.session_data);
    }
    Ok(reply
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_header(header::PRAGMA, "no-cache"))
}

async fn get_session_inner(service: &AuthService, req: &AuthRequest) -> Result<Reply, IamError> {
    // An `x-api-key` caller: the synthetic session itself, no refresh, no cookies (§8.6); its
    // id is the key's.
    if let Some(api) = &req.api_key {
        let mut session = wire::session(&api.session);
        session["id"] = json!(api.key.id);
        return Ok(Reply::json(json!({
            "session": session,
            "user": wire::user(service.config(), &api.user),
        })));
    }
    let Some(token) = request_token(service, req) else {
        return Ok(Reply::json(Value::Null));
    };
    let cache_on = service.config().cookie_cache_max_age.is_some();
    if cache_on && !query_flag(req, "disableCookieCache") {
        if let Some(cached) = read_cookie_cache(service, req, &token) {
            return Ok(Reply::json(json!({
                "session": cached.session,
                "user": cached.user,
            })));
        }
    }
    let Some((session, user)) = service.session_for_token(&token).await? else {
        // Unknown or expired: an expired row is removed and the cookies are cleared.
        service.delete_session(&token).await?;
        return Ok(Reply::json(Value::Null).expire_session_cookies(&req.names, &req.cookies));
    };
    let not_remembered = dont_remember(service, req);
    let refresh = !not_remembered
        && !query_flag(req, "disableRefresh")
        && !service.config().disable_session_refresh
        && service.refresh_due(&session);
    if !refresh {
        let reply = Reply::json(json!({
            "session": wire::session(&session),
            "user": wire::user(service.config(), &user),
        }));
        return Ok(with_cookie_cache(
            service,
            reply,
            &session,
            &user,
            !not_remembered,
        ));
    }
    match service.refresh_session(&session).await {
        Ok(updated) => {
            let reply = Reply::json(json!({
                "session": wire::session(&updated),
                "user": wire::user(service.config(), &user),
            }))
            .with_session_cookie(&updated.token, false);
            Ok(with_cookie_cache(service, reply, &updated, &user, true))
        }
        Err(error) if error.code() == Some(ErrorCode::FailedToGetSession) => {
            Ok(Reply::error(error).expire_session_cookies(&req.names, &req.cookies))
        }
        Err(error) => Err(error),
    }
}

/// The request's valid cookie-cache entry for the session `token` (§2.8), if any.
fn read_cookie_cache(
    service: &AuthService,
    req: &AuthRequest,
    token: &str,
) -> Option<cookie_cache::CachedSession> {
    let value = cookie_cache::join(&req.cookies, &req.names.session_data)?;
    let cached = cookie_cache::decode(service.config().secret(), &value, service.now())?;
    (cached.token() == Some(token)).then_some(cached)
}

/// `reply` plus a fresh cookie-cache entry for `session` and `user`, when the cache is on.
fn with_cookie_cache(
    service: &AuthService,
    reply: Reply,
    session: &Session,
    user: &User,
    remember: bool,
) -> Reply {
    let Some(max_age) = service.config().cookie_cache_max_age else {
        return reply;
    };
    let value = cookie_cache::encode(
        service.config().secret(),
        &wire::session(session),
        &wire::user(service.config(), user),
        service.now(),
        max_age.as_secs(),
    );
    reply.with_session_data(value, remember)
}

/// The cookie cache follows the session cookie: whenever a reply sets a session cookie and did
/// not write the cache itself, the cache is written from the stored session (so a changed user
/// name or active organization reaches the cache as the session cookie is re-sent). A failed
/// lookup leaves the cache out: it is an optimisation, never a reason to fail the request.
pub(crate) async fn attach_cookie_cache(service: &AuthService, reply: Reply) -> Reply {
    if service.config().cookie_cache_max_age.is_none() || reply.sets_session_data() {
        return reply;
    }
    let Some((token, remember)) = reply.session_cookie().map(|(t, r)| (t.to_string(), r)) else {
        return reply;
    };
    match service.session_for_token(&token).await {
        Ok(Some((session, user))) => with_cookie_cache(service, reply, &session, &user, remember),
        Ok(None) => reply,
        Err(error) => {
            tracing::warn!(error = %error, "cookie cache: could not read the new session; not cached");
            reply
        }
    }
}

pub(crate) async fn list_sessions(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let (session, user) = require_session(service, req).await?;
    if !service.is_fresh(&session) {
        return Err(IamError::forbidden(ErrorCode::SessionNotFresh));
    }
    let sessions = service.list_sessions(&user.id).await?;
    Ok(Reply::json(Value::Array(
        sessions.iter().map(wire::session).collect(),
    )))
}

pub(crate) async fn revoke_session(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let token = f.string("token");
    f.finish()?;
    let token = token.unwrap_or_default();
    let (session, user) = require_session(service, req).await?;
    service.revoke_session(&user.id, &token).await?;
    let reply = Reply::json(json!({ "status": true }));
    // Revoking one's own session also clears one's cookies (better-auth ≥ 1.7.x, §11).
    if token == session.token {
        return Ok(reply.expire_session_cookies(&req.names, &req.cookies));
    }
    Ok(reply)
}

pub(crate) async fn revoke_sessions(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let (_, user) = require_session(service, req).await?;
    service.revoke_sessions(&user.id, None).await?;
    Ok(Reply::json(json!({ "status": true })))
}

pub(crate) async fn revoke_other_sessions(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let (session, user) = require_session(service, req).await?;
    service.revoke_sessions(&user.id, Some(&session)).await?;
    Ok(Reply::json(json!({ "status": true })))
}

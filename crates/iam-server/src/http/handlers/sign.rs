//! `POST /sign-up/email`, `POST /sign-in/email` and `POST /sign-out`
//! (`specs/better-auth-api.md` §3.3–3.5).

use axum::http::header;
use serde_json::json;

use super::{check_new_password, check_password_not_too_long, dont_remember, request_token};
use crate::error::{ErrorCode, IamError};
use crate::http::fields::{is_valid_email, Fields};
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::wire;
use crate::http::AuthApi;
use crate::http::Endpoint;
use crate::plugins::last_login_method;
use crate::plugins::two_factor::sign_in::{self, SignInGate};
use crate::plugins::username::UsernameFields;
use crate::services::{AuthService, SignUpInput};
use shared_server::entities::User;

pub(crate) async fn sign_up(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let service = api.service.as_ref();
    let username_on = service.config().plugins.username.enabled;
    let mut f = Fields::body(&req.body);
    let name = f.string("name");
    let email = f.email("email");
    let password = f.nonempty_string("password");
    let image = f.optional_string("image");
    let callback_url = f.optional_string("callbackURL");
    let remember_me = f.optional_bool("rememberMe");
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
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        return Err(IamError::validation("Validation Error"));
    };
    let usernames = if username_on {
        api.plugins
            .username
            .for_sign_up(username, display_username)
            .await?
    } else {
        UsernameFields::default()
    };
    check_new_password(service.config(), &password)?;
    let not_remembered = remember_me == Some(false);
    let signed = service
        .sign_up(
            SignUpInput {
                name,
                email: email.to_lowercase(),
                password,
                image,
                callback_url,
                remember: !not_remembered,
                username: usernames.username,
                display_username: usernames.display_username,
                last_login_method: stored_login_method(service, Endpoint::SignUpEmail),
            },
            &req.client,
        )
        .await?;
    let reply = Reply::json(json!({
        "token": signed.session.token,
        "user": wire::user(service.config(), &signed.user),
    }))
    .with_session_cookie(&signed.session.token, not_remembered);
    Ok(forget_dont_remember(service, req, reply, not_remembered))
}

pub(crate) async fn sign_in(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let service = api.service.as_ref();
    let mut f = Fields::body(&req.body);
    let email = f.string("email");
    let password = f.string("password");
    let callback_url = f.optional_string("callbackURL");
    let remember_me = f.optional_bool("rememberMe");
    f.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(IamError::validation("Validation Error"));
    };
    if !is_valid_email(&email) {
        return Err(IamError::bad_request(ErrorCode::InvalidEmail));
    }
    check_password_not_too_long(service.config(), &password)?;
    let user = service
        .authenticate_email(&email.to_lowercase(), &password)
        .await?;
    let method = stored_login_method(service, Endpoint::SignInEmail);
    finish_sign_in(api, req, user, remember_me, callback_url, method).await
}

/// The method the last-login-method plugin keeps on the user for `endpoint`, when it stores
/// one (PLUGINS.md §3).
fn stored_login_method(service: &AuthService, endpoint: Endpoint) -> Option<String> {
    let config = &service.config().plugins.last_login_method;
    (config.enabled && config.store_in_database)
        .then(|| last_login_method::method_of(&endpoint).map(str::to_string))
        .flatten()
}

/// The end of every password sign-in (email or username): the two-factor plugin may answer
/// `twoFactorRedirect` instead (PLUGINS.md §2); otherwise a new session, its cookie and
/// `{redirect, token, url?, user}` (with `Location` when a callbackURL was given).
pub(crate) async fn finish_sign_in(
    api: &AuthApi,
    req: &AuthRequest,
    user: User,
    remember_me: Option<bool>,
    callback_url: Option<String>,
    login_method: Option<String>,
) -> Result<Reply, IamError> {
    let service = api.service.as_ref();
    let not_remembered = remember_me == Some(false);
    let trust_cookie = match sign_in::gate_sign_in(api, req, &user, not_remembered).await? {
        SignInGate::Open(trust_cookie) => trust_cookie,
        SignInGate::Challenge(reply) => {
            return Ok(forget_dont_remember(service, req, reply, not_remembered))
        }
    };
    let session = service
        .create_session(&user, !not_remembered, &req.client)
        .await?;
    if let Some(method) = login_method {
        service.record_login_method(&user, method).await;
    }
    let mut body = json!({
        "redirect": callback_url.as_deref().is_some_and(|c| !c.is_empty()),
        "token": session.token,
        "user": wire::user(service.config(), &user),
    });
    if let Some(url) = &callback_url {
        body["url"] = json!(url);
    }
    let mut reply = Reply::json(body).with_session_cookie(&session.token, not_remembered);
    if let Some(url) = callback_url.filter(|c| !c.is_empty()) {
        reply = reply.with_header(header::LOCATION, url);
    }
    let reply = SignInGate::apply(trust_cookie, api, req, reply);
    Ok(forget_dont_remember(service, req, reply, not_remembered))
}

/// A remembered sign-in expires a leftover `dont_remember` marker (better-auth ≥ 1.7.x, §11),
/// so later refreshes are not suppressed by an earlier "don't remember me".
fn forget_dont_remember(
    service: &AuthService,
    req: &AuthRequest,
    reply: Reply,
    not_remembered: bool,
) -> Reply {
    if !not_remembered && dont_remember(service, req) {
        reply.expire_cookie(&req.names.dont_remember)
    } else {
        reply
    }
}

pub(crate) async fn sign_out(service: &AuthService, req: &AuthRequest) -> Result<Reply, IamError> {
    if let Some(token) = request_token(service, req) {
        service.delete_session(&token).await?;
    }
    Ok(Reply::json(json!({ "success": true })).expire_session_cookies(&req.names, &req.cookies))
}

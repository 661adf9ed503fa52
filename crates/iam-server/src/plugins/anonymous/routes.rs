//! The anonymous plugin's HTTP endpoints (`POST /sign-in/anonymous`,
//! `POST /delete-anonymous-user`; PLUGINS.md §4) and its link hook, run after sign-ins and
//! sign-ups (`link_after`).

use serde_json::json;

use crate::error::{ErrorCode, IamError};
use crate::http::handlers::{optional_session, require_session};
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::{wire, AuthApi, Endpoint};
use crate::plugins::PluginEndpoint;

/// The plugin's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    SignIn,
    Delete,
}

/// `(POST, path)` → route.
pub fn route(post: bool, path: &str) -> Option<Route> {
    match path {
        "/sign-in/anonymous" if post => Some(Route::SignIn),
        "/delete-anonymous-user" if post => Some(Route::Delete),
        _ => None,
    }
}

pub(crate) async fn handle(
    api: &AuthApi,
    route: Route,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    match route {
        Route::SignIn => sign_in(api, req).await,
        Route::Delete => delete(api, req).await,
    }
}

/// No body → `{token, user}` of a new anonymous user, session cookie set. An anonymous caller
/// → 400 `ANONYMOUS_USERS_CANNOT_SIGN_IN_AGAIN_ANONYMOUSLY`.
async fn sign_in(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    if let Some((_, user)) = optional_session(&api.service, req).await? {
        if user.is_anonymous {
            return Err(IamError::bad_request(
                ErrorCode::AnonymousUsersCannotSignInAgainAnonymously,
            ));
        }
    }
    let signed = api.plugins.anonymous.sign_in(&req.client).await?;
    Ok(Reply::json(json!({
        "token": signed.session.token,
        "user": wire::user(api.service.config(), &signed.user),
    }))
    .with_session_cookie(&signed.session.token, false))
}

/// The anonymous caller is deleted with its sessions; cookies expired → `{success: true}`.
async fn delete(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let (_, user) = require_session(&api.service, req).await?;
    api.plugins.anonymous.delete(&user).await?;
    Ok(Reply::json(json!({ "success": true })).expire_session_cookies(&req.names, &req.cookies))
}

/// The paths after which better-auth links an anonymous user (of those this server has):
/// `/sign-in/*`, `/sign-up/*`, `/verify-email`.
fn links(endpoint: &Endpoint) -> bool {
    use crate::plugins::username::routes::Route as Username;
    matches!(
        endpoint,
        Endpoint::SignInEmail
            | Endpoint::SignUpEmail
            | Endpoint::VerifyEmail
            | Endpoint::Plugin(PluginEndpoint::Username(Username::SignIn))
    )
}

/// The link hook: when a sign-in or sign-up set a new session cookie and the request came
/// from an anonymous user, that user is removed (PLUGINS.md §4). Looks the request's session
/// up before the handler ran (`anonymous`).
pub(crate) async fn link_after(
    api: &AuthApi,
    endpoint: &Endpoint,
    anonymous: Option<&shared_server::entities::User>,
    reply: &Reply,
) {
    let (Some(anonymous), true) = (anonymous, links(endpoint)) else {
        return;
    };
    if let Some((token, _)) = reply.session_cookie() {
        api.plugins.anonymous.link(anonymous, token).await;
    }
}

/// The request's anonymous user, for [`link_after`] (only on the paths that link).
pub(crate) async fn anonymous_caller(
    api: &AuthApi,
    endpoint: &Endpoint,
    req: &AuthRequest,
) -> Option<shared_server::entities::User> {
    if !api.plugins.anonymous.config().enabled || !links(endpoint) {
        return None;
    }
    match optional_session(&api.service, req).await {
        Ok(Some((_, user))) if user.is_anonymous => Some(user),
        _ => None,
    }
}

//! The username plugin's HTTP endpoints: `POST /sign-in/username` and
//! `POST /is-username-available` (better-auth 1.7's `username()` plugin; PLUGINS.md §1). The
//! sign-up and update-user hooks live with those endpoints (`http::handlers::{sign, user}`).

use serde_json::json;

use crate::error::IamError;
use crate::http::fields::Fields;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::{handlers::sign, AuthApi};

/// The plugin's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    SignIn,
    IsAvailable,
}

/// `(POST, path)` → route.
pub fn route(post: bool, path: &str) -> Option<Route> {
    match path {
        "/sign-in/username" if post => Some(Route::SignIn),
        "/is-username-available" if post => Some(Route::IsAvailable),
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
        Route::IsAvailable => is_available(api, req).await,
    }
}

/// `{username, password, rememberMe?, callbackURL?}` → the email sign-in's answer.
async fn sign_in(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let username = f.string("username");
    let password = f.string("password");
    let remember_me = f.optional_bool("rememberMe");
    let callback_url = f.optional_string("callbackURL");
    f.finish()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(IamError::validation("Validation Error"));
    };
    let user = api
        .plugins
        .username
        .authenticate(&username, &password)
        .await?;
    // better-auth's default last-login-method resolver names no method for this path.
    sign::finish_sign_in(api, req, user, remember_me, callback_url, None).await
}

/// `{username}` → `{available}`.
async fn is_available(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let username = f.string("username");
    f.finish()?;
    let Some(username) = username else {
        return Err(IamError::validation("Validation Error"));
    };
    let available = api.plugins.username.is_available(&username).await?;
    Ok(Reply::json(json!({ "available": available })))
}

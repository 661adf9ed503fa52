//! The two-factor plugin's sign-in hook (PLUGINS.md §2.1): a password sign-in of an enrolled
//! user answers `twoFactorRedirect` with a `two_factor` challenge cookie instead of a session,
//! unless a trusted-device cookie vouches for the browser.

use serde_json::json;
use shared_server::entities::User;

use crate::error::IamError;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::AuthApi;
use crate::services::credentials;

/// What the plugin makes of a password sign-in that just succeeded.
pub(crate) enum SignInGate {
    /// Sign the user in; for a trusted device with its renewed `trust_device` cookie value.
    Open(Option<String>),
    /// Answer the challenge instead of a session.
    Challenge(Reply),
}

impl SignInGate {
    /// Adds a renewed trusted-device cookie to an open sign-in's reply.
    pub(crate) fn apply(
        renewed_trust: Option<String>,
        api: &AuthApi,
        req: &AuthRequest,
        reply: Reply,
    ) -> Reply {
        match renewed_trust {
            Some(value) => {
                let max_age = api
                    .plugins
                    .two_factor
                    .config()
                    .trust_device_max_age
                    .as_secs();
                reply.with_signed_cookie(&req.names.trust_device, &value, max_age)
            }
            None => reply,
        }
    }
}

/// better-auth's after-hook on `/sign-in/email` and `/sign-in/username`: users with 2FA on get
/// `{twoFactorRedirect: true, twoFactorMethods}` and a `two_factor` cookie (no session) unless
/// their `trust_device` cookie is valid, which is then renewed.
pub(crate) async fn gate_sign_in(
    api: &AuthApi,
    req: &AuthRequest,
    user: &User,
    not_remembered: bool,
) -> Result<SignInGate, IamError> {
    let two_factor = &api.plugins.two_factor;
    if !two_factor.config().enabled || !user.two_factor_enabled {
        return Ok(SignInGate::Open(None));
    }
    let secret = api.service.config().secret();
    let mut stale_trust = false;
    if let Some(value) = credentials::signed_cookie(&req.cookies, &req.names.trust_device, secret) {
        if let Some(renewed) = two_factor.renew_trusted_device(user, &value).await? {
            return Ok(SignInGate::Open(Some(renewed)));
        }
        stale_trust = true;
    }
    let identifier = two_factor.open_challenge(user).await?;
    let methods = two_factor.methods(user).await?;
    let names = &req.names;
    let mut reply = Reply::json(json!({
        "twoFactorRedirect": true,
        "twoFactorMethods": methods,
    }))
    .expire_cookie(&names.session_token)
    .expire_cookie(&names.session_data)
    .with_signed_cookie(
        &names.two_factor,
        &identifier,
        two_factor.config().cookie_max_age.as_secs(),
    );
    if not_remembered {
        reply = reply.with_dont_remember_marker();
    }
    if stale_trust {
        reply = reply.expire_cookie(&names.trust_device);
    }
    tracing::info!(user.id = %user.id, "sign-in waits for the second factor");
    Ok(SignInGate::Challenge(reply))
}

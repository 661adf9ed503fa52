//! The two-factor plugin's HTTP endpoints (`/two-factor/*`, PLUGINS.md §2.3): the route table
//! and the management endpoints (enable, disable, TOTP URI, new backup codes). The
//! verifications are in `verify.rs`, the sign-in hook in `sign_in.rs`.

use serde_json::json;

use super::verify;
use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::handlers::{dont_remember, require_session};
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::AuthApi;
use crate::services::credentials;

/// The plugin's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Enable,
    Disable,
    GetTotpUri,
    VerifyTotp,
    SendOtp,
    VerifyOtp,
    VerifyBackupCode,
    GenerateBackupCodes,
}

/// `(POST, path)` → route (every endpoint is a POST).
pub fn route(post: bool, path: &str) -> Option<Route> {
    if !post {
        return None;
    }
    Some(match path {
        "/two-factor/enable" => Route::Enable,
        "/two-factor/disable" => Route::Disable,
        "/two-factor/get-totp-uri" => Route::GetTotpUri,
        "/two-factor/verify-totp" => Route::VerifyTotp,
        "/two-factor/send-otp" => Route::SendOtp,
        "/two-factor/verify-otp" => Route::VerifyOtp,
        "/two-factor/verify-backup-code" => Route::VerifyBackupCode,
        "/two-factor/generate-backup-codes" => Route::GenerateBackupCodes,
        _ => return None,
    })
}

pub(crate) async fn handle(
    api: &AuthApi,
    route: Route,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    match route {
        Route::Enable => enable(api, req).await,
        Route::Disable => disable(api, req).await,
        Route::GetTotpUri => get_totp_uri(api, req).await,
        Route::VerifyTotp => verify::verify_totp(api, req).await,
        Route::SendOtp => verify::send_otp(api, req).await,
        Route::VerifyOtp => verify::verify_otp(api, req).await,
        Route::VerifyBackupCode => verify::verify_backup_code(api, req).await,
        Route::GenerateBackupCodes => generate_backup_codes(api, req).await,
    }
}

/// `{password, method?: "totp"|"otp", issuer?}`: `totp` (default) starts an enrolment and
/// answers `{method, totpURI, backupCodes}`; `otp` turns 2FA on at once (`{method}`).
async fn enable(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let two_factor = &api.plugins.two_factor;
    let mut f = Fields::body(&req.body);
    let password = password_field(&mut f, two_factor.config().allow_passwordless);
    let method = f
        .optional_enum("method", &["otp", "totp"])
        .unwrap_or("totp");
    let issuer = f.optional_string("issuer");
    f.finish()?;
    let (session, user) = require_session(&api.service, req).await?;
    two_factor
        .check_password(&user, password.as_deref())
        .await?;
    if method == "otp" {
        if !two_factor.config().otp_enabled {
            return Err(IamError::bad_request(ErrorCode::OtpNotConfigured));
        }
        let (_, session) = two_factor
            .set_enabled_and_rotate(&user, &session, true)
            .await?;
        return Ok(Reply::json(json!({ "method": "otp" }))
            .with_session_cookie(&session.token, dont_remember(&api.service, req)));
    }
    let enrolment = two_factor.enroll_totp(&user).await?;
    let issuer = issuer.unwrap_or_else(|| two_factor.config().issuer.clone());
    let uri = two_factor.totp_uri(&enrolment.secret, &issuer, &user.email);
    let mut reply = Reply::json(json!({
        "method": "totp",
        "totpURI": uri,
        "backupCodes": enrolment.backup_codes,
    }));
    if two_factor.config().skip_verification_on_enable && !user.two_factor_enabled {
        let (_, session) = two_factor
            .set_enabled_and_rotate(&user, &session, true)
            .await?;
        reply = reply.with_session_cookie(&session.token, dont_remember(&api.service, req));
    }
    Ok(reply)
}

/// `{password}`: 2FA off, the enrolment deleted, the session rotated, this browser's trusted
/// device forgotten → `{status: true}`.
async fn disable(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let two_factor = &api.plugins.two_factor;
    let mut f = Fields::body(&req.body);
    let password = password_field(&mut f, two_factor.config().allow_passwordless);
    f.finish()?;
    let (session, user) = require_session(&api.service, req).await?;
    two_factor
        .check_password(&user, password.as_deref())
        .await?;
    let (_, session) = two_factor
        .set_enabled_and_rotate(&user, &session, false)
        .await?;
    let mut reply = Reply::json(json!({ "status": true }))
        .with_session_cookie(&session.token, dont_remember(&api.service, req));
    let secret = api.service.config().secret();
    if let Some(value) = credentials::signed_cookie(&req.cookies, &req.names.trust_device, secret) {
        two_factor.forget_trusted_device(&value).await?;
        reply = reply.expire_cookie(&req.names.trust_device);
    }
    Ok(reply)
}

/// `{password}` → `{totpURI}` of the enrolled secret.
async fn get_totp_uri(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let two_factor = &api.plugins.two_factor;
    let mut f = Fields::body(&req.body);
    let password = password_field(&mut f, two_factor.config().allow_passwordless);
    f.finish()?;
    let (_, user) = require_session(&api.service, req).await?;
    let enrolment = two_factor
        .enrolment(&user)
        .await?
        .ok_or_else(|| IamError::bad_request(ErrorCode::TotpNotEnabled))?;
    two_factor
        .check_password(&user, password.as_deref())
        .await?;
    let secret = two_factor.secret_of(&enrolment)?;
    let uri = two_factor.totp_uri(&secret, &two_factor.config().issuer, &user.email);
    Ok(Reply::json(json!({ "totpURI": uri })))
}

/// `{password}` → `{status: true, backupCodes}`: new codes replace the old ones.
async fn generate_backup_codes(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let two_factor = &api.plugins.two_factor;
    let mut f = Fields::body(&req.body);
    let password = password_field(&mut f, two_factor.config().allow_passwordless);
    f.finish()?;
    let (_, user) = require_session(&api.service, req).await?;
    let not_enabled = || IamError::bad_request(ErrorCode::TwoFactorNotEnabled);
    if !user.two_factor_enabled {
        return Err(not_enabled());
    }
    two_factor
        .check_password(&user, password.as_deref())
        .await?;
    let enrolment = two_factor.enrolment(&user).await?.ok_or_else(not_enabled)?;
    let codes = two_factor.regenerate_backup_codes(&enrolment).await?;
    Ok(Reply::json(json!({ "status": true, "backupCodes": codes })))
}

/// `password`: required (a string) unless passwordless users are allowed.
fn password_field(f: &mut Fields<'_>, allow_passwordless: bool) -> Option<String> {
    if allow_passwordless {
        f.optional_string("password")
    } else {
        f.string("password")
    }
}

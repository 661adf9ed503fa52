//! The two-factor plugin's verifications (PLUGINS.md §2.2–2.3): `verify-totp`, `send-otp`,
//! `verify-otp` and `verify-backup-code`. Each works for two callers, as in better-auth: a
//! signed-in user (enrolment; no attempt budget) and a pending sign-in (the challenge cookie;
//! its attempt budget, the account lockout, and on success a new session).

use axum::http::StatusCode;
use serde_json::json;
use shared_server::entities::User;

use super::service::{Attempt, BackupSpend, OtpCheck, Verifier};
use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::handlers::{dont_remember, optional_session};
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::{wire, AuthApi};
use crate::services::credentials;

fn invalid_cookie() -> IamError {
    IamError::unauthorized(ErrorCode::InvalidTwoFactorCookie)
}

/// The signed-in caller, else the pending sign-in of the `two_factor` cookie, else 401
/// `INVALID_TWO_FACTOR_COOKIE`.
async fn verifier(api: &AuthApi, req: &AuthRequest) -> Result<Verifier, IamError> {
    if let Some((session, user)) = optional_session(&api.service, req).await? {
        return Ok(Verifier::Session {
            session: Box::new(session),
            user,
        });
    }
    let secret = api.service.config().secret();
    let identifier = credentials::signed_cookie(&req.cookies, &req.names.two_factor, secret)
        .ok_or_else(invalid_cookie)?;
    api.plugins
        .two_factor
        .challenge(&identifier)
        .await?
        .ok_or_else(invalid_cookie)
}

/// A verified second factor: a signed-in caller gets `{token, user}` for its session; a
/// pending sign-in is completed — the challenge consumed, a new session and its cookie, the
/// challenge cookie expired, and with `trustDevice` a trusted-device cookie.
async fn verified(
    api: &AuthApi,
    req: &AuthRequest,
    verifier: Verifier,
    trust_device: bool,
) -> Result<Reply, IamError> {
    let config = api.service.config();
    let (identifier, user) = match verifier {
        Verifier::Session { session, user } => {
            return Ok(Reply::json(json!({
                "token": session.token,
                "user": wire::user(config, &user),
            })))
        }
        Verifier::Challenge {
            identifier, user, ..
        } => (identifier, user),
    };
    let two_factor = &api.plugins.two_factor;
    let names = &req.names;
    if !two_factor.consume_challenge(&identifier, &user).await? {
        return Ok(Reply::error(invalid_cookie()).expire_cookie(&names.two_factor));
    }
    let not_remembered = dont_remember(&api.service, req);
    let session = api
        .service
        .create_session(&user, !not_remembered, &req.client)
        .await?;
    tracing::info!(user.id = %user.id, "sign-in completed with the second factor");
    let mut reply = Reply::json(json!({
        "token": session.token,
        "user": wire::user(config, &user),
    }))
    .with_session_cookie(&session.token, not_remembered)
    .expire_cookie(&names.two_factor);
    if trust_device {
        let value = two_factor.trust_device(&user).await?;
        reply = reply
            .with_signed_cookie(
                &names.trust_device,
                &value,
                two_factor.config().trust_device_max_age.as_secs(),
            )
            .expire_cookie(&names.dont_remember);
    }
    Ok(reply)
}

/// Takes an attempt from a pending sign-in's budget: `Ok(Some(failed))` to go on, `Ok(None)`
/// for a signed-in caller, or the reply that ends the attempt.
async fn begin_attempt(
    api: &AuthApi,
    req: &AuthRequest,
    verifier: &Verifier,
) -> Result<Result<Option<u32>, Reply>, IamError> {
    let Verifier::Challenge { identifier, .. } = verifier else {
        return Ok(Ok(None));
    };
    Ok(
        match api.plugins.two_factor.begin_attempt(identifier).await? {
            Attempt::Open { failed } => Ok(Some(failed)),
            Attempt::Exhausted => Err(Reply::error(IamError::bad_request(
                ErrorCode::TooManyAttemptsRequestNewCode,
            ))
            .expire_cookie(&req.names.two_factor)),
            Attempt::Missing => Err(Reply::error(invalid_cookie())),
        },
    )
}

/// Puts a pending sign-in's attempt budget back (`failed` wrong attempts so far).
async fn rearm(api: &AuthApi, verifier: &Verifier, failed: Option<u32>) -> Result<(), IamError> {
    if let (
        Verifier::Challenge {
            identifier,
            expires_at,
            ..
        },
        Some(failed),
    ) = (verifier, failed)
    {
        api.plugins
            .two_factor
            .rearm_attempts(identifier, failed, *expires_at)
            .await?;
    }
    Ok(())
}

/// `{code, trustDevice?}`: a TOTP code. The first correct one confirms the enrolment (and
/// turns 2FA on, rotating the session); during a sign-in it completes it.
pub(super) async fn verify_totp(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let code = f.string("code");
    let trust_device = f.optional_bool("trustDevice").unwrap_or(false);
    f.finish()?;
    let Some(code) = code else {
        return Err(IamError::validation("Validation Error"));
    };
    let verifier = verifier(api, req).await?;
    let two_factor = &api.plugins.two_factor;
    let not_enabled = || IamError::bad_request(ErrorCode::TotpNotEnabled);
    let enrolment = two_factor
        .enrolment(verifier.user())
        .await?
        .ok_or_else(not_enabled)?;
    if verifier.is_sign_in() {
        if !enrolment.verified {
            return Err(not_enabled());
        }
        two_factor.assert_not_locked(&enrolment).await?;
    }
    let failed = match begin_attempt(api, req, &verifier).await? {
        Ok(failed) => failed,
        Err(reply) => return Ok(reply),
    };
    let right = match two_factor.check_totp(&enrolment, &code) {
        Ok(right) => right,
        Err(error) => {
            rearm(api, &verifier, failed).await?;
            return Err(error);
        }
    };
    if !right {
        rearm(api, &verifier, failed.map(|n| n + 1)).await?;
        if verifier.is_sign_in() {
            two_factor.record_failure(&enrolment).await?;
        }
        return Err(IamError::unauthorized(ErrorCode::InvalidCode));
    }
    if verifier.is_sign_in() {
        two_factor.reset_failures(&enrolment).await?;
    }
    if !enrolment.verified {
        two_factor.mark_verified(&enrolment).await?;
        if let Verifier::Session { session, user } = &verifier {
            if !user.two_factor_enabled {
                return turned_on(api, req, user, session).await;
            }
        }
    }
    verified(api, req, verifier, trust_device).await
}

/// 2FA switched on for a signed-in user by their first verified code: the session rotated,
/// `{token, user}` of the new one.
async fn turned_on(
    api: &AuthApi,
    req: &AuthRequest,
    user: &User,
    session: &shared_server::entities::Session,
) -> Result<Reply, IamError> {
    let (user, session) = api
        .plugins
        .two_factor
        .set_enabled_and_rotate(user, session, true)
        .await?;
    Ok(Reply::json(json!({
        "token": session.token,
        "user": wire::user(api.service.config(), &user),
    }))
    .with_session_cookie(&session.token, dont_remember(&api.service, req)))
}

/// `{trustDevice?}` (body optional): emails a code to the signed-in or signing-in user →
/// `{status: true}`.
pub(super) async fn send_otp(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let _trust_device = f.optional_bool("trustDevice");
    f.finish()?;
    let two_factor = &api.plugins.two_factor;
    if !two_factor.config().otp_enabled {
        return Err(IamError::bad_request(ErrorCode::OtpNotConfigured));
    }
    let verifier = verifier(api, req).await?;
    two_factor.send_otp(&verifier).await?;
    Ok(Reply::json(json!({ "status": true })))
}

/// `{code, trustDevice?}`: an emailed code. For a signed-in user without 2FA it turns 2FA on
/// (rotating the session); during a sign-in it completes it.
pub(super) async fn verify_otp(api: &AuthApi, req: &AuthRequest) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let code = f.string("code");
    let trust_device = f.optional_bool("trustDevice").unwrap_or(false);
    f.finish()?;
    let Some(code) = code else {
        return Err(IamError::validation("Validation Error"));
    };
    let verifier = verifier(api, req).await?;
    let two_factor = &api.plugins.two_factor;
    let enrolment = if verifier.is_sign_in() {
        two_factor.enrolment(verifier.user()).await?
    } else {
        None
    };
    if let Some(enrolment) = &enrolment {
        two_factor.assert_not_locked(enrolment).await?;
    }
    match two_factor.check_otp(&verifier, &code).await? {
        OtpCheck::Expired => Err(IamError::bad_request(ErrorCode::OtpHasExpired)),
        OtpCheck::TooManyAttempts => Err(IamError::bad_request(
            ErrorCode::TooManyAttemptsRequestNewCode,
        )),
        OtpCheck::Wrong => {
            if let Some(enrolment) = &enrolment {
                two_factor.record_failure(enrolment).await?;
            }
            Err(IamError::unauthorized(ErrorCode::InvalidCode))
        }
        OtpCheck::Right => {
            if let Some(enrolment) = &enrolment {
                two_factor.reset_failures(enrolment).await?;
            }
            if !verifier.user().two_factor_enabled {
                let Verifier::Session { session, user } = &verifier else {
                    return Err(IamError::bad_request(ErrorCode::FailedToCreateSession));
                };
                return turned_on(api, req, user, session).await;
            }
            verified(api, req, verifier, trust_device).await
        }
    }
}

/// `{code, disableSession?, trustDevice?}`: a backup code, usable once. During a sign-in it
/// completes it (unless `disableSession`).
pub(super) async fn verify_backup_code(
    api: &AuthApi,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let code = f.string("code");
    let disable_session = f.optional_bool("disableSession").unwrap_or(false);
    let trust_device = f.optional_bool("trustDevice").unwrap_or(false);
    f.finish()?;
    let Some(code) = code else {
        return Err(IamError::validation("Validation Error"));
    };
    let verifier = verifier(api, req).await?;
    let two_factor = &api.plugins.two_factor;
    let enrolment = two_factor
        .enrolment(verifier.user())
        .await?
        .ok_or_else(|| IamError::bad_request(ErrorCode::BackupCodesNotEnabled))?;
    if verifier.is_sign_in() {
        two_factor.assert_not_locked(&enrolment).await?;
    }
    let failed = match begin_attempt(api, req, &verifier).await? {
        Ok(failed) => failed,
        Err(reply) => return Ok(reply),
    };
    let spent = match two_factor.spend_backup_code(&enrolment, &code).await {
        Ok(spent) => spent,
        Err(error) => {
            rearm(api, &verifier, failed).await?;
            return Err(error);
        }
    };
    match spent {
        BackupSpend::Wrong => {
            rearm(api, &verifier, failed.map(|n| n + 1)).await?;
            if verifier.is_sign_in() {
                two_factor.record_failure(&enrolment).await?;
            }
            return Err(IamError::unauthorized(ErrorCode::InvalidBackupCode));
        }
        BackupSpend::Raced => {
            rearm(api, &verifier, failed).await?;
            return Err(IamError::message_only(
                StatusCode::CONFLICT,
                "Failed to verify backup code. Please try again.",
            ));
        }
        BackupSpend::Spent => {}
    }
    if verifier.is_sign_in() {
        two_factor.reset_failures(&enrolment).await?;
    }
    if !disable_session {
        return verified(api, req, verifier, trust_device).await;
    }
    // Checked only: no session is made, and a signed-in caller keeps theirs.
    let config = api.service.config();
    Ok(Reply::json(match &verifier {
        Verifier::Session { session, user } => {
            json!({ "token": session.token, "user": wire::user(config, user) })
        }
        Verifier::Challenge { user, .. } => json!({ "user": wire::user(config, user) }),
    }))
}

//! Email flows: `POST /request-password-reset`, `GET /reset-password/:token` (the emailed
//! link), `POST /reset-password`, `POST /send-verification-email` and `GET /verify-email`
//! (`specs/better-auth-api.md` §3.13–3.17).

use std::time::Duration;

use serde_json::{json, Value};

use super::{check_new_password, optional_session};
use crate::error::{ErrorCode, IamError};
use crate::http::fields::Fields;
use crate::http::origin;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::wire;
use crate::services::{AuthService, EmailVerified};

/// Unauthenticated send-verification-email answers take at least this long, so timing does
/// not tell whether the address exists or is verified.
const SEND_VERIFICATION_FLOOR: Duration = Duration::from_millis(500);

pub(crate) async fn request_password_reset(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let email = f.email("email");
    let redirect_to = f.optional_string("redirectTo");
    f.finish()?;
    let email = email.unwrap_or_default().to_lowercase();
    service
        .request_password_reset(&email, redirect_to.as_deref().filter(|r| !r.is_empty()))
        .await?;
    Ok(Reply::json(json!({
        "status": true,
        "message": "If this email exists in our system, check your email for the reset link",
    })))
}

/// `url` with the query parameter `key` set (replacing an existing one), like
/// `URL.searchParams.set`.
fn with_query_param(mut url: url::Url, key: &str, value: &str) -> String {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.set_query(None);
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &kept {
            pairs.append_pair(k, v);
        }
        pairs.append_pair(key, value);
    }
    url.to_string()
}

pub(crate) async fn reset_password_link(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let callback_url = f.string("callbackURL");
    f.finish()?;
    let callback_url = callback_url.unwrap_or_default();
    origin::check_callback(Some(&callback_url), service.config())?;
    let token = req.param.clone().unwrap_or_default();
    let auth_url = service.config().auth_url();
    let target = url::Url::parse(&auth_url)
        .and_then(|base| base.join(&callback_url))
        .map_err(|_| IamError::forbidden(ErrorCode::InvalidCallbackUrl))?;
    let location = if !callback_url.is_empty()
        && !token.is_empty()
        && service.reset_token_is_valid(&token).await?
    {
        with_query_param(target, "token", &token)
    } else {
        with_query_param(target, "error", "INVALID_TOKEN")
    };
    Ok(Reply::redirect(&location))
}

pub(crate) async fn reset_password(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::body(&req.body);
    let new_password = f.string("newPassword");
    let body_token = f.optional_string("token");
    f.finish()?;
    let token = body_token
        .or_else(|| req.query_str("token").map(str::to_string))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| IamError::bad_request(ErrorCode::InvalidToken))?;
    let new_password = new_password.unwrap_or_default();
    check_new_password(service.config(), &new_password)?;
    service.reset_password(&token, &new_password).await?;
    Ok(Reply::json(json!({ "status": true })))
}

pub(crate) async fn send_verification_email(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let started = tokio::time::Instant::now();
    let mut f = Fields::body(&req.body);
    let email = f.email("email");
    let callback_url = f.optional_string("callbackURL");
    f.finish()?;
    let email = email.unwrap_or_default().to_lowercase();
    let callback_url = callback_url.filter(|c| !c.is_empty());
    match optional_session(service, req).await? {
        Some((_, user)) => {
            if user.email != email {
                return Err(IamError::bad_request(ErrorCode::EmailMismatch));
            }
            if user.email_verified {
                return Err(IamError::bad_request(ErrorCode::EmailAlreadyVerified));
            }
            service
                .send_verification_email(&user, callback_url.as_deref())
                .await?;
        }
        None => {
            let user = service
                .repos()
                .users
                .find_by_email(service.db(), &email)
                .await?;
            if let Some(user) = user.filter(|u| !u.email_verified) {
                service
                    .send_verification_email(&user, callback_url.as_deref())
                    .await?;
            }
            tokio::time::sleep_until(started + SEND_VERIFICATION_FLOOR).await;
        }
    }
    Ok(Reply::json(json!({ "status": true })))
}

/// `<callbackURL>?error=<CODE>` (`&` when it already has a query).
fn error_redirect(callback_url: &str, code: ErrorCode) -> Reply {
    let separator = if callback_url.contains('?') { '&' } else { '?' };
    Reply::redirect(&format!("{callback_url}{separator}error={}", code.as_str()))
}

pub(crate) async fn verify_email(
    service: &AuthService,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    let mut f = Fields::query(&req.query);
    let token = f.string("token");
    let callback_url = f.optional_string("callbackURL");
    f.finish()?;
    let token = token.unwrap_or_default();
    let callback_url = callback_url.filter(|c| !c.is_empty());
    origin::check_callback(callback_url.as_deref(), service.config())?;
    let session = optional_session(service, req).await?;
    let outcome = service
        .verify_email(&token, session.as_ref().map(|(s, u)| (s, u)))
        .await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            return match (&callback_url, error.code()) {
                (
                    Some(url),
                    Some(
                        code @ (ErrorCode::InvalidToken
                        | ErrorCode::TokenExpired
                        | ErrorCode::UserNotFound
                        | ErrorCode::InvalidUser),
                    ),
                ) => Ok(error_redirect(url, code)),
                _ => Err(error),
            }
        }
    };
    let (body, cookie) = match outcome {
        EmailVerified::Verified => (json!({ "status": true, "user": Value::Null }), None),
        EmailVerified::ConfirmationSent => (json!({ "status": true }), None),
        EmailVerified::EmailChanged(change) => (
            json!({ "status": true, "user": wire::user(service.config(), &change.user) }),
            change.session.map(|s| s.token),
        ),
    };
    let mut reply = match &callback_url {
        Some(url) => Reply::redirect(url),
        None => Reply::json(body),
    };
    if let Some(token) = cookie {
        reply = reply.with_session_cookie(&token, super::dont_remember(service, req));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_set_like_search_params() {
        let url = url::Url::parse("http://h/reset?x=1&token=old").expect("url");
        assert_eq!(
            with_query_param(url, "token", "new"),
            "http://h/reset?x=1&token=new"
        );
        let url = url::Url::parse("http://h/reset").expect("url");
        assert_eq!(
            with_query_param(url, "error", "INVALID_TOKEN"),
            "http://h/reset?error=INVALID_TOKEN"
        );
    }
}

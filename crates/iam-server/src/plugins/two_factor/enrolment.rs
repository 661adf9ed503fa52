//! The two-factor plugin's enrolment (PLUGINS.md §2.3, §2.5): the password rule, a TOTP
//! secret and backup codes stored encrypted, its confirmation, the session rotation when 2FA is
//! switched on or off, TOTP URIs and codes, and the account lockout.

use shared_server::entities::{NewSession, Session, User, UserPatch};
use shared_server::RepoError;
use totp_rs::{Algorithm, TOTP};

use super::entities::{NewTwoFactor, TwoFactor, TwoFactorPatch};
use super::service::{internal, Enrolment, TwoFactorService, RANDOM_ALPHABET, SOURCE};
use crate::error::{ErrorCode, IamError};
use crate::services::emails::encode_uri_component;
use crate::services::tokens::{self, random_string};

impl TwoFactorService {
    // -----------------------------------------------------------------------------------------
    // Enrolment
    // -----------------------------------------------------------------------------------------

    pub async fn enrolment(&self, user: &User) -> Result<Option<TwoFactor>, IamError> {
        Ok(self.repo.find_by_user(self.auth.db(), &user.id).await?)
    }

    /// better-auth's password rule for enable/disable/URI/backup codes: required unless
    /// passwordless users are allowed and this user has none; missing or wrong → 400
    /// `INVALID_PASSWORD` (too long → 400 `PASSWORD_TOO_LONG`).
    pub async fn check_password(
        &self,
        user: &User,
        password: Option<&str>,
    ) -> Result<(), IamError> {
        if self.config().allow_passwordless && !self.auth.has_password(&user.id).await? {
            return Ok(());
        }
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(IamError::bad_request(ErrorCode::InvalidPassword));
        };
        crate::http::check_password_not_too_long(self.auth.config(), password)?;
        match self.auth.verify_password(&user.id, password).await {
            Err(error) if error.code() == Some(ErrorCode::CredentialAccountNotFound) => {
                Err(IamError::bad_request(ErrorCode::InvalidPassword))
            }
            other => other,
        }
    }

    /// Starts (or restarts) a TOTP enrolment: a new secret and new backup codes, stored
    /// encrypted; `verified` only when verification on enable is skipped. A confirmed
    /// enrolment → 400 `TOTP_ALREADY_ENABLED`.
    pub async fn enroll_totp(&self, user: &User) -> Result<Enrolment, IamError> {
        let existing = self.enrolment(user).await?;
        if existing.as_ref().is_some_and(|e| e.verified) {
            return Err(IamError::bad_request(ErrorCode::TotpAlreadyEnabled));
        }
        let secret = random_string(32, RANDOM_ALPHABET)?;
        let backup_codes = self.new_backup_codes()?;
        let encrypted_secret = self.secrets().encrypt(&secret)?;
        let encrypted_codes = self.encode_backup_codes(&backup_codes)?;
        let verified = self.config().skip_verification_on_enable;
        match existing {
            Some(existing) => {
                self.repo
                    .update(
                        self.auth.db(),
                        &existing.id,
                        existing.audit.version,
                        TwoFactorPatch {
                            secret: Some(encrypted_secret),
                            backup_codes: Some(encrypted_codes),
                            verified: Some(verified),
                        },
                        user.id.as_str(),
                    )
                    .await?;
            }
            None => {
                let new = NewTwoFactor {
                    user_id: user.id.clone(),
                    secret: encrypted_secret,
                    backup_codes: encrypted_codes,
                    verified,
                };
                match self
                    .repo
                    .insert(self.auth.db(), new, user.id.as_str())
                    .await
                {
                    Ok(_) => {}
                    // A concurrent enable of the same user won the insert.
                    Err(RepoError::Conflict { .. }) => {
                        return Err(IamError::bad_request(ErrorCode::TotpAlreadyEnabled))
                    }
                    Err(other) => return Err(other.into()),
                }
            }
        }
        Ok(Enrolment {
            secret,
            backup_codes,
        })
    }

    /// Marks the TOTP secret as confirmed.
    pub async fn mark_verified(&self, enrolment: &TwoFactor) -> Result<(), IamError> {
        match self
            .repo
            .update(
                self.auth.db(),
                &enrolment.id,
                enrolment.audit.version,
                TwoFactorPatch {
                    verified: Some(true),
                    ..TwoFactorPatch::default()
                },
                enrolment.user_id.as_str(),
            )
            .await
        {
            // Someone else changed the row meanwhile (a concurrent verification): fine.
            Ok(_) | Err(RepoError::VersionConflict { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    /// Switches 2FA on or off for the user and replaces `session` by a new one carrying the
    /// same client details and active organization (better-auth rotates the session when the
    /// user's 2FA state changes), all in one transaction. Returns the user and new session.
    pub async fn set_enabled_and_rotate(
        &self,
        user: &User,
        session: &Session,
        enabled: bool,
    ) -> Result<(User, Session), IamError> {
        let token = tokens::new_session_token()?;
        let expires_at = self.now().plus(self.auth.config().session_expires_in);
        let this = self.clone();
        let (user_id, old) = (user.id.clone(), session.clone());
        let result = self
            .auth
            .db()
            .transaction(move |tx| {
                let (this, user_id, old, token) =
                    (this.clone(), user_id.clone(), old.clone(), token.clone());
                Box::pin(async move {
                    let repos = this.auth.repos();
                    let current = repos.users.find_by_id(&mut *tx, &user_id).await?.ok_or(
                        RepoError::NotFound {
                            entity: "User",
                            id: user_id.to_string(),
                        },
                    )?;
                    let user = repos
                        .users
                        .update(
                            &mut *tx,
                            &user_id,
                            current.audit.version,
                            UserPatch {
                                two_factor_enabled: Some(enabled),
                                ..UserPatch::default()
                            },
                            user_id.as_str(),
                        )
                        .await?;
                    if !enabled {
                        this.repo.delete_by_user(&mut *tx, &user_id).await?;
                    }
                    let new = NewSession {
                        ip_address: old.ip_address.clone(),
                        user_agent: old.user_agent.clone(),
                        impersonated_by: old.impersonated_by.clone(),
                        active_organization_id: old.active_organization_id.clone(),
                        active_team_id: old.active_team_id.clone(),
                        source: Some(SOURCE.to_string()),
                        ..NewSession::new(token, user_id.clone(), expires_at)
                    };
                    let session = repos
                        .sessions
                        .insert(&mut *tx, new, user_id.as_str())
                        .await?;
                    repos.sessions.delete_by_token(&mut *tx, &old.token).await?;
                    Ok((user, session))
                })
            })
            .await;
        match result {
            Ok(done) => {
                tracing::info!(user.id = %user.id, enabled, "two-factor state changed");
                Ok(done)
            }
            Err(RepoError::NotFound { .. }) => Err(IamError::bad_request(ErrorCode::UserNotFound)),
            Err(other) => Err(other.into()),
        }
    }

    /// The `otpauth://` URI of a secret (better-auth's `createOTP(...).url(issuer, email)`).
    pub fn totp_uri(&self, secret: &str, issuer: &str, account: &str) -> String {
        let config = self.config();
        let params: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("secret", &base32_of(secret))
            .append_pair("issuer", issuer)
            .append_pair("digits", &config.totp_digits.to_string())
            .append_pair("period", &config.totp_period.as_secs().to_string())
            .finish();
        format!(
            "otpauth://totp/{}:{}?{params}",
            encode_uri_component(issuer),
            encode_uri_component(account)
        )
    }

    /// The enrolment's TOTP secret in clear.
    pub fn secret_of(&self, enrolment: &TwoFactor) -> Result<String, IamError> {
        self.secrets().decrypt(&enrolment.secret).map_err(|e| {
            tracing::error!(user.id = %enrolment.user_id, error = %e, "two-factor secret unreadable");
            internal(e)
        })
    }

    /// Whether `code` is the TOTP of the enrolment's secret now (one step either side).
    pub fn check_totp(&self, enrolment: &TwoFactor, code: &str) -> Result<bool, IamError> {
        let secret = self.secret_of(enrolment)?;
        let config = self.config();
        let totp = TOTP::new_unchecked(
            Algorithm::SHA1,
            config.totp_digits as usize,
            1,
            config.totp_period.as_secs(),
            secret.into_bytes(),
        );
        let now = u64::try_from(self.now().unix_millis() / 1000).unwrap_or(0);
        Ok(totp.check(code, now))
    }

    // -----------------------------------------------------------------------------------------
    // The account lockout
    // -----------------------------------------------------------------------------------------

    /// 429 `ACCOUNT_TEMPORARILY_LOCKED` while a lock lasts; a lock that ran out is cleared.
    pub async fn assert_not_locked(&self, enrolment: &TwoFactor) -> Result<(), IamError> {
        if self.config().lockout.is_none() {
            return Ok(());
        }
        let Some(until) = enrolment.locked_until else {
            return Ok(());
        };
        if until > self.now() {
            return Err(IamError::api(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::AccountTemporarilyLocked,
            ));
        }
        self.repo
            .clear_expired_lock(self.auth.db(), &enrolment.id, self.now())
            .await?;
        Ok(())
    }

    /// Counts a failed sign-in verification toward the lockout.
    pub async fn record_failure(&self, enrolment: &TwoFactor) -> Result<(), IamError> {
        if let Some((max, duration)) = self.config().lockout {
            let now = self.now();
            let count = self
                .repo
                .record_failure(self.auth.db(), &enrolment.id, max, now.plus(duration), now)
                .await?;
            if count >= i32::try_from(max).unwrap_or(i32::MAX) {
                tracing::warn!(user.id = %enrolment.user_id, "two-factor locked after failed attempts");
            }
        }
        Ok(())
    }

    /// Clears the lockout's count after a success.
    pub async fn reset_failures(&self, enrolment: &TwoFactor) -> Result<(), IamError> {
        if self.config().lockout.is_some() {
            self.repo
                .reset_failures(self.auth.db(), &enrolment.id, self.now())
                .await?;
        }
        Ok(())
    }
}

/// RFC 4648 base32 without padding of the secret's UTF-8 bytes (what authenticator apps read).
fn base32_of(secret: &str) -> String {
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, secret.as_bytes().to_vec()).get_secret_base32()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32_of("foobar"), "MZXW6YTBOI");
        assert_eq!(base32_of("f"), "MY");
    }
}

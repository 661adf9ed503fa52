//! The two-factor plugin's operations (PLUGINS.md §2): enrolment (TOTP secret and backup
//! codes, encrypted at rest as better-auth does), the sign-in challenge and its attempt budget,
//! trusted devices, emailed one-time codes, backup-code spending, the account lockout, and
//! the session rotation better-auth performs whenever 2FA is switched on or off.
//!
//! One-time values live in `iam_verification` under better-auth's identifiers:
//! `2fa-<id>` (a pending sign-in → user id), `2fa-attempts-<id>` (its failed attempts),
//! `2fa-otp-<key>` (`<code>:<failed attempts>`), `trust-device-<id>` (a trusted device → user
//! id); identifiers are hashed when `IAM_VERIFICATION_IDENTIFIERS=hashed`.

use shared_server::entities::{NewSession, Session, User, UserPatch};
use shared_server::mail::OutgoingEmail;
use shared_server::{RepoError, Timestamp};
use totp_rs::{Algorithm, TOTP};

use super::config::{OtpStorage, TwoFactorConfig};
use super::entities::{NewTwoFactor, TwoFactor, TwoFactorPatch};
use super::repo::TwoFactorRepo;
use crate::entities::NewVerification;
use crate::error::{ErrorCode, IamError};
use crate::services::emails::encode_uri_component;
use crate::services::symmetric::SecretConfig;
use crate::services::tokens::{self, random_string};
use crate::services::AuthService;

/// better-auth's `generateRandomString` alphabet (URL-safe base64 characters).
const RANDOM_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
const BACKUP_CODE_ALPHABET: &[u8] =
    b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
/// `source` of sessions the plugin creates.
const SOURCE: &str = "api";

/// Who is presenting a second factor.
#[derive(Debug, Clone)]
pub enum Verifier {
    /// A signed-in user (enrolment and management): no challenge, no attempt budget.
    Session { session: Box<Session>, user: User },
    /// A sign-in waiting for its second factor (the `two_factor` cookie's identifier).
    Challenge {
        identifier: String,
        user: User,
        expires_at: Timestamp,
    },
}

impl Verifier {
    pub fn user(&self) -> &User {
        match self {
            Verifier::Session { user, .. } | Verifier::Challenge { user, .. } => user,
        }
    }

    /// Whether this completes a sign-in (attempt budgets and the lockout apply).
    pub fn is_sign_in(&self) -> bool {
        matches!(self, Verifier::Challenge { .. })
    }

    /// better-auth's key of emailed codes: the challenge, or `<user id>!<session id>`.
    pub fn key(&self) -> String {
        match self {
            Verifier::Session { session, user } => format!("{}!{}", user.id, session.id),
            Verifier::Challenge { identifier, .. } => identifier.clone(),
        }
    }
}

/// How a sign-in challenge's attempt budget stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// `failed` wrong codes so far; one more may be tried.
    Open { failed: u32 },
    /// The budget is spent: the challenge is gone, a new sign-in is needed.
    Exhausted,
    /// No budget row: the challenge is unknown or expired.
    Missing,
}

/// What checking an emailed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpCheck {
    Right,
    Wrong,
    /// None pending (never sent, used, or expired).
    Expired,
    TooManyAttempts,
}

/// What spending a backup code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupSpend {
    Spent,
    Wrong,
    /// Another request changed the codes meanwhile.
    Raced,
}

/// A new enrolment's secrets, shown once.
#[derive(Clone)]
pub struct Enrolment {
    pub secret: String,
    pub backup_codes: Vec<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(***)")
    }
}

/// The plugin's operations (cheap to clone).
#[derive(Debug, Clone)]
pub struct TwoFactorService {
    auth: AuthService,
    repo: TwoFactorRepo,
}

fn internal(error: impl std::fmt::Display) -> IamError {
    IamError::internal(error.to_string())
}

impl TwoFactorService {
    pub fn new(auth: AuthService, repo: TwoFactorRepo) -> Self {
        Self { auth, repo }
    }

    pub fn config(&self) -> &TwoFactorConfig {
        &self.auth.config().plugins.two_factor
    }

    pub fn auth(&self) -> &AuthService {
        &self.auth
    }

    fn secrets(&self) -> &SecretConfig {
        self.auth.config().secret_config()
    }

    fn now(&self) -> Timestamp {
        self.auth.now()
    }

    // -----------------------------------------------------------------------------------------
    // One-time values
    // -----------------------------------------------------------------------------------------

    async fn store_value(
        &self,
        identifier: &str,
        value: String,
        expires_at: Timestamp,
    ) -> Result<(), IamError> {
        let new = NewVerification {
            identifier: self.auth.stored_identifier(identifier),
            value,
            expires_at,
        };
        self.auth
            .repos()
            .verifications
            .insert(self.auth.db(), new, "app")
            .await?;
        Ok(())
    }

    async fn consume_value(
        &self,
        identifier: &str,
    ) -> Result<Option<crate::entities::Verification>, IamError> {
        Ok(self
            .auth
            .repos()
            .verifications
            .consume(
                self.auth.db(),
                &self.auth.stored_identifier(identifier),
                self.now(),
            )
            .await?)
    }

    async fn find_value(
        &self,
        identifier: &str,
    ) -> Result<Option<crate::entities::Verification>, IamError> {
        Ok(self
            .auth
            .repos()
            .verifications
            .find_valid(
                self.auth.db(),
                &self.auth.stored_identifier(identifier),
                None,
                self.now(),
            )
            .await?)
    }

    async fn delete_value(&self, identifier: &str) -> Result<(), IamError> {
        self.auth
            .repos()
            .verifications
            .delete_by_identifier(self.auth.db(), &self.auth.stored_identifier(identifier))
            .await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // The sign-in challenge
    // -----------------------------------------------------------------------------------------

    /// Opens a challenge for `user`'s sign-in: `2fa-<id>` and its attempt budget, both valid
    /// for the cookie's max age. Returns the identifier (the `two_factor` cookie's value).
    pub async fn open_challenge(&self, user: &User) -> Result<String, IamError> {
        let identifier = format!("2fa-{}", random_string(20, RANDOM_ALPHABET)?);
        let expires_at = self.now().plus(self.config().cookie_max_age);
        self.store_value(&identifier, user.id.to_string(), expires_at)
            .await?;
        self.store_value(&attempts_identifier(&identifier), "0".into(), expires_at)
            .await?;
        Ok(identifier)
    }

    /// The user of a pending challenge, if it is still open.
    pub async fn challenge(&self, identifier: &str) -> Result<Option<Verifier>, IamError> {
        let Some(row) = self.find_value(identifier).await? else {
            return Ok(None);
        };
        let Ok(user_id) = row.value.parse() else {
            return Ok(None);
        };
        let user = self
            .auth
            .repos()
            .users
            .find_by_id(self.auth.db(), &user_id)
            .await?;
        Ok(user.map(|user| Verifier::Challenge {
            identifier: identifier.to_string(),
            user,
            expires_at: row.expires_at,
        }))
    }

    /// Takes one attempt from the challenge's budget (better-auth's `beginAttempt`). With the
    /// budget spent the challenge itself is consumed.
    pub async fn begin_attempt(&self, identifier: &str) -> Result<Attempt, IamError> {
        let Some(row) = self.consume_value(&attempts_identifier(identifier)).await? else {
            return Ok(Attempt::Missing);
        };
        let allowed = self.config().allowed_attempts;
        let failed = row.value.parse::<u32>().unwrap_or(allowed);
        if failed >= allowed {
            self.consume_value(identifier).await?;
            return Ok(Attempt::Exhausted);
        }
        Ok(Attempt::Open { failed })
    }

    /// Puts the attempt budget back with `failed` wrong attempts.
    pub async fn rearm_attempts(
        &self,
        identifier: &str,
        failed: u32,
        expires_at: Timestamp,
    ) -> Result<(), IamError> {
        if expires_at <= self.now() {
            return Ok(());
        }
        self.store_value(
            &attempts_identifier(identifier),
            failed.to_string(),
            expires_at,
        )
        .await
    }

    /// Consumes the challenge for `user`: false if it was gone (used concurrently or expired).
    pub async fn consume_challenge(&self, identifier: &str, user: &User) -> Result<bool, IamError> {
        let consumed = self.consume_value(identifier).await?;
        self.delete_value(&attempts_identifier(identifier)).await?;
        Ok(consumed.is_some_and(|row| row.value == user.id.as_str()))
    }

    /// The methods a challenged user may use: `totp` with a confirmed secret, `otp` when
    /// emailed codes are on.
    pub async fn methods(&self, user: &User) -> Result<Vec<&'static str>, IamError> {
        let mut methods = Vec::new();
        if self
            .enrolment(user)
            .await?
            .is_some_and(|enrolment| enrolment.verified)
        {
            methods.push("totp");
        }
        if self.config().otp_enabled {
            methods.push("otp");
        }
        Ok(methods)
    }

    // -----------------------------------------------------------------------------------------
    // Trusted devices
    // -----------------------------------------------------------------------------------------

    /// A new trusted device for `user`: the `trust_device` cookie's value
    /// (`<HMAC(user!identifier)>!<identifier>`).
    pub async fn trust_device(&self, user: &User) -> Result<String, IamError> {
        let identifier = format!("trust-device-{}", random_string(32, RANDOM_ALPHABET)?);
        let expires_at = self.now().plus(self.config().trust_device_max_age);
        self.store_value(&identifier, user.id.to_string(), expires_at)
            .await?;
        Ok(self.trust_cookie_value(user, &identifier))
    }

    fn trust_cookie_value(&self, user: &User, identifier: &str) -> String {
        let mac = tokens::hmac_base64url(
            self.auth.config().secret(),
            &format!("{}!{identifier}", user.id),
        );
        format!("{mac}!{identifier}")
    }

    /// Checks a `trust_device` cookie value for `user` and, if it is good, replaces the
    /// device's record (better-auth renews it at each sign-in). Returns the new cookie value.
    pub async fn renew_trusted_device(
        &self,
        user: &User,
        cookie: &str,
    ) -> Result<Option<String>, IamError> {
        let Some((mac, identifier)) = cookie.split_once('!') else {
            return Ok(None);
        };
        let signed_for_user = tokens::verify_hmac_base64url(
            self.auth.config().secret(),
            &format!("{}!{identifier}", user.id),
            mac,
        );
        if !signed_for_user || !identifier.starts_with("trust-device-") {
            return Ok(None);
        }
        match self.find_value(identifier).await? {
            Some(row) if row.value == user.id.as_str() => {
                self.delete_value(identifier).await?;
                Ok(Some(self.trust_device(user).await?))
            }
            _ => Ok(None),
        }
    }

    /// Forgets the trusted device named in a `trust_device` cookie value.
    pub async fn forget_trusted_device(&self, cookie: &str) -> Result<(), IamError> {
        if let Some((_, identifier)) = cookie.split_once('!') {
            if identifier.starts_with("trust-device-") {
                self.delete_value(identifier).await?;
            }
        }
        Ok(())
    }

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

    // -----------------------------------------------------------------------------------------
    // Backup codes
    // -----------------------------------------------------------------------------------------

    fn new_backup_codes(&self) -> Result<Vec<String>, IamError> {
        let config = self.config();
        (0..config.backup_code_amount)
            .map(|_| {
                let code = random_string(config.backup_code_length, BACKUP_CODE_ALPHABET)?;
                Ok(format!("{}-{}", &code[..5], &code[5..]))
            })
            .collect()
    }

    fn encode_backup_codes(&self, codes: &[String]) -> Result<String, IamError> {
        let json = serde_json::to_string(codes).map_err(internal)?;
        self.secrets().encrypt(&json)
    }

    fn backup_codes_of(&self, enrolment: &TwoFactor) -> Result<Vec<String>, IamError> {
        let json = self.secrets().decrypt(&enrolment.backup_codes).map_err(|e| {
            tracing::error!(user.id = %enrolment.user_id, error = %e, "backup codes unreadable");
            internal(e)
        })?;
        Ok(serde_json::from_str(&json).unwrap_or_default())
    }

    /// Spends `code` if it is one of the unused backup codes (at most once, even under
    /// concurrent requests).
    pub async fn spend_backup_code(
        &self,
        enrolment: &TwoFactor,
        code: &str,
    ) -> Result<BackupSpend, IamError> {
        let codes = self.backup_codes_of(enrolment)?;
        if !codes.iter().any(|c| c == code) {
            return Ok(BackupSpend::Wrong);
        }
        let remaining: Vec<String> = codes.into_iter().filter(|c| c != code).collect();
        let replacement = self.encode_backup_codes(&remaining)?;
        let swapped = self
            .repo
            .swap_backup_codes(
                self.auth.db(),
                &enrolment.id,
                &enrolment.backup_codes,
                &replacement,
                self.now(),
            )
            .await?;
        Ok(if swapped {
            BackupSpend::Spent
        } else {
            BackupSpend::Raced
        })
    }

    /// Replaces the backup codes with new ones; returns them (shown once).
    pub async fn regenerate_backup_codes(
        &self,
        enrolment: &TwoFactor,
    ) -> Result<Vec<String>, IamError> {
        let codes = self.new_backup_codes()?;
        let encoded = self.encode_backup_codes(&codes)?;
        let swapped = self
            .repo
            .swap_backup_codes(
                self.auth.db(),
                &enrolment.id,
                &enrolment.backup_codes,
                &encoded,
                self.now(),
            )
            .await?;
        if !swapped {
            return Err(IamError::message_only(
                axum::http::StatusCode::CONFLICT,
                "Failed to generate backup codes. Please try again.",
            ));
        }
        Ok(codes)
    }

    // -----------------------------------------------------------------------------------------
    // Emailed codes
    // -----------------------------------------------------------------------------------------

    /// Emails a new code to the user and keeps it under `2fa-otp-<key>` (stored per
    /// `IAM_TWO_FACTOR_OTP_STORAGE`) with no failed attempts.
    pub async fn send_otp(&self, verifier: &Verifier) -> Result<(), IamError> {
        let config = self.config();
        let code = random_string(config.otp_digits, DIGITS)?;
        let stored = self.store_otp(&code)?;
        let expires_at = self.now().plus(config.otp_expires_in);
        self.store_value(
            &otp_identifier(&verifier.key()),
            format!("{stored}:0"),
            expires_at,
        )
        .await?;
        let user = verifier.user();
        let email = OutgoingEmail::builder()
            .template(
                "two-factor-otp",
                serde_json::json!({ "userName": user.name, "otp": code }),
            )
            .to(user.email.as_str())
            .user(user.id.clone())
            .build()?;
        self.auth
            .mailer()
            .send(self.auth.db().into(), email)
            .await?;
        Ok(())
    }

    fn store_otp(&self, code: &str) -> Result<String, IamError> {
        Ok(match self.config().otp_storage {
            OtpStorage::Plain => code.to_string(),
            OtpStorage::Hashed => tokens::sha256_base64url(code),
            OtpStorage::Encrypted => self.secrets().encrypt(code)?,
        })
    }

    fn otp_matches(&self, stored: &str, code: &str) -> bool {
        use subtle::ConstantTimeEq;
        let (expected, given) = match self.config().otp_storage {
            OtpStorage::Plain => (stored.to_string(), code.to_string()),
            OtpStorage::Hashed => (stored.to_string(), tokens::sha256_base64url(code)),
            OtpStorage::Encrypted => match self.secrets().decrypt(stored) {
                Ok(plain) => (plain, code.to_string()),
                Err(_) => return false,
            },
        };
        expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }

    /// Checks an emailed code. A wrong one counts against the code's attempts (the code stays
    /// pending with the same expiry); a right one is used up.
    pub async fn check_otp(&self, verifier: &Verifier, code: &str) -> Result<OtpCheck, IamError> {
        let identifier = otp_identifier(&verifier.key());
        let Some(row) = self.consume_value(&identifier).await? else {
            return Ok(OtpCheck::Expired);
        };
        let (stored, failed) = row
            .value
            .rsplit_once(':')
            .unwrap_or((row.value.as_str(), "0"));
        let failed = failed.parse::<u32>().unwrap_or(0);
        if failed >= self.config().allowed_attempts {
            return Ok(OtpCheck::TooManyAttempts);
        }
        if self.otp_matches(stored, code) {
            return Ok(OtpCheck::Right);
        }
        if row.expires_at > self.now() {
            self.store_value(
                &identifier,
                format!("{stored}:{}", failed + 1),
                row.expires_at,
            )
            .await?;
        }
        Ok(OtpCheck::Wrong)
    }
}

fn attempts_identifier(challenge: &str) -> String {
    format!("2fa-attempts-{challenge}")
}

fn otp_identifier(key: &str) -> String {
    format!("2fa-otp-{key}")
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

//! The two-factor plugin's operations (PLUGINS.md §2), in three files: here the service itself,
//! the one-time values it keeps, the sign-in challenge and its attempt budget, and trusted
//! devices; `enrolment.rs` the TOTP enrolment, the session rotation when 2FA is switched on or
//! off, and the account lockout; `codes.rs` backup codes and emailed codes.
//!
//! One-time values live in `iam_verification` under better-auth's identifiers:
//! `2fa-<id>` (a pending sign-in → user id), `2fa-attempts-<id>` (its failed attempts),
//! `2fa-otp-<key>` (`<code>:<failed attempts>`), `trust-device-<id>` (a trusted device → user
//! id); identifiers are hashed when `IAM_VERIFICATION_IDENTIFIERS=hashed`.

use shared_server::entities::{Session, User};
use shared_server::Timestamp;

use super::config::TwoFactorConfig;
use super::repo::TwoFactorRepo;
use crate::entities::NewVerification;
use crate::error::IamError;
use crate::services::symmetric::SecretConfig;
use crate::services::tokens::{self, random_string};
use crate::services::AuthService;

/// better-auth's `generateRandomString` alphabet (URL-safe base64 characters).
pub(super) const RANDOM_ALPHABET: &[u8] =
    b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
pub(super) const BACKUP_CODE_ALPHABET: &[u8] =
    b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub(super) const DIGITS: &[u8] = b"0123456789";
/// `source` of sessions the plugin creates.
pub(super) const SOURCE: &str = "api";

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
    pub(super) auth: AuthService,
    pub(super) repo: TwoFactorRepo,
}

pub(super) fn internal(error: impl std::fmt::Display) -> IamError {
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

    pub(super) fn secrets(&self) -> &SecretConfig {
        self.auth.config().secret_config()
    }

    pub(super) fn now(&self) -> Timestamp {
        self.auth.now()
    }

    // -----------------------------------------------------------------------------------------
    // One-time values
    // -----------------------------------------------------------------------------------------

    pub(super) async fn store_value(
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

    pub(super) async fn consume_value(
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

    pub(super) async fn find_value(
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

    pub(super) async fn delete_value(&self, identifier: &str) -> Result<(), IamError> {
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
}

fn attempts_identifier(challenge: &str) -> String {
    format!("2fa-attempts-{challenge}")
}

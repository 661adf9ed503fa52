//! The two-factor plugin's settings (`IAM_TWO_FACTOR_*`) over better-auth's defaults: TOTP of 6
//! digits per 30 s, email OTPs of 6 digits valid 3 minutes, 5 attempts per challenge or code,
//! 10 backup codes of 10 characters, a 10-minute sign-in challenge, a 30-day trusted device,
//! and the account lockout after 10 consecutive failures for 15 minutes. A README row per
//! variable.

use std::time::Duration;

use shared_server::config::Vars;

use crate::config::IamConfigError;

/// The variables `(name, default, meaning)`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("IAM_TWO_FACTOR_ENABLED", "true", "the two-factor plugin: `/two-factor/*`, and sign-ins of enrolled users answer `twoFactorRedirect`"),
    ("IAM_TWO_FACTOR_ISSUER", "APP_NAME, else `Better Auth`", "issuer named in TOTP URIs (what authenticator apps show)"),
    ("IAM_TWO_FACTOR_TOTP_DIGITS", "6", "digits of TOTP codes (6 or 8)"),
    ("IAM_TWO_FACTOR_TOTP_PERIOD_SECS", "30", "TOTP time step; one step either side is accepted"),
    ("IAM_TWO_FACTOR_OTP_ENABLED", "true", "email one-time codes (`send-otp`/`verify-otp` and the `otp` method), sent through the mailer"),
    ("IAM_TWO_FACTOR_OTP_DIGITS", "6", "digits of emailed codes"),
    ("IAM_TWO_FACTOR_OTP_EXPIRES_IN_SECS", "180", "lifetime of an emailed code"),
    ("IAM_TWO_FACTOR_OTP_STORAGE", "hashed", "`hashed` (SHA-256), `encrypted` (as the TOTP secret) or `plain` (better-auth's default): how pending emailed codes are stored"),
    ("IAM_TWO_FACTOR_ALLOWED_ATTEMPTS", "5", "wrong codes allowed per emailed code and per sign-in challenge before a new one is needed"),
    ("IAM_TWO_FACTOR_BACKUP_CODE_AMOUNT", "10", "backup codes generated at a time"),
    ("IAM_TWO_FACTOR_BACKUP_CODE_LENGTH", "10", "characters per backup code (shown as `xxxxx-xxxxx`)"),
    ("IAM_TWO_FACTOR_COOKIE_MAX_AGE_SECS", "600", "how long a sign-in may wait for its second factor (`two_factor` cookie)"),
    ("IAM_TWO_FACTOR_TRUST_DEVICE_MAX_AGE_SECS", "2592000 (30 days)", "how long a trusted device skips the second factor (`trust_device` cookie, renewed at each sign-in)"),
    ("IAM_TWO_FACTOR_SKIP_VERIFICATION_ON_ENABLE", "false", "turn 2FA on at `enable` without a first TOTP code"),
    ("IAM_TWO_FACTOR_ALLOW_PASSWORDLESS", "false", "users without a password may enable/disable 2FA and read the TOTP URI without one"),
    ("IAM_TWO_FACTOR_LOCKOUT_ENABLED", "true", "lock the second factor after consecutive failed sign-in verifications"),
    ("IAM_TWO_FACTOR_LOCKOUT_MAX_ATTEMPTS", "10", "consecutive failures that lock it"),
    ("IAM_TWO_FACTOR_LOCKOUT_SECS", "900", "how long the lock lasts (429 `ACCOUNT_TEMPORARILY_LOCKED` meanwhile)"),
];

/// How pending emailed codes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpStorage {
    Plain,
    Hashed,
    Encrypted,
}

/// The plugin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorConfig {
    pub enabled: bool,
    pub issuer: String,
    pub totp_digits: u32,
    pub totp_period: Duration,
    pub otp_enabled: bool,
    pub otp_digits: usize,
    pub otp_expires_in: Duration,
    pub otp_storage: OtpStorage,
    pub allowed_attempts: u32,
    pub backup_code_amount: usize,
    pub backup_code_length: usize,
    pub cookie_max_age: Duration,
    pub trust_device_max_age: Duration,
    pub skip_verification_on_enable: bool,
    pub allow_passwordless: bool,
    /// `None`: no lockout; else (consecutive failures, lock duration).
    pub lockout: Option<(u32, Duration)>,
}

impl Default for TwoFactorConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            issuer: "Better Auth".to_string(),
            totp_digits: 6,
            totp_period: Duration::from_secs(30),
            otp_enabled: true,
            otp_digits: 6,
            otp_expires_in: Duration::from_secs(180),
            otp_storage: OtpStorage::Hashed,
            allowed_attempts: 5,
            backup_code_amount: 10,
            backup_code_length: 10,
            cookie_max_age: Duration::from_secs(600),
            trust_device_max_age: Duration::from_secs(30 * 86_400),
            skip_verification_on_enable: false,
            allow_passwordless: false,
            lockout: Some((10, Duration::from_secs(900))),
        }
    }
}

impl TwoFactorConfig {
    /// Reads [`VARIABLES`].
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        let d = Self::default();
        let issuer = vars
            .get("IAM_TWO_FACTOR_ISSUER")
            .or_else(|| vars.get("APP_NAME"))
            .unwrap_or(d.issuer.clone());
        if issuer.chars().count() > 100 || issuer.contains(':') {
            return Err(Vars::invalid(
                "IAM_TWO_FACTOR_ISSUER",
                &issuer,
                "up to 100 characters without `:`",
            )
            .into());
        }
        let totp_digits = vars.number("IAM_TWO_FACTOR_TOTP_DIGITS", d.totp_digits, 6..=8)?;
        let otp_storage = match vars.get("IAM_TWO_FACTOR_OTP_STORAGE").as_deref() {
            None | Some("hashed") => OtpStorage::Hashed,
            Some("plain") => OtpStorage::Plain,
            Some("encrypted") => OtpStorage::Encrypted,
            Some(other) => {
                return Err(Vars::invalid(
                    "IAM_TWO_FACTOR_OTP_STORAGE",
                    other,
                    "hashed, encrypted or plain",
                )
                .into())
            }
        };
        let lockout_on = vars.flag("IAM_TWO_FACTOR_LOCKOUT_ENABLED", true)?;
        let lockout_max = vars.number("IAM_TWO_FACTOR_LOCKOUT_MAX_ATTEMPTS", 10u32, 1..=1000)?;
        let lockout_for = vars.secs("IAM_TWO_FACTOR_LOCKOUT_SECS", 900, 1..=30 * 86_400)?;
        Ok(Self {
            enabled: vars.flag("IAM_TWO_FACTOR_ENABLED", d.enabled)?,
            issuer,
            totp_digits,
            totp_period: vars.secs("IAM_TWO_FACTOR_TOTP_PERIOD_SECS", 30, 10..=300)?,
            otp_enabled: vars.flag("IAM_TWO_FACTOR_OTP_ENABLED", d.otp_enabled)?,
            otp_digits: vars.number("IAM_TWO_FACTOR_OTP_DIGITS", d.otp_digits, 4..=10)?,
            otp_expires_in: vars.secs("IAM_TWO_FACTOR_OTP_EXPIRES_IN_SECS", 180, 30..=86_400)?,
            otp_storage,
            allowed_attempts: vars.number(
                "IAM_TWO_FACTOR_ALLOWED_ATTEMPTS",
                d.allowed_attempts,
                1..=100,
            )?,
            backup_code_amount: vars.number(
                "IAM_TWO_FACTOR_BACKUP_CODE_AMOUNT",
                d.backup_code_amount,
                1..=100,
            )?,
            backup_code_length: vars.number(
                "IAM_TWO_FACTOR_BACKUP_CODE_LENGTH",
                d.backup_code_length,
                6..=64,
            )?,
            cookie_max_age: vars.secs("IAM_TWO_FACTOR_COOKIE_MAX_AGE_SECS", 600, 30..=86_400)?,
            trust_device_max_age: vars.secs(
                "IAM_TWO_FACTOR_TRUST_DEVICE_MAX_AGE_SECS",
                30 * 86_400,
                60..=400 * 86_400,
            )?,
            skip_verification_on_enable: vars.flag(
                "IAM_TWO_FACTOR_SKIP_VERIFICATION_ON_ENABLE",
                d.skip_verification_on_enable,
            )?,
            allow_passwordless: vars
                .flag("IAM_TWO_FACTOR_ALLOW_PASSWORDLESS", d.allow_passwordless)?,
            lockout: lockout_on.then_some((lockout_max, lockout_for)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<TwoFactorConfig, IamConfigError> {
        let get = crate::config::test_lookup(pairs);
        TwoFactorConfig::from_vars(Vars::new(&get))
    }

    #[test]
    fn defaults_are_better_auths_and_values_are_checked() {
        assert_eq!(read(&[]).unwrap(), TwoFactorConfig::default());
        let set = read(&[
            ("APP_NAME", "Acme"),
            ("IAM_TWO_FACTOR_OTP_STORAGE", "plain"),
            ("IAM_TWO_FACTOR_LOCKOUT_ENABLED", "false"),
            ("IAM_TWO_FACTOR_TOTP_DIGITS", "8"),
        ])
        .unwrap();
        assert_eq!(set.issuer, "Acme");
        assert_eq!(set.otp_storage, OtpStorage::Plain);
        assert_eq!(set.lockout, None);
        assert_eq!(set.totp_digits, 8);
        for (name, bad) in [
            ("IAM_TWO_FACTOR_TOTP_DIGITS", "5"),
            ("IAM_TWO_FACTOR_OTP_STORAGE", "rot13"),
            ("IAM_TWO_FACTOR_ISSUER", "a:b"),
            ("IAM_TWO_FACTOR_ALLOWED_ATTEMPTS", "0"),
            ("IAM_TWO_FACTOR_ENABLED", "maybe"),
        ] {
            let err = read(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

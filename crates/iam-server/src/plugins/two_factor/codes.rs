//! The two-factor plugin's single-use codes (PLUGINS.md §2.3): backup codes (an encrypted JSON
//! list, spent by compare-and-swap so a code works once even under concurrent requests) and
//! emailed codes (sent through the `Mailer`, kept as `2fa-otp-<key>` = `<code>:<failures>`).

use shared_server::mail::OutgoingEmail;

use super::config::OtpStorage;
use super::entities::TwoFactor;
use super::service::{
    internal, BackupSpend, OtpCheck, TwoFactorService, Verifier, BACKUP_CODE_ALPHABET, DIGITS,
};
use crate::error::IamError;
use crate::services::tokens::{self, random_string};

impl TwoFactorService {
    // -----------------------------------------------------------------------------------------
    // Backup codes
    // -----------------------------------------------------------------------------------------

    pub(super) fn new_backup_codes(&self) -> Result<Vec<String>, IamError> {
        let config = self.config();
        (0..config.backup_code_amount)
            .map(|_| {
                let code = random_string(config.backup_code_length, BACKUP_CODE_ALPHABET)?;
                Ok(format!("{}-{}", &code[..5], &code[5..]))
            })
            .collect()
    }

    pub(super) fn encode_backup_codes(&self, codes: &[String]) -> Result<String, IamError> {
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

fn otp_identifier(key: &str) -> String {
    format!("2fa-otp-{key}")
}

//! The jwt plugin's settings (`IAM_JWT_*`) over better-auth's defaults: on, EdDSA (Ed25519)
//! keys made on first use, private keys encrypted at rest, tokens valid 15 minutes with the
//! public origin as issuer and audience, no rotation, a 30-day grace period for retired keys,
//! and the `set-auth-jwt` header on get-session. A README row per variable.

use std::time::Duration;

use shared_server::config::Vars;

use crate::config::IamConfigError;

/// The variables `(name, default, meaning)`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("IAM_JWT_ENABLED", "true", "the jwt plugin: `GET /token` (a JWT of the session's user), `GET /jwks` (the public keys), `set-auth-jwt` on get-session"),
    ("IAM_JWT_EXPIRATION_SECS", "900", "lifetime of issued JWTs (`exp`)"),
    ("IAM_JWT_ISSUER", "the public URL's origin", "`iss` of issued JWTs"),
    ("IAM_JWT_AUDIENCE", "the public URL's origin", "`aud` of issued JWTs"),
    ("IAM_JWT_ROTATION_INTERVAL_SECS", "(none: keys never expire)", "a new signing key is made when the newest is this old"),
    ("IAM_JWT_GRACE_PERIOD_SECS", "2592000 (30 days)", "how long a retired key stays in the JWKS (so tokens it signed still verify)"),
    ("IAM_JWT_DISABLE_PRIVATE_KEY_ENCRYPTION", "false", "store new private keys unencrypted"),
    ("IAM_JWT_DISABLE_SETTING_JWT_HEADER", "false", "no `set-auth-jwt` header on get-session"),
];

/// The plugin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    pub enabled: bool,
    pub expiration: Duration,
    /// `None`: the public origin.
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub rotation_interval: Option<Duration>,
    pub grace_period: Duration,
    pub disable_private_key_encryption: bool,
    pub disable_setting_jwt_header: bool,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            expiration: Duration::from_secs(900),
            issuer: None,
            audience: None,
            rotation_interval: None,
            grace_period: Duration::from_secs(30 * 86_400),
            disable_private_key_encryption: false,
            disable_setting_jwt_header: false,
        }
    }
}

impl JwtConfig {
    /// Reads [`VARIABLES`].
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        let d = Self::default();
        let rotation_interval = match vars.get("IAM_JWT_ROTATION_INTERVAL_SECS") {
            None => None,
            Some(_) => {
                Some(vars.secs("IAM_JWT_ROTATION_INTERVAL_SECS", 0, 60..=10 * 365 * 86_400)?)
            }
        };
        Ok(Self {
            enabled: vars.flag("IAM_JWT_ENABLED", d.enabled)?,
            expiration: vars.secs("IAM_JWT_EXPIRATION_SECS", 900, 10..=365 * 86_400)?,
            issuer: vars.get("IAM_JWT_ISSUER"),
            audience: vars.get("IAM_JWT_AUDIENCE"),
            rotation_interval,
            grace_period: vars.secs(
                "IAM_JWT_GRACE_PERIOD_SECS",
                30 * 86_400,
                0..=10 * 365 * 86_400,
            )?,
            disable_private_key_encryption: vars.flag(
                "IAM_JWT_DISABLE_PRIVATE_KEY_ENCRYPTION",
                d.disable_private_key_encryption,
            )?,
            disable_setting_jwt_header: vars.flag(
                "IAM_JWT_DISABLE_SETTING_JWT_HEADER",
                d.disable_setting_jwt_header,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<JwtConfig, IamConfigError> {
        let get = crate::config::test_lookup(pairs);
        JwtConfig::from_vars(Vars::new(&get))
    }

    #[test]
    fn defaults_are_better_auths_and_values_are_checked() {
        assert_eq!(read(&[]).unwrap(), JwtConfig::default());
        let set = read(&[
            ("IAM_JWT_ROTATION_INTERVAL_SECS", "86400"),
            ("IAM_JWT_ISSUER", "https://auth.example.com"),
        ])
        .unwrap();
        assert_eq!(set.rotation_interval, Some(Duration::from_secs(86_400)));
        assert_eq!(set.issuer.as_deref(), Some("https://auth.example.com"));
        for (name, bad) in [
            ("IAM_JWT_ROTATION_INTERVAL_SECS", "5"),
            ("IAM_JWT_EXPIRATION_SECS", "forever"),
            ("IAM_JWT_ENABLED", "nah"),
        ] {
            let err = read(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

//! The one-time-token plugin's settings (`IAM_ONE_TIME_TOKEN_*`) over better-auth's defaults:
//! on, tokens valid 3 minutes, verification sets the session cookie, no `set-ott` header. A
//! README row per variable.

use std::time::Duration;

use shared_server::config::Vars;

use crate::config::IamConfigError;

/// The variables `(name, default, meaning)`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("IAM_ONE_TIME_TOKEN_ENABLED", "true", "the one-time-token plugin: `GET /one-time-token/generate` (signed in) and `POST /one-time-token/verify` hand a session to another client once"),
    ("IAM_ONE_TIME_TOKEN_EXPIRES_IN_SECS", "180", "how long a one-time token can be used"),
    ("IAM_ONE_TIME_TOKEN_DISABLE_SET_SESSION_COOKIE", "false", "verification answers the session without setting the session cookie"),
    ("IAM_ONE_TIME_TOKEN_SET_OTT_HEADER", "false", "every reply that sets a session cookie also carries a fresh one-time token in `set-ott`"),
];

/// The plugin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeTokenConfig {
    pub enabled: bool,
    pub expires_in: Duration,
    pub disable_set_session_cookie: bool,
    pub set_ott_header: bool,
}

impl Default for OneTimeTokenConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            expires_in: Duration::from_secs(180),
            disable_set_session_cookie: false,
            set_ott_header: false,
        }
    }
}

impl OneTimeTokenConfig {
    /// Reads [`VARIABLES`].
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        let d = Self::default();
        Ok(Self {
            enabled: vars.flag("IAM_ONE_TIME_TOKEN_ENABLED", d.enabled)?,
            expires_in: vars.secs("IAM_ONE_TIME_TOKEN_EXPIRES_IN_SECS", 180, 10..=86_400)?,
            disable_set_session_cookie: vars.flag(
                "IAM_ONE_TIME_TOKEN_DISABLE_SET_SESSION_COOKIE",
                d.disable_set_session_cookie,
            )?,
            set_ott_header: vars.flag("IAM_ONE_TIME_TOKEN_SET_OTT_HEADER", d.set_ott_header)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<OneTimeTokenConfig, IamConfigError> {
        let get = crate::config::test_lookup(pairs);
        OneTimeTokenConfig::from_vars(Vars::new(&get))
    }

    #[test]
    fn defaults_are_better_auths_and_values_are_checked() {
        assert_eq!(read(&[]).unwrap(), OneTimeTokenConfig::default());
        let set = read(&[
            ("IAM_ONE_TIME_TOKEN_EXPIRES_IN_SECS", "60"),
            ("IAM_ONE_TIME_TOKEN_SET_OTT_HEADER", "true"),
        ])
        .unwrap();
        assert_eq!(set.expires_in, Duration::from_secs(60));
        assert!(set.set_ott_header);
        for (name, bad) in [
            ("IAM_ONE_TIME_TOKEN_EXPIRES_IN_SECS", "1"),
            ("IAM_ONE_TIME_TOKEN_ENABLED", "hm"),
        ] {
            let err = read(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

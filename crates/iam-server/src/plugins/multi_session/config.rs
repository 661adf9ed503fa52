//! The multi-session plugin's settings (`IAM_MULTI_SESSION_*`) over better-auth's defaults: on,
//! at most 5 signed-in accounts per browser. A README row per variable.

use shared_server::config::Vars;

use crate::config::IamConfigError;

/// The variables `(name, default, meaning)`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("IAM_MULTI_SESSION_ENABLED", "true", "the multi-session plugin: several signed-in accounts per browser (`/multi-session/*`, one `session_token_multi-<token>` cookie per account)"),
    ("IAM_MULTI_SESSION_MAXIMUM_SESSIONS", "5", "accounts one browser keeps; a sign-in beyond that gets no multi-session cookie"),
];

/// The plugin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiSessionConfig {
    pub enabled: bool,
    pub maximum_sessions: usize,
}

impl Default for MultiSessionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            maximum_sessions: 5,
        }
    }
}

impl MultiSessionConfig {
    /// Reads [`VARIABLES`].
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        let d = Self::default();
        Ok(Self {
            enabled: vars.flag("IAM_MULTI_SESSION_ENABLED", d.enabled)?,
            maximum_sessions: vars.number(
                "IAM_MULTI_SESSION_MAXIMUM_SESSIONS",
                d.maximum_sessions,
                1..=50,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<MultiSessionConfig, IamConfigError> {
        let get = crate::config::test_lookup(pairs);
        MultiSessionConfig::from_vars(Vars::new(&get))
    }

    #[test]
    fn defaults_are_better_auths_and_values_are_checked() {
        assert_eq!(read(&[]).unwrap(), MultiSessionConfig::default());
        assert_eq!(
            read(&[("IAM_MULTI_SESSION_MAXIMUM_SESSIONS", "3")])
                .unwrap()
                .maximum_sessions,
            3
        );
        for (name, bad) in [
            ("IAM_MULTI_SESSION_MAXIMUM_SESSIONS", "0"),
            ("IAM_MULTI_SESSION_ENABLED", "twice"),
        ] {
            let err = read(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

//! The last-login-method plugin's settings (`IAM_LAST_LOGIN_METHOD_*`) over better-auth's
//! defaults: on, a readable `better-auth.last_used_login_method` cookie for 30 days, nothing
//! stored in the database. A README row per variable.

use std::time::Duration;

use shared_server::config::Vars;

use crate::config::IamConfigError;

/// The variables `(name, default, meaning)`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("IAM_LAST_LOGIN_METHOD_ENABLED", "true", "the last-login-method plugin: a sign-in or sign-up that sets the session cookie also sets a JavaScript-readable cookie naming the method (`email`)"),
    ("IAM_LAST_LOGIN_METHOD_COOKIE_NAME", "better-auth.last_used_login_method", "that cookie's name (what `lastLoginMethodClient({cookieName})` reads)"),
    ("IAM_LAST_LOGIN_METHOD_MAX_AGE_SECS", "2592000 (30 days)", "that cookie's lifetime"),
    ("IAM_LAST_LOGIN_METHOD_STORE_IN_DATABASE", "false", "also keep the method on the user (`lastLoginMethod` in the user JSON)"),
];

/// The plugin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastLoginMethodConfig {
    pub enabled: bool,
    pub cookie_name: String,
    pub max_age: Duration,
    pub store_in_database: bool,
}

impl Default for LastLoginMethodConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            cookie_name: "better-auth.last_used_login_method".to_string(),
            max_age: Duration::from_secs(30 * 86_400),
            store_in_database: false,
        }
    }
}

impl LastLoginMethodConfig {
    /// Reads [`VARIABLES`].
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        let d = Self::default();
        let cookie_name = match vars.get("IAM_LAST_LOGIN_METHOD_COOKIE_NAME") {
            None => d.cookie_name.clone(),
            Some(name)
                if !name.is_empty()
                    && name.len() <= 128
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
            {
                name
            }
            Some(other) => {
                return Err(Vars::invalid(
                    "IAM_LAST_LOGIN_METHOD_COOKIE_NAME",
                    &other,
                    "up to 128 letters, digits, `-`, `_` or `.`",
                )
                .into())
            }
        };
        Ok(Self {
            enabled: vars.flag("IAM_LAST_LOGIN_METHOD_ENABLED", d.enabled)?,
            cookie_name,
            max_age: vars.secs(
                "IAM_LAST_LOGIN_METHOD_MAX_AGE_SECS",
                d.max_age.as_secs(),
                60..=400 * 86_400,
            )?,
            store_in_database: vars.flag(
                "IAM_LAST_LOGIN_METHOD_STORE_IN_DATABASE",
                d.store_in_database,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<LastLoginMethodConfig, IamConfigError> {
        let get = crate::config::test_lookup(pairs);
        LastLoginMethodConfig::from_vars(Vars::new(&get))
    }

    #[test]
    fn defaults_are_better_auths_and_values_are_checked() {
        assert_eq!(read(&[]).unwrap(), LastLoginMethodConfig::default());
        let set = read(&[
            ("IAM_LAST_LOGIN_METHOD_COOKIE_NAME", "acme.last_login"),
            ("IAM_LAST_LOGIN_METHOD_STORE_IN_DATABASE", "true"),
        ])
        .unwrap();
        assert_eq!(set.cookie_name, "acme.last_login");
        assert!(set.store_in_database);
        for (name, bad) in [
            ("IAM_LAST_LOGIN_METHOD_COOKIE_NAME", "has space"),
            ("IAM_LAST_LOGIN_METHOD_MAX_AGE_SECS", "1"),
            ("IAM_LAST_LOGIN_METHOD_ENABLED", "perhaps"),
        ] {
            let err = read(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

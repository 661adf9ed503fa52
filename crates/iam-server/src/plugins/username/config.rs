//! The username plugin's settings (`IAM_USERNAME_*`), over better-auth's defaults: on, 3 to 30
//! characters. A README row per variable.

use shared_server::config::Vars;

use crate::config::IamConfigError;

/// The variables `(name, default, meaning)`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "IAM_USERNAME_ENABLED",
        "true",
        "the username plugin: `username` at sign-up and update-user, `/sign-in/username`, `/is-username-available`",
    ),
    (
        "IAM_USERNAME_MIN_LENGTH",
        "3",
        "shortest accepted username (better-auth's `minUsernameLength`)",
    ),
    (
        "IAM_USERNAME_MAX_LENGTH",
        "30",
        "longest accepted username (better-auth's `maxUsernameLength`)",
    ),
];

/// How usernames are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameConfig {
    pub enabled: bool,
    /// In UTF-16 units, as JavaScript's `length` counts.
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for UsernameConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_length: 3,
            max_length: 30,
        }
    }
}

impl UsernameConfig {
    /// Reads [`VARIABLES`]; the minimum may not exceed the maximum.
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        let defaults = Self::default();
        let min_length = vars.number("IAM_USERNAME_MIN_LENGTH", defaults.min_length, 1..=255)?;
        let max_length = vars.number("IAM_USERNAME_MAX_LENGTH", defaults.max_length, 1..=255)?;
        if min_length > max_length {
            return Err(Vars::invalid(
                "IAM_USERNAME_MIN_LENGTH",
                &min_length.to_string(),
                format!("at most IAM_USERNAME_MAX_LENGTH ({max_length})"),
            )
            .into());
        }
        Ok(Self {
            enabled: vars.flag("IAM_USERNAME_ENABLED", defaults.enabled)?,
            min_length,
            max_length,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<UsernameConfig, IamConfigError> {
        let get = crate::config::test_lookup(pairs);
        UsernameConfig::from_vars(Vars::new(&get))
    }

    #[test]
    fn defaults_are_better_auths_and_values_are_checked() {
        assert_eq!(read(&[]).unwrap(), UsernameConfig::default());
        let set = read(&[
            ("IAM_USERNAME_ENABLED", "false"),
            ("IAM_USERNAME_MIN_LENGTH", "5"),
            ("IAM_USERNAME_MAX_LENGTH", "12"),
        ])
        .unwrap();
        assert!(!set.enabled);
        assert_eq!((set.min_length, set.max_length), (5, 12));
        for (pairs, var) in [
            (
                vec![("IAM_USERNAME_MIN_LENGTH", "0")],
                "IAM_USERNAME_MIN_LENGTH",
            ),
            (
                vec![("IAM_USERNAME_MAX_LENGTH", "lots")],
                "IAM_USERNAME_MAX_LENGTH",
            ),
            (
                vec![
                    ("IAM_USERNAME_MIN_LENGTH", "10"),
                    ("IAM_USERNAME_MAX_LENGTH", "5"),
                ],
                "IAM_USERNAME_MIN_LENGTH",
            ),
        ] {
            let err = read(&pairs).unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}

//! The API-key plugin's settings from `IAM_API_KEY_*` variables (better-auth-api.md §8: the
//! plugin options a deployment sets on the server, which clients cannot change over HTTP): the
//! per-key rate limiter and the limits stored on new keys, metadata, and a default prefix.

use crate::services::ApiKeySettings;

use super::IamConfigError;
use shared_server::config::Vars;

/// The API-key variables `(name, default, meaning)`, listed like [`super::VARIABLES`] (all are in
/// the README's configuration table).
pub const API_KEY_VARIABLES: &[(&str, &str, &str)] = &[
    (
        "IAM_API_KEY_RATE_LIMIT_ENABLED",
        "true",
        "count every use of an API key against its own limit (better-auth's per-key limiter)",
    ),
    (
        "IAM_API_KEY_RATE_LIMIT_MAX",
        "10",
        "uses per window given to new keys",
    ),
    (
        "IAM_API_KEY_RATE_LIMIT_WINDOW_SECS",
        "86400 (24 h)",
        "the per-key window given to new keys; it slides with every allowed use",
    ),
    (
        "IAM_API_KEY_ENABLE_METADATA",
        "false",
        "accept `metadata` objects on API keys",
    ),
    (
        "IAM_API_KEY_DEFAULT_PREFIX",
        "(none)",
        "prefix of new keys when the request names none (`[A-Za-z0-9_-]`, 1–32 characters)",
    ),
];

/// Reads [`API_KEY_VARIABLES`] over better-auth's defaults.
pub fn api_key_settings(vars: Vars<'_>) -> Result<ApiKeySettings, IamConfigError> {
    let defaults = ApiKeySettings::default();
    let window_secs = vars.number(
        "IAM_API_KEY_RATE_LIMIT_WINDOW_SECS",
        defaults.default_rate_limit_time_window_ms / 1000,
        1..=365 * 86_400,
    )?;
    let default_prefix = match vars.get("IAM_API_KEY_DEFAULT_PREFIX") {
        None => defaults.default_prefix.clone(),
        Some(prefix)
            if (1..=32).contains(&prefix.len())
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Some(prefix)
        }
        Some(other) => {
            return Err(Vars::invalid(
                "IAM_API_KEY_DEFAULT_PREFIX",
                &other,
                "1 to 32 characters of A-Z, a-z, 0-9, `_` or `-`",
            )
            .into())
        }
    };
    Ok(ApiKeySettings {
        rate_limit_enabled: vars.flag(
            "IAM_API_KEY_RATE_LIMIT_ENABLED",
            defaults.rate_limit_enabled,
        )?,
        default_rate_limit_time_window_ms: window_secs * 1000,
        default_rate_limit_max: vars.number(
            "IAM_API_KEY_RATE_LIMIT_MAX",
            defaults.default_rate_limit_max,
            1..=1_000_000_000,
        )?,
        enable_metadata: vars.flag("IAM_API_KEY_ENABLE_METADATA", defaults.enable_metadata)?,
        default_prefix,
        ..defaults
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<ApiKeySettings, IamConfigError> {
        let get = crate::config::test_lookup(pairs);
        api_key_settings(Vars::new(&get))
    }

    #[test]
    fn defaults_are_better_auths_and_each_variable_is_checked() {
        assert_eq!(read(&[]).unwrap(), ApiKeySettings::default());
        let set = read(&[
            ("IAM_API_KEY_RATE_LIMIT_ENABLED", "false"),
            ("IAM_API_KEY_RATE_LIMIT_MAX", "5000"),
            ("IAM_API_KEY_RATE_LIMIT_WINDOW_SECS", "60"),
            ("IAM_API_KEY_ENABLE_METADATA", "true"),
            ("IAM_API_KEY_DEFAULT_PREFIX", "acme_"),
        ])
        .unwrap();
        assert!(!set.rate_limit_enabled && set.enable_metadata);
        assert_eq!(set.default_rate_limit_max, 5000);
        assert_eq!(set.default_rate_limit_time_window_ms, 60_000);
        assert_eq!(set.default_prefix.as_deref(), Some("acme_"));
        for (name, bad) in [
            ("IAM_API_KEY_RATE_LIMIT_MAX", "0"),
            ("IAM_API_KEY_RATE_LIMIT_WINDOW_SECS", "soon"),
            ("IAM_API_KEY_DEFAULT_PREFIX", "has space"),
            ("IAM_API_KEY_ENABLE_METADATA", "maybe"),
        ] {
            let err = read(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

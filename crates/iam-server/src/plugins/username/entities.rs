//! What a username is (better-auth's default rules): `[A-Za-z0-9_.]`, between the configured
//! lengths (checked on the text as typed, before it is lower-cased), stored lower-cased in
//! `shared_user.username`, with the typed form kept in `display_username`. The plugin has no
//! table of its own: both columns are on the shared user row.

use crate::error::ErrorCode;

use super::config::UsernameConfig;

/// Why a username was refused (each maps to better-auth's code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameProblem {
    TooShort,
    TooLong,
    /// A character outside `[A-Za-z0-9_.]`.
    Invalid,
}

impl UsernameProblem {
    pub fn code(self) -> ErrorCode {
        match self {
            UsernameProblem::TooShort => ErrorCode::UsernameTooShort,
            UsernameProblem::TooLong => ErrorCode::UsernameTooLong,
            UsernameProblem::Invalid => ErrorCode::InvalidUsername,
        }
    }
}

/// Checks a username as typed: length first (JavaScript `length`), then the characters.
pub fn check(config: &UsernameConfig, username: &str) -> Result<(), UsernameProblem> {
    let length = crate::js::length(username);
    if length < config.min_length {
        return Err(UsernameProblem::TooShort);
    }
    if length > config.max_length {
        return Err(UsernameProblem::TooLong);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    if !username.chars().all(allowed) {
        return Err(UsernameProblem::Invalid);
    }
    Ok(())
}

/// The stored form: lower-cased (better-auth's default normalizer).
pub fn normalize(username: &str) -> String {
    username.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_better_auths_defaults() {
        let config = UsernameConfig::default();
        assert_eq!(check(&config, "Ada_L.99"), Ok(()));
        assert_eq!(check(&config, "ab"), Err(UsernameProblem::TooShort));
        assert_eq!(
            check(&config, &"a".repeat(31)),
            Err(UsernameProblem::TooLong)
        );
        assert_eq!(check(&config, &"a".repeat(30)), Ok(()));
        for bad in ["ada lovelace", "ada-l", "adé", "ada@x", "ada\n"] {
            assert_eq!(
                check(&config, bad),
                Err(UsernameProblem::Invalid),
                "{bad:?}"
            );
        }
        // Length is checked before the characters, in UTF-16 units.
        assert_eq!(check(&config, "😀"), Err(UsernameProblem::TooShort));
        assert_eq!(normalize("Ada_L"), "ada_l");
    }
}

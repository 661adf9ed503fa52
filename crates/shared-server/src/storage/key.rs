//! Object key rules shared by every backend.
//!
//! Keys keep a leading `/` on the wire (slices.md §1.4); the stored object name is the key without
//! it. Every backend accepts a key with or without that slash and rejects the same malformed keys,
//! so a key that works against the local store also works against S3 and cannot escape the local
//! store's root directory.

use super::StorageError;

/// Longest object name accepted, in bytes (S3's limit).
pub const MAX_KEY_BYTES: usize = 1024;

/// How much of a rejected key is echoed back in the error.
const KEY_PREVIEW_CHARS: usize = 64;

/// Validates `key` and returns the object name: the key without its leading `/`.
///
/// Rejected with [`StorageError::InvalidKey`]: an empty name, a name over [`MAX_KEY_BYTES`],
/// control characters (NUL included), backslashes, and empty, `.` or `..` segments.
pub fn object_name(key: &str) -> Result<&str, StorageError> {
    let name = key.strip_prefix('/').unwrap_or(key);
    let reject = |reason| Err(invalid_key(key, reason));

    if name.is_empty() {
        return reject("the key is empty");
    }
    if name.len() > MAX_KEY_BYTES {
        return reject("the key is longer than 1024 bytes");
    }
    if name.chars().any(char::is_control) {
        return reject("the key contains a control character");
    }
    if name.contains('\\') {
        return reject("the key contains a backslash");
    }
    for segment in name.split('/') {
        match segment {
            "" => return reject("the key contains an empty segment (`//` or a trailing `/`)"),
            "." => return reject("the key contains a `.` segment"),
            ".." => return reject("the key contains a `..` segment"),
            _ => {}
        }
    }
    Ok(name)
}

fn invalid_key(key: &str, reason: &'static str) -> StorageError {
    let key = if key.chars().count() > KEY_PREVIEW_CHARS {
        let preview: String = key.chars().take(KEY_PREVIEW_CHARS).collect();
        format!("{preview}…")
    } else {
        key.to_owned()
    };
    StorageError::InvalidKey {
        key: key.escape_debug().to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_exactly_one_leading_slash() {
        assert_eq!(object_name("/dev/a/b.png").ok(), Some("dev/a/b.png"));
        assert_eq!(object_name("dev/a/b.png").ok(), Some("dev/a/b.png"));
        assert!(object_name("//dev/a").is_err());
    }

    #[test]
    fn rejects_malformed_keys() {
        let long = "a".repeat(MAX_KEY_BYTES + 1);
        for key in [
            "",
            "/",
            "a/../b",
            "..",
            "/../etc/passwd",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            "a\nb",
            long.as_str(),
        ] {
            assert!(
                matches!(object_name(key), Err(StorageError::InvalidKey { .. })),
                "{key:?} should be rejected"
            );
        }
        assert!(object_name(&"a".repeat(MAX_KEY_BYTES)).is_ok());
        assert!(object_name("a/..b/c..").is_ok());
    }

    #[test]
    fn long_keys_are_truncated_in_errors() {
        let long = "x".repeat(5000);
        let message = object_name(&long)
            .map(str::to_owned)
            .unwrap_err()
            .to_string();
        assert!(message.len() < 200, "{message}");
    }
}

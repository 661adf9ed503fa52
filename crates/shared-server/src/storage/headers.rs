//! The two request headers a presigned upload is bound to: `Content-Type` and `Content-MD5`.
//!
//! Both backends validate them the same way before signing, so a URL is never handed out with a
//! header value the client could not send.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::StorageError;

/// Content type served for objects stored without one.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Longest content type accepted, in bytes.
const MAX_CONTENT_TYPE_BYTES: usize = 255;

/// Checks that `content_type` can be sent as an HTTP header value.
pub fn check_content_type(content_type: &str) -> Result<(), StorageError> {
    let invalid = |reason: &str| StorageError::InvalidArgument {
        message: format!("content type {content_type:?} {reason}"),
    };
    if content_type.trim().is_empty() {
        return Err(invalid("is empty"));
    }
    if content_type.len() > MAX_CONTENT_TYPE_BYTES {
        return Err(invalid("is longer than 255 bytes"));
    }
    if !content_type
        .bytes()
        .all(|b| b == b' ' || b.is_ascii_graphic())
    {
        return Err(invalid("contains characters not allowed in an HTTP header"));
    }
    Ok(())
}

/// Returns the `Content-MD5` header value (base64 of the 16-byte digest) for a digest given as
/// base64 or as 32 hex characters, the two forms clients send (slices.md §1.5).
pub fn normalize_content_md5(value: &str) -> Result<String, StorageError> {
    let value = value.trim();
    let digest = if value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(value).ok()
    } else {
        BASE64.decode(value).ok()
    };
    match digest {
        Some(digest) if digest.len() == 16 => Ok(BASE64.encode(digest)),
        _ => Err(StorageError::InvalidArgument {
            message: format!(
                "Content-MD5 {value:?} is neither 32 hex characters nor the base64 of 16 bytes"
            ),
        }),
    }
}

/// `Content-MD5` header value of `digest` (the raw 16 bytes).
pub(crate) fn content_md5_of_digest(digest: &[u8]) -> String {
    BASE64.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_accepts_hex_and_base64() {
        // MD5("hello")
        let hex = "5d41402abc4b2a76b9719d911017c592";
        let base64 = "XUFAKrxLKna5cZ2REBfFkg==";
        assert_eq!(normalize_content_md5(hex).ok().as_deref(), Some(base64));
        assert_eq!(normalize_content_md5(base64).ok().as_deref(), Some(base64));
        assert!(normalize_content_md5("abc").is_err());
        assert!(normalize_content_md5("aGVsbG8=").is_err());
    }

    #[test]
    fn content_type_must_be_a_header_value() {
        assert!(check_content_type("image/png").is_ok());
        assert!(check_content_type("text/plain; charset=utf-8").is_ok());
        assert!(check_content_type("").is_err());
        assert!(check_content_type("text/plain\r\nX-Evil: 1").is_err());
    }
}

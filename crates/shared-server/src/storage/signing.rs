//! HMAC signatures of the local backend's presigned URLs (slices.md §1.6).
//!
//! A URL `…/v1/shared/objects/{name}?expires={unix secs}&signature={hex}` is valid when
//! `signature = hex(HMAC-SHA256(secret, canonical))` with
//!
//! ```text
//! canonical = METHOD "\n" name "\n" expires "\n" content_type "\n" content_md5
//! ```
//!
//! where `name` is the object key without its leading `/`, `content_type` and `content_md5` are the
//! exact header values the client must send (empty for a GET, and `content_md5` empty when the
//! upload is not bound to a digest). Keys cannot contain control characters and header values
//! cannot contain newlines, so the canonical string is unambiguous.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::StorageError;

type HmacSha256 = Hmac<Sha256>;

/// What a presigned URL is bound to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedFields<'a> {
    pub method: &'a str,
    pub name: &'a str,
    pub expires: u64,
    pub content_type: &'a str,
    pub content_md5: &'a str,
}

impl SignedFields<'_> {
    fn canonical(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}",
            self.method, self.name, self.expires, self.content_type, self.content_md5
        )
    }
}

/// Signs and verifies presigned URLs with the server secret.
#[derive(Clone)]
pub(crate) struct UrlSigner {
    mac: HmacSha256,
}

impl UrlSigner {
    pub fn new(secret: &[u8]) -> Result<Self, StorageError> {
        if secret.is_empty() {
            return Err(StorageError::Misconfigured {
                message: "the URL signing secret is empty".into(),
            });
        }
        let mac = HmacSha256::new_from_slice(secret).map_err(|_| StorageError::Misconfigured {
            message: "the URL signing secret cannot key HMAC-SHA256".into(),
        })?;
        Ok(Self { mac })
    }

    /// Lowercase hex signature of `fields`.
    pub fn sign(&self, fields: &SignedFields<'_>) -> String {
        let mut mac = self.mac.clone();
        mac.update(fields.canonical().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `signature_hex` signs `fields`; the comparison runs in constant time.
    pub fn verify(&self, fields: &SignedFields<'_>, signature_hex: &str) -> bool {
        let Ok(signature) = hex::decode(signature_hex) else {
            return false;
        };
        let mut mac = self.mac.clone();
        mac.update(fields.canonical().as_bytes());
        mac.verify_slice(&signature).is_ok()
    }
}

impl fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UrlSigner { secret: \"***\" }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(content_type: &str) -> SignedFields<'_> {
        SignedFields {
            method: "PUT",
            name: "dev/a.png",
            expires: 1_700_000_000,
            content_type,
            content_md5: "",
        }
    }

    #[test]
    fn verifies_its_own_signature_only() {
        let signer = UrlSigner::new(b"secret").expect("signer");
        let signature = signer.sign(&fields("image/png"));
        assert_eq!(signature.len(), 64);
        assert!(signer.verify(&fields("image/png"), &signature));
        assert!(!signer.verify(&fields("image/jpeg"), &signature));
        assert!(!signer.verify(&fields("image/png"), "zz"));

        let other = UrlSigner::new(b"other secret").expect("signer");
        assert!(!other.verify(&fields("image/png"), &signature));
    }

    #[test]
    fn empty_secret_is_rejected() {
        assert!(UrlSigner::new(b"").is_err());
    }
}

//! better-auth's `symmetricEncrypt` / `symmetricDecrypt` (PLUGINS.md §2.6), so values it
//! encrypted at rest (two-factor secrets and backup codes) stay readable after a database
//! moves here, and ours stay readable by it.
//!
//! The format: key = SHA-256 of the secret's UTF-8 bytes; XChaCha20-Poly1305 with a random
//! 24-byte nonce; stored as lower-case hex of `nonce || ciphertext || tag`. With a rotation
//! list (`BETTER_AUTH_SECRETS`) the text is wrapped as `$ba$<version>$<hex>`, encrypted with
//! the newest secret; reading picks the secret by version, and bare hex is read with
//! `BETTER_AUTH_SECRET` (better-auth's legacy secret).
//!
//! XChaCha20 is HChaCha20 (which derives a sub-key from the key and the nonce's first 16
//! bytes) followed by the IETF ChaCha20-Poly1305 with the nonce's last 8 bytes; the AEAD is
//! `ring`'s (already the TLS stack's crypto provider), HChaCha20 is written here from
//! draft-irtf-cfrg-xchacha §2.2, so no second cipher implementation enters the build.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use sha2::{Digest, Sha256};

use super::tokens::Secret;
use crate::error::IamError;

const ENVELOPE_PREFIX: &str = "$ba$";
const XNONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The secrets encryption at rest uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretConfig {
    /// One secret (`BETTER_AUTH_SECRET`): bare hex.
    Single(Secret),
    /// A rotation list, newest first: `$ba$<version>$` envelopes with the first entry;
    /// `legacy` (`BETTER_AUTH_SECRET`, if set) reads bare hex.
    Rotated {
        keys: Vec<(u32, Secret)>,
        legacy: Option<Secret>,
    },
}

/// Why a stored value could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("not hex of nonce, ciphertext and tag")]
    Malformed,
    #[error("secret version {0} is not configured")]
    UnknownVersion(u32),
    #[error("bare-hex value but no legacy secret (BETTER_AUTH_SECRET) configured")]
    NoLegacySecret,
    #[error("authentication failed (wrong secret or altered value)")]
    Rejected,
}

impl SecretConfig {
    /// Encrypts `plain` the way better-auth does.
    pub fn encrypt(&self, plain: &str) -> Result<String, IamError> {
        match self {
            SecretConfig::Single(secret) => raw_encrypt(secret, plain),
            SecretConfig::Rotated { keys, .. } => {
                let (version, secret) = keys
                    .first()
                    .ok_or_else(|| IamError::internal("empty secret rotation list"))?;
                Ok(format!(
                    "{ENVELOPE_PREFIX}{version}${}",
                    raw_encrypt(secret, plain)?
                ))
            }
        }
    }

    /// Decrypts a value written by [`SecretConfig::encrypt`] or by better-auth.
    pub fn decrypt(&self, stored: &str) -> Result<String, DecryptError> {
        match self {
            SecretConfig::Single(secret) => raw_decrypt(secret, stored),
            SecretConfig::Rotated { keys, legacy } => match parse_envelope(stored) {
                Some((version, hex)) => {
                    let secret = keys
                        .iter()
                        .find(|(v, _)| *v == version)
                        .map(|(_, s)| s)
                        .ok_or(DecryptError::UnknownVersion(version))?;
                    raw_decrypt(secret, hex)
                }
                None => raw_decrypt(legacy.as_ref().ok_or(DecryptError::NoLegacySecret)?, stored),
            },
        }
    }
}

/// `$ba$<version>$<rest>` → `(version, rest)`.
fn parse_envelope(stored: &str) -> Option<(u32, &str)> {
    let rest = stored.strip_prefix(ENVELOPE_PREFIX)?;
    let (version, hex) = rest.split_once('$')?;
    Some((version.parse().ok()?, hex))
}

fn cipher_key(secret: &Secret) -> [u8; 32] {
    Sha256::digest(secret.key()).into()
}

fn raw_encrypt(secret: &Secret, plain: &str) -> Result<String, IamError> {
    let mut xnonce = [0u8; XNONCE_LEN];
    getrandom::fill(&mut xnonce)
        .map_err(|e| IamError::internal(format!("no randomness available: {e}")))?;
    let (key, nonce) = subkey_and_nonce(&cipher_key(secret), &xnonce);
    let key = LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, &key)
            .map_err(|_| IamError::internal("chacha20-poly1305 key"))?,
    );
    let mut sealed = plain.as_bytes().to_vec();
    key.seal_in_place_append_tag(nonce, Aad::empty(), &mut sealed)
        .map_err(|_| IamError::internal("chacha20-poly1305 seal"))?;
    let mut out = Vec::with_capacity(XNONCE_LEN + sealed.len());
    out.extend_from_slice(&xnonce);
    out.extend_from_slice(&sealed);
    Ok(hex::encode(out))
}

fn raw_decrypt(secret: &Secret, stored: &str) -> Result<String, DecryptError> {
    let bytes = hex::decode(stored).map_err(|_| DecryptError::Malformed)?;
    if bytes.len() < XNONCE_LEN + TAG_LEN {
        return Err(DecryptError::Malformed);
    }
    let (xnonce, sealed) = bytes.split_at(XNONCE_LEN);
    let xnonce: [u8; XNONCE_LEN] = xnonce.try_into().map_err(|_| DecryptError::Malformed)?;
    let (key, nonce) = subkey_and_nonce(&cipher_key(secret), &xnonce);
    let key = LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, &key).map_err(|_| DecryptError::Rejected)?,
    );
    let mut sealed = sealed.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::empty(), &mut sealed)
        .map_err(|_| DecryptError::Rejected)?;
    String::from_utf8(plain.to_vec()).map_err(|_| DecryptError::Malformed)
}

/// XChaCha20's sub-key (HChaCha20 of the key and the nonce's first 16 bytes) and the IETF
/// nonce `[0; 4] || nonce[16..24]`.
fn subkey_and_nonce(key: &[u8; 32], xnonce: &[u8; XNONCE_LEN]) -> ([u8; 32], Nonce) {
    let mut head = [0u8; 16];
    head.copy_from_slice(&xnonce[..16]);
    let subkey = hchacha20(key, &head);
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&xnonce[16..]);
    (subkey, Nonce::assume_unique_for_key(nonce))
}

/// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): the ChaCha20 state of the constants, the key and
/// the 16-byte input, 20 rounds without the final addition; the output is state words 0–3
/// and 12–15, little-endian.
fn hchacha20(key: &[u8; 32], input: &[u8; 16]) -> [u8; 32] {
    let word = |bytes: &[u8]| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let mut s = [0u32; 16];
    s[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    for i in 0..8 {
        s[4 + i] = word(&key[4 * i..]);
    }
    for i in 0..4 {
        s[12 + i] = word(&input[4 * i..]);
    }
    fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
        s[a] = s[a].wrapping_add(s[b]);
        s[d] = (s[d] ^ s[a]).rotate_left(16);
        s[c] = s[c].wrapping_add(s[d]);
        s[b] = (s[b] ^ s[c]).rotate_left(12);
        s[a] = s[a].wrapping_add(s[b]);
        s[d] = (s[d] ^ s[a]).rotate_left(8);
        s[c] = s[c].wrapping_add(s[d]);
        s[b] = (s[b] ^ s[c]).rotate_left(7);
    }
    for _ in 0..10 {
        quarter(&mut s, 0, 4, 8, 12);
        quarter(&mut s, 1, 5, 9, 13);
        quarter(&mut s, 2, 6, 10, 14);
        quarter(&mut s, 3, 7, 11, 15);
        quarter(&mut s, 0, 5, 10, 15);
        quarter(&mut s, 1, 6, 11, 12);
        quarter(&mut s, 2, 7, 8, 13);
        quarter(&mut s, 3, 4, 9, 14);
    }
    let mut out = [0u8; 32];
    for (i, w) in s[..4].iter().chain(&s[12..]).enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hchacha20_matches_the_draft_vector() {
        // draft-irtf-cfrg-xchacha-03 §2.2.1.
        let key: [u8; 32] =
            hex::decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                .unwrap()
                .try_into()
                .unwrap();
        let input: [u8; 16] = hex::decode("000000090000004a0000000031415927")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            hex::encode(hchacha20(&key, &input)),
            "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
        );
    }

    #[test]
    fn reads_what_better_auth_wrote() {
        // `symmetricEncrypt({key, data})` of better-auth 1.7.7, run under Node.
        let config = SecretConfig::Single(Secret::new(
            "better-auth-test-secret-please-change-0123456789",
        ));
        let written = "0a3d490f63ce9593091e153530c5b45897639e120df4205054453f6fc5a233587a9c8ad5db28a2d8c230e3b874f4757db5f689a9062a334c8c64a74e15b86a6ad43e0f6f05df3089";
        assert_eq!(
            config.decrypt(written).unwrap(),
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        );
    }

    #[test]
    fn round_trips_and_rejects_other_secrets() {
        let config = SecretConfig::Single(Secret::new("a-secret-of-at-least-32-characters!!"));
        let stored = config.encrypt("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(stored.len(), 2 * (24 + 16 + 16));
        assert_eq!(config.decrypt(&stored).unwrap(), "JBSWY3DPEHPK3PXP");
        let other = SecretConfig::Single(Secret::new("another-secret-of-32-characters-!!!"));
        assert_eq!(other.decrypt(&stored), Err(DecryptError::Rejected));
        assert_eq!(config.decrypt("zz"), Err(DecryptError::Malformed));
    }

    #[test]
    fn rotation_uses_envelopes_and_reads_legacy_hex() {
        let old = Secret::new("old-secret-old-secret-old-secret-1");
        let new = Secret::new("new-secret-new-secret-new-secret-2");
        let legacy_value = SecretConfig::Single(old.clone()).encrypt("legacy").unwrap();
        let rotated = SecretConfig::Rotated {
            keys: vec![(2, new), (1, old.clone())],
            legacy: Some(old),
        };
        let stored = rotated.encrypt("fresh").unwrap();
        assert!(stored.starts_with("$ba$2$"), "{stored}");
        assert_eq!(rotated.decrypt(&stored).unwrap(), "fresh");
        assert_eq!(rotated.decrypt(&legacy_value).unwrap(), "legacy");
        assert_eq!(
            rotated.decrypt("$ba$9$00"),
            Err(DecryptError::UnknownVersion(9))
        );
    }
}

//! The token formats of the auth API (`specs/better-auth-api.md` §2.3, §5): random session and
//! reset tokens, HMAC-signed cookie values (`<value>.<base64 HMAC-SHA256>`), and the HS256
//! email-verification JWT. All signatures are checked in constant time; secrets and tokens
//! never appear in `Debug` output or logs.

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::IamError;

type HmacSha256 = Hmac<Sha256>;

pub(crate) const ALPHANUMERIC: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALPHANUMERIC: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Length of session tokens (`[A-Za-z0-9]`).
pub const SESSION_TOKEN_LEN: usize = 32;
/// Length of password-reset tokens (`[A-Za-z0-9]`).
pub const RESET_TOKEN_LEN: usize = 24;
/// Length of delete-account tokens (`[0-9a-z]`).
pub const DELETE_TOKEN_LEN: usize = 32;

/// The server secret (`BETTER_AUTH_SECRET`): the HMAC key of cookies and JWTs.
///
/// It keeps HMAC-SHA256 keyed with it: keying hashes the inner and outer pads (two SHA-256
/// blocks), which every signature would otherwise repeat (on get-session, half the HMAC work).
#[derive(Clone)]
pub struct Secret {
    text: String,
    keyed: HmacSha256,
}

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        let text = secret.into();
        // HMAC takes keys of every length (long ones are hashed), so this never falls back; the
        // fallback only avoids a panic path.
        let keyed = <HmacSha256 as KeyInit>::new_from_slice(text.as_bytes())
            .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
        Self { text, keyed }
    }

    pub(crate) fn key(&self) -> &[u8] {
        self.text.as_bytes()
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `len` random characters of `alphabet`, uniformly (rejection sampling over OS randomness).
pub(crate) fn random_string(len: usize, alphabet: &[u8]) -> Result<String, IamError> {
    // The largest multiple of the alphabet size that fits a byte: bytes above it are dropped
    // so every character is equally likely.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)
            .map_err(|e| IamError::internal(format!("no randomness available: {e}")))?;
        for b in buf {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}

/// A new session token: 32 characters of `[A-Za-z0-9]`.
pub fn new_session_token() -> Result<String, IamError> {
    random_string(SESSION_TOKEN_LEN, ALPHANUMERIC)
}

/// A new password-reset token: 24 characters of `[A-Za-z0-9]`.
pub fn new_reset_token() -> Result<String, IamError> {
    random_string(RESET_TOKEN_LEN, ALPHANUMERIC)
}

/// A new delete-account token: 32 characters of `[0-9a-z]`.
pub fn new_delete_token() -> Result<String, IamError> {
    random_string(DELETE_TOKEN_LEN, LOWER_ALPHANUMERIC)
}

/// Characters of an API key's random part (§8.1: `[A-Za-z]`).
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of an API key's random part (the plugin's `defaultKeyLength`).
pub const API_KEY_LEN: usize = 64;

/// A new API key's random part: 64 letters (the prefix is prepended by the caller).
pub fn new_api_key_secret() -> Result<String, IamError> {
    random_string(API_KEY_LEN, LETTERS)
}

fn mac(secret: &Secret, message: &[u8]) -> HmacSha256 {
    let mut mac = secret.keyed.clone();
    mac.update(message);
    mac
}

/// `base64(HMAC-SHA256(secret, value))`, standard alphabet with padding (always 44 characters).
pub fn signature(secret: &Secret, value: &str) -> String {
    STANDARD.encode(mac(secret, value.as_bytes()).finalize().into_bytes())
}

/// `<value>.<signature>`: the decoded form of a signed cookie (and of `set-auth-token`).
pub fn sign_value(secret: &Secret, value: &str) -> String {
    format!("{value}.{}", signature(secret, value))
}

/// Checks a signed cookie value (`<value>.<signature>`, already URL-decoded) and returns the
/// value. The split is at the last `.`; the value must be non-empty and the signature 44
/// characters ending in `=` (the cookie rule of §2.3), else `None`.
pub fn verify_signed_cookie(secret: &Secret, signed: &str) -> Option<String> {
    let (value, sig) = signed.rsplit_once('.')?;
    if value.is_empty() || sig.len() != 44 || !sig.ends_with('=') {
        return None;
    }
    let bytes = STANDARD.decode(sig).ok()?;
    check_mac(secret, value, &bytes).then(|| value.to_string())
}

/// Checks a bearer credential's signature (§2.9): standard or URL-safe base64, with or
/// without padding.
pub fn verify_signed_bearer(secret: &Secret, value: &str, sig: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let decoded = STANDARD
        .decode(sig)
        .or_else(|_| URL_SAFE.decode(sig))
        .or_else(|_| URL_SAFE_NO_PAD.decode(sig))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(sig));
    match decoded {
        Ok(bytes) => check_mac(secret, value, &bytes),
        Err(_) => false,
    }
}

/// `base64url_nopad(HMAC-SHA256(secret, message))`: the cookie cache's signature (§2.8).
pub fn hmac_base64url(secret: &Secret, message: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(secret, message.as_bytes()).finalize().into_bytes())
}

/// Checks an [`hmac_base64url`] signature (padding tolerated), in constant time.
pub fn verify_hmac_base64url(secret: &Secret, message: &str, signature: &str) -> bool {
    match URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')) {
        Ok(bytes) => check_mac(secret, message, &bytes),
        Err(_) => false,
    }
}

fn check_mac(secret: &Secret, value: &str, expected: &[u8]) -> bool {
    // `verify_slice` compares in constant time.
    mac(secret, value.as_bytes()).verify_slice(expected).is_ok()
}

/// `base64url_nopad(SHA-256(text))`: how hashed verification identifiers are stored.
pub fn sha256_base64url(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// The claims of an email-verification JWT (§5.2). Field order is the serialised key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailClaims {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
    /// The user the token was issued for (better-auth ≥ 1.7.x hardening, §11); tokens without
    /// it are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

/// Why a JWT was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Well-formed and correctly signed, but `exp` has passed.
    Expired,
    /// Anything else: malformed, wrong algorithm, bad signature, missing claims.
    Invalid,
}

/// A compact HS256 JWS with the header exactly `{"alg":"HS256"}`.
pub fn sign_jwt(secret: &Secret, claims: &EmailClaims) -> Result<String, IamError> {
    let payload = serde_json::to_vec(claims)
        .map_err(|e| IamError::internal(format!("serialising JWT claims: {e}")))?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = mac(secret, signing_input.as_bytes())
        .finalize()
        .into_bytes();
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// Verifies signature, algorithm and expiry (no leeway) at `now_secs`.
pub fn verify_jwt(secret: &Secret, token: &str, now_secs: i64) -> Result<EmailClaims, JwtError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Invalid);
    };
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(JwtError::Invalid)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(JwtError::Invalid);
    }
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| JwtError::Invalid)?;
    if !check_mac(secret, &format!("{header_b64}.{payload}"), &sig) {
        return Err(JwtError::Invalid);
    }
    let claims: EmailClaims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(JwtError::Invalid)?;
    if claims.email.is_empty() || !claims.email.contains('@') {
        return Err(JwtError::Invalid);
    }
    if now_secs >= claims.exp {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "better-auth-test-secret-please-change-0123456789";

    #[test]
    fn cookie_signature_matches_the_spec_vector() {
        let secret = Secret::new(SECRET);
        let token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";
        assert_eq!(
            signature(&secret, token),
            "HHsYD5nfCL/QYxUQR8w/Dc9JfIw+ydUCuN3qGcdNDvc="
        );
        let signed = sign_value(&secret, token);
        assert_eq!(
            verify_signed_cookie(&secret, &signed).as_deref(),
            Some(token)
        );
        // Tampered value, truncated or wrong-length signature, wrong secret: no cookie.
        assert!(verify_signed_cookie(&secret, &signed.replacen('A', "B", 1)).is_none());
        assert!(verify_signed_cookie(&secret, &signed[..signed.len() - 1]).is_none());
        assert!(verify_signed_cookie(&secret, token).is_none());
        assert!(verify_signed_cookie(
            &Secret::new("other-secret-other-secret-other-secret"),
            &signed
        )
        .is_none());
        assert!(verify_signed_cookie(&secret, &format!(".{}", signature(&secret, ""))).is_none());
    }

    #[test]
    fn bearer_signatures_accept_both_base64_alphabets() {
        let secret = Secret::new(SECRET);
        let token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";
        let standard = signature(&secret, token);
        let url_safe = standard.replace('+', "-").replace('/', "_");
        assert!(verify_signed_bearer(&secret, token, &standard));
        assert!(verify_signed_bearer(&secret, token, &url_safe));
        assert!(verify_signed_bearer(
            &secret,
            token,
            url_safe.trim_end_matches('=')
        ));
        assert!(!verify_signed_bearer(&secret, "other", &standard));
        assert!(!verify_signed_bearer(
            &secret,
            token,
            "bm90IGEgc2lnbmF0dXJl"
        ));
    }

    #[test]
    fn jwt_matches_the_spec_vector_and_checks_expiry() {
        let secret = Secret::new(SECRET);
        let claims = EmailClaims {
            email: "vec@example.com".into(),
            update_to: None,
            request_type: None,
            user_id: None,
            iat: 1_893_456_000,
            exp: 1_893_459_600,
        };
        let jwt = sign_jwt(&secret, &claims).expect("sign");
        assert_eq!(
            jwt,
            "eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6InZlY0BleGFtcGxlLmNvbSIsImlhdCI6MTg5MzQ1NjAwMCwiZXhwIjoxODkzNDU5NjAwfQ.EUlN7OzjDQj3ALkTctid_OYI2oTnrGaH2FblVHx_MX4"
        );
        assert_eq!(verify_jwt(&secret, &jwt, 1_893_456_001), Ok(claims));
        assert_eq!(
            verify_jwt(&secret, &jwt, 1_893_459_600),
            Err(JwtError::Expired)
        );
        let mut tampered = jwt.clone();
        tampered.pop();
        tampered.push('A');
        assert_eq!(verify_jwt(&secret, &tampered, 0), Err(JwtError::Invalid));
        assert_eq!(verify_jwt(&secret, "a.b", 0), Err(JwtError::Invalid));
        assert_eq!(verify_jwt(&secret, "a.b.c.d", 0), Err(JwtError::Invalid));
        // An unsigned token ("alg":"none") is refused.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            jwt.split('.').nth(1).unwrap_or_default()
        );
        assert_eq!(verify_jwt(&secret, &none, 0), Err(JwtError::Invalid));
    }

    #[test]
    fn random_tokens_have_the_documented_shape() {
        let a = new_session_token().expect("token");
        let b = new_session_token().expect("token");
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        let reset = new_reset_token().expect("token");
        assert_eq!(reset.len(), 24);
        let delete = new_delete_token().expect("token");
        assert!(delete
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(***)");
    }
}

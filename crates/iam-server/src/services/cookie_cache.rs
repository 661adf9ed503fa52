//! The `session_data` cookie cache (`specs/better-auth-api.md` §2.8, the `compact` strategy):
//! a signed copy of the session and user JSON in a cookie, so `get-session` can answer without
//! reading the database for up to `maxAge` seconds.
//!
//! The signature covers the exact JSON text the cookie carries (better-auth signs
//! `JSON.stringify({...sessionData, expiresAt})`), so decoding keeps the raw text of
//! `sessionData` instead of re-serialising a parsed value: a cookie written by better-auth (any
//! key order) verifies as well as one written here. A cookie longer than [`CHUNK_SIZE`] is split
//! into `<name>.0`, `<name>.1`, … and joined by index on read.
//!
//! What a cache trades away, as in better-auth: a session revoked elsewhere stays readable through
//! a cached cookie until the cache expires (at most `maxAge`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use shared_server::Timestamp;

use crate::services::tokens::{self, Secret};

/// The only `version` this server writes and accepts.
const VERSION: &str = "1";
/// Largest cookie value written in one piece (better-auth splits above 4050 bytes of cookie).
pub const CHUNK_SIZE: usize = 3900;
/// Most chunks read or written (better-auth's limit).
const MAX_CHUNKS: usize = 100;

/// A verified cache entry: the session and user JSON as they were cached.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSession {
    pub session: Value,
    pub user: Value,
}

impl CachedSession {
    /// The session token inside the cached session.
    pub fn token(&self) -> Option<&str> {
        self.session.get("token").and_then(Value::as_str)
    }
}

/// The cookie value caching `session` and `user` at `now` for `max_age_secs`.
pub fn encode(
    secret: &Secret,
    session: &Value,
    user: &Value,
    now: Timestamp,
    max_age_secs: u64,
) -> String {
    let now_ms = now.unix_millis();
    let expires_at =
        now_ms.saturating_add(i64::try_from(max_age_secs.saturating_mul(1000)).unwrap_or(i64::MAX));
    // `json!` orders keys as serde_json's map does; the text is built by hand so the signed
    // order is exactly better-auth's: session, user, updatedAt, version (then expiresAt).
    let session_data = format!(
        r#"{{"session":{},"user":{},"updatedAt":{now_ms},"version":"{VERSION}"}}"#,
        session, user
    );
    let signature = sign(secret, &session_data, expires_at);
    let cookie = format!(
        r#"{{"session":{session_data},"expiresAt":{expires_at},"signature":{}}}"#,
        json!(signature)
    );
    URL_SAFE_NO_PAD.encode(cookie)
}

/// `base64url_nopad(HMAC-SHA256(secret, <signed message>))`.
fn sign(secret: &Secret, session_data: &str, expires_at: i64) -> String {
    tokens::hmac_base64url(secret, &signed_message(session_data, expires_at))
}

/// The text better-auth signs: the `sessionData` JSON with `"expiresAt":N` appended as its last
/// key (`JSON.stringify({...sessionData, expiresAt})`).
fn signed_message(session_data: &str, expires_at: i64) -> String {
    let open = session_data.trim_end();
    let open = open.strip_suffix('}').unwrap_or(open);
    format!(r#"{open},"expiresAt":{expires_at}}}"#)
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    session: &'a RawValue,
    #[serde(rename = "expiresAt")]
    expires_at: i64,
    signature: String,
}

#[derive(Deserialize)]
struct SessionData {
    session: Value,
    user: Value,
    version: Value,
}

/// The cache entry in `value`, if its signature verifies, its version is current, and neither
/// the cache nor the cached session has expired at `now`.
pub fn decode(secret: &Secret, value: &str, now: Timestamp) -> Option<CachedSession> {
    let bytes = URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let envelope: Envelope<'_> = serde_json::from_str(text).ok()?;
    let message = signed_message(envelope.session.get(), envelope.expires_at);
    if !tokens::verify_hmac_base64url(secret, &message, &envelope.signature) {
        return None;
    }
    let now_ms = now.unix_millis();
    if envelope.expires_at <= now_ms {
        return None;
    }
    let data: SessionData = serde_json::from_str(envelope.session.get()).ok()?;
    if data.version.as_str() != Some(VERSION) {
        return None;
    }
    let session_expires = data.session.get("expiresAt")?.as_str()?;
    let session_expires: Timestamp = session_expires.parse().ok()?;
    if session_expires.unix_millis() <= now_ms {
        return None;
    }
    Some(CachedSession {
        session: data.session,
        user: data.user,
    })
}

/// The cookies to write for `value` under `name`: one, or `<name>.<i>` chunks when long.
pub fn split(name: &str, value: &str) -> Vec<(String, String)> {
    if value.len() <= CHUNK_SIZE {
        return vec![(name.to_string(), value.to_string())];
    }
    // base64url is ASCII, so byte chunks are character chunks.
    value
        .as_bytes()
        .chunks(CHUNK_SIZE)
        .take(MAX_CHUNKS)
        .enumerate()
        .map(|(i, chunk)| {
            (
                format!("{name}.{i}"),
                String::from_utf8_lossy(chunk).into_owned(),
            )
        })
        .collect()
}

/// The cache cookie's value from the request's cookies: `name` itself, else its chunks
/// `<name>.0`, `<name>.1`, … joined in index order (a gap ends the value).
pub fn join(cookies: &[(String, String)], name: &str) -> Option<String> {
    if let Some((_, value)) = cookies.iter().find(|(n, _)| n == name) {
        return Some(value.clone());
    }
    let prefix = format!("{name}.");
    let mut chunks: Vec<(usize, &str)> = cookies
        .iter()
        .filter_map(|(n, v)| {
            let index = n.strip_prefix(&prefix)?.parse::<usize>().ok()?;
            Some((index, v.as_str()))
        })
        .filter(|(index, _)| *index < MAX_CHUNKS)
        .collect();
    chunks.sort_by_key(|(index, _)| *index);
    let mut joined = String::new();
    for (expected, (index, value)) in chunks.into_iter().enumerate() {
        if index != expected {
            break;
        }
        joined.push_str(value);
    }
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "better-auth-test-secret-please-change-0123456789";

    /// The §2.8 test vector: better-auth's HMAC input text and signature.
    const VECTOR_INPUT: &str = r#"{"session":{"expiresAt":"2030-01-08T00:00:00.000Z","token":"AbCdEfGhIjKlMnOpQrStUvWxYz012345","createdAt":"2030-01-01T00:00:00.000Z","updatedAt":"2030-01-01T00:00:00.000Z","ipAddress":"","userAgent":"","userId":"UserUserUserUserUserUserUserUser","activeOrganizationId":null,"id":"SessSessSessSessSessSessSessSess"},"user":{"name":"Vec","email":"vec@example.com","emailVerified":false,"image":null,"createdAt":"2030-01-01T00:00:00.000Z","updatedAt":"2030-01-01T00:00:00.000Z","id":"UserUserUserUserUserUserUserUser"},"updatedAt":1893456000000,"version":"1","expiresAt":1893456300000}"#;
    const VECTOR_SIGNATURE: &str = "ppahTzdDCKchZLoqPt5zTzCMmJ8gMkTzhmJPoctDvlI";

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).expect("timestamp")
    }

    /// The vector's cookie exactly as better-auth would write it (its key order).
    fn vector_cookie(signature: &str) -> String {
        let data = VECTOR_INPUT
            .strip_suffix(r#","expiresAt":1893456300000}"#)
            .expect("vector shape");
        let cookie = format!(
            r#"{{"session":{data}}},"expiresAt":1893456300000,"signature":"{signature}"}}"#
        );
        URL_SAFE_NO_PAD.encode(cookie)
    }

    #[test]
    fn the_spec_vector_signs_and_verifies() {
        let secret = Secret::new(SECRET);
        let data = VECTOR_INPUT
            .strip_suffix(r#","expiresAt":1893456300000}"#)
            .map(|open| format!("{open}}}"))
            .expect("vector shape");
        assert_eq!(sign(&secret, &data, 1_893_456_300_000), VECTOR_SIGNATURE);

        let cached = decode(
            &secret,
            &vector_cookie(VECTOR_SIGNATURE),
            at(1_893_456_100_000),
        )
        .expect("a better-auth cookie verifies");
        assert_eq!(cached.token(), Some("AbCdEfGhIjKlMnOpQrStUvWxYz012345"));
        assert_eq!(cached.user["email"], "vec@example.com");
    }

    #[test]
    fn forged_expired_or_foreign_cookies_are_refused() {
        let secret = Secret::new(SECRET);
        let forged = VECTOR_SIGNATURE.replace('p', "q");
        assert_eq!(
            decode(&secret, &vector_cookie(&forged), at(1_893_456_100_000)),
            None
        );
        // The cache expired (expiresAt 1893456300000).
        assert_eq!(
            decode(
                &secret,
                &vector_cookie(VECTOR_SIGNATURE),
                at(1_893_456_300_000)
            ),
            None
        );
        // Another secret.
        let other = Secret::new("another-secret-another-secret-another-secret");
        assert_eq!(
            decode(
                &other,
                &vector_cookie(VECTOR_SIGNATURE),
                at(1_893_456_100_000)
            ),
            None
        );
        for garbage in ["", "not base64!", "e30", "bnVsbA"] {
            assert_eq!(decode(&secret, garbage, at(0)), None, "{garbage}");
        }
    }

    #[test]
    fn written_entries_round_trip_until_they_expire() {
        let secret = Secret::new(SECRET);
        let session = json!({"id": "s1", "token": "tok", "expiresAt": "2030-01-08T00:00:00.000Z"});
        let user = json!({"id": "u1", "name": "Ada"});
        let now = at(1_893_456_000_000);
        let value = encode(&secret, &session, &user, now, 300);
        let cached = decode(&secret, &value, now).expect("round trip");
        assert_eq!(cached.session, session);
        assert_eq!(cached.user, user);
        assert!(decode(&secret, &value, at(1_893_456_300_000)).is_none());

        // A cached session that itself expired is refused even while the cache is fresh.
        let stale = json!({"id": "s1", "token": "tok", "expiresAt": "2030-01-01T00:00:10.000Z"});
        let value = encode(&secret, &stale, &user, now, 300);
        assert!(decode(&secret, &value, at(1_893_456_020_000)).is_none());

        // Another version is refused.
        let text = String::from_utf8(
            URL_SAFE_NO_PAD
                .decode(encode(&secret, &session, &user, now, 300))
                .unwrap(),
        )
        .unwrap();
        let bumped = URL_SAFE_NO_PAD.encode(text.replace(r#""version":"1""#, r#""version":"2""#));
        assert!(decode(&secret, &bumped, now).is_none());
    }

    #[test]
    fn long_values_are_chunked_and_joined() {
        let value = "a".repeat(CHUNK_SIZE * 2 + 10);
        let parts = split("better-auth.session_data", &value);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].0, "better-auth.session_data.0");
        let mut shuffled = parts.clone();
        shuffled.reverse();
        assert_eq!(
            join(&shuffled, "better-auth.session_data").as_deref(),
            Some(value.as_str())
        );
        // A missing middle chunk truncates at the gap (and then fails to verify).
        let gap = vec![parts[0].clone(), parts[2].clone()];
        assert_eq!(
            join(&gap, "better-auth.session_data").map(|v| v.len()),
            Some(CHUNK_SIZE)
        );
        let short = split("x", "abc");
        assert_eq!(short, vec![("x".to_string(), "abc".to_string())]);
        assert_eq!(join(&short, "x").as_deref(), Some("abc"));
        assert_eq!(join(&[], "x"), None);
    }
}

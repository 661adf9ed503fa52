//! Where a request's session token comes from (`specs/better-auth-api.md` §2.2, §2.3, §2.9):
//! the `Authorization: Bearer` header (signed `token.signature`, or a raw token), else the
//! signed session cookie. Shared by the auth API and the `AuthContext` resolver, so both read
//! credentials identically. Invalid credentials are simply absent.

use axum::http::{header, HeaderMap};
use percent_encoding::percent_decode_str;

use crate::config::IamConfig;
use crate::services::tokens::{self, Secret};

/// The cookie names in effect (`<prefix>.<name>`, with `__Secure-` when secure cookies are on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieNames {
    pub session_token: String,
    pub session_data: String,
    pub dont_remember: String,
    /// The two-factor plugin's pending sign-in and trusted-device cookies.
    pub two_factor: String,
    pub trust_device: String,
    pub secure: bool,
}

impl CookieNames {
    pub fn for_config(config: &IamConfig) -> Self {
        let secure = config.use_secure_cookies();
        let name = |cookie: &str| {
            let base = format!("{}.{cookie}", config.cookie_prefix);
            if secure {
                format!("__Secure-{base}")
            } else {
                base
            }
        };
        Self {
            session_token: name("session_token"),
            session_data: name("session_data"),
            dont_remember: name("dont_remember"),
            two_factor: name("two_factor"),
            trust_device: name("trust_device"),
            secure,
        }
    }
}

/// The request's cookies: `;`-separated `name=value`, the first occurrence of a name wins,
/// surrounding double quotes stripped, values with `%` URL-decoded (better-call's parser).
pub fn parse_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut cookies: Vec<(String, String)> = Vec::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() || cookies.iter().any(|(n, _)| n == name) {
                continue;
            }
            let mut value = value.trim();
            if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                value = &value[1..value.len() - 1];
            }
            let decoded = if value.contains('%') {
                percent_decode_str(value)
                    .decode_utf8()
                    .map(|v| v.into_owned())
                    .unwrap_or_else(|_| value.to_string())
            } else {
                value.to_string()
            };
            cookies.push((name.to_string(), decoded));
        }
    }
    cookies
}

/// The value of cookie `name`, if present.
pub fn cookie<'a>(cookies: &'a [(String, String)], name: &str) -> Option<&'a str> {
    cookies
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The session token of a valid bearer credential (§2.9), or `None`.
pub fn bearer_token(headers: &HeaderMap, secret: &Secret) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if value.len() < 7 || !value[..7].eq_ignore_ascii_case("bearer ") {
        return None;
    }
    let credential = value[7..].trim();
    if credential.is_empty() {
        return None;
    }
    if !credential.contains('.') {
        // A raw session token is accepted as if the server had signed it.
        return Some(credential.to_string());
    }
    let decoded = if credential.contains('%') {
        percent_decode_str(credential)
            .decode_utf8()
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| credential.to_string())
    } else {
        credential.to_string()
    };
    let (token, signature) = decoded.rsplit_once('.')?;
    tokens::verify_signed_bearer(secret, token, signature).then(|| token.to_string())
}

/// The token in the signed session cookie, if its signature verifies.
pub fn cookie_token(
    cookies: &[(String, String)],
    names: &CookieNames,
    secret: &Secret,
) -> Option<String> {
    let signed = cookie(cookies, &names.session_token)?;
    tokens::verify_signed_cookie(secret, signed)
}

/// The request's session token: a valid bearer credential wins over the cookie.
pub fn session_token(headers: &HeaderMap, config: &IamConfig) -> Option<String> {
    bearer_token(headers, config.secret()).or_else(|| {
        let cookies = parse_cookies(headers);
        cookie_token(&cookies, &config.cookie_names(), config.secret())
    })
}

/// The value of the signed cookie `name`, if present and correctly signed.
pub fn signed_cookie(cookies: &[(String, String)], name: &str, secret: &Secret) -> Option<String> {
    tokens::verify_signed_cookie(secret, cookie(cookies, name)?)
}

/// Whether a valid signed `dont_remember` cookie is present (§2.6).
pub fn dont_remember(cookies: &[(String, String)], names: &CookieNames, secret: &Secret) -> bool {
    cookie(cookies, &names.dont_remember)
        .and_then(|signed| tokens::verify_signed_cookie(secret, signed))
        .is_some_and(|value| value == "true")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const SECRET: &str = "better-auth-test-secret-please-change-0123456789";
    const TOKEN: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";
    const WIRE: &str =
        "AbCdEfGhIjKlMnOpQrStUvWxYz012345.HHsYD5nfCL%2FQYxUQR8w%2FDc9JfIw%2BydUCuN3qGcdNDvc%3D";

    fn config() -> IamConfig {
        IamConfig::new(SECRET, "http://127.0.0.1:4000")
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn cookies_parse_like_better_call() {
        let h = headers(&[
            (header::COOKIE, "a=1; b=\"quoted\"; a=2; broken; c=x%20y"),
            (header::COOKIE, "d=4"),
        ]);
        let cookies = parse_cookies(&h);
        assert_eq!(cookie(&cookies, "a"), Some("1"), "first occurrence wins");
        assert_eq!(cookie(&cookies, "b"), Some("quoted"));
        assert_eq!(cookie(&cookies, "c"), Some("x y"));
        assert_eq!(cookie(&cookies, "d"), Some("4"));
        assert_eq!(cookie(&cookies, "broken"), None);
    }

    #[test]
    fn the_signed_session_cookie_yields_its_token() {
        let config = config();
        let h = headers(&[(header::COOKIE, &format!("better-auth.session_token={WIRE}"))]);
        assert_eq!(session_token(&h, &config).as_deref(), Some(TOKEN));
        // Forged signature, unsigned value, or the secure name on a plain-http server: none.
        let forged = WIRE.replace("HHsY", "HHsZ");
        for cookie in [
            format!("better-auth.session_token={forged}"),
            format!("better-auth.session_token={TOKEN}"),
            format!("__Secure-better-auth.session_token={WIRE}"),
        ] {
            let h = headers(&[(header::COOKIE, &cookie)]);
            assert_eq!(session_token(&h, &config), None, "{cookie}");
        }
    }

    #[test]
    fn bearer_credentials_win_and_accept_raw_tokens() {
        let config = config();
        let signed = tokens::sign_value(config.secret(), TOKEN);
        for auth in [
            format!("Bearer {signed}"),
            format!("bearer   {WIRE}  "),
            format!("BEARER {TOKEN}"),
        ] {
            let h = headers(&[
                (header::AUTHORIZATION, &auth),
                (header::COOKIE, "better-auth.session_token=other.sig"),
            ]);
            assert_eq!(session_token(&h, &config).as_deref(), Some(TOKEN), "{auth}");
        }
        let bad = headers(&[(header::AUTHORIZATION, &format!("Bearer {TOKEN}.AAAA"))]);
        assert_eq!(session_token(&bad, &config), None);
        let basic = headers(&[(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")]);
        assert_eq!(session_token(&basic, &config), None);
    }
}

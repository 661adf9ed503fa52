//! Origin and CSRF checks of state-changing auth requests (`specs/better-auth-api.md` §1.6):
//! cookie-bearing POSTs need a trusted `Origin` (or `Referer`), sign-in and sign-up also check
//! Fetch Metadata (login CSRF), and redirect targets in the body or query must be trusted
//! origins or safe relative paths.

use axum::http::{HeaderMap, Method};
use serde_json::Value;

use crate::config::{origin_of, IamConfig};
use crate::error::{ErrorCode, IamError};
use crate::js::truthy;

/// The trusted origins: the public URL's origin and the configured list (may hold `*`).
pub fn trusted_origins(config: &IamConfig) -> Vec<String> {
    let mut all = vec![config.public_origin()];
    all.extend(config.trusted_origins.iter().cloned());
    all
}

/// Whether `value` (an origin or URL, or a path when `allow_relative`) is trusted.
pub fn is_trusted(value: &str, trusted: &[String], allow_relative: bool) -> bool {
    if value.starts_with('/') {
        return allow_relative && is_safe_relative_url(value);
    }
    trusted
        .iter()
        .any(|pattern| matches_origin_pattern(value, pattern))
}

fn matches_origin_pattern(value: &str, pattern: &str) -> bool {
    if pattern.contains('*') || pattern.contains('?') {
        if pattern.contains("://") {
            let origin = origin_of(value).unwrap_or_else(|| value.to_string());
            return wildcard_match(pattern, &origin);
        }
        return url::Url::parse(value)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .is_some_and(|host| wildcard_match(pattern, &host));
    }
    origin_of(value).is_some_and(|origin| origin == pattern)
}

/// Glob matching: `*` is any run of characters other than `/`, `?` one such character.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == t[ti] || (p[pi] == '?' && t[ti] != '/')) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            if t[st] == '/' {
                return false;
            }
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A root-relative path that every browser and router resolves on the same origin: a single
/// leading `/`, no backslash, no control characters, no encoded `/` or `\` in the path.
pub fn is_safe_relative_url(value: &str) -> bool {
    if !value.starts_with('/')
        || value.starts_with("//")
        || value.contains('\\')
        || value.chars().any(|c| c.is_control())
    {
        return false;
    }
    let path = value.split(['?', '#']).next().unwrap_or_default();
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return false;
    }
    const BASE: &str = "https://better-auth.invalid";
    url::Url::parse(BASE)
        .and_then(|base| base.join(value))
        .is_ok_and(|joined| joined.origin().ascii_serialization() == BASE)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Rule A: the request's `Origin` (else `Referer`) must be present, not `null`, and trusted.
fn validate_origin(
    headers: &HeaderMap,
    request_origin: &str,
    trusted: &[String],
) -> Result<(), IamError> {
    let origin = header(headers, "origin");
    let value = match origin {
        // `Origin: null` from a same-origin fetch stands for the request's own origin.
        Some("null") if header(headers, "sec-fetch-site") == Some("same-origin") => {
            request_origin.to_string()
        }
        Some(origin) => origin.to_string(),
        None => header(headers, "referer").unwrap_or_default().to_string(),
    };
    if value.is_empty() || value == "null" {
        return Err(IamError::forbidden(ErrorCode::MissingOrNullOrigin));
    }
    if !is_trusted(&value, trusted, false) {
        tracing::info!(origin = %value, "auth request refused: untrusted origin");
        return Err(IamError::forbidden(ErrorCode::InvalidOrigin));
    }
    Ok(())
}

/// The checks for one request: rule A on cookie-bearing state-changing requests, rule C
/// (login CSRF) on sign-in/sign-up, and rule B on redirect targets.
pub fn check_request(
    method: &Method,
    headers: &HeaderMap,
    login: bool,
    body: &Value,
    query: &serde_json::Map<String, Value>,
    config: &IamConfig,
) -> Result<(), IamError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let trusted = trusted_origins(config);
    let request_origin = config.public_origin();
    let has_cookie = headers.contains_key("cookie");
    if has_cookie {
        validate_origin(headers, &request_origin, &trusted)?;
    } else if login {
        let site = header(headers, "sec-fetch-site");
        let mode = header(headers, "sec-fetch-mode");
        let dest = header(headers, "sec-fetch-dest");
        if site.is_some() || mode.is_some() || dest.is_some() {
            if site == Some("cross-site") && mode == Some("navigate") {
                return Err(IamError::forbidden(
                    ErrorCode::CrossSiteNavigationLoginBlocked,
                ));
            }
            validate_origin(headers, &request_origin, &trusted)?;
        } else if header(headers, "origin").is_some() || header(headers, "referer").is_some() {
            validate_origin(headers, &request_origin, &trusted)?;
        }
    }

    let field = |name: &str| -> Option<&Value> {
        body.get(name)
            .filter(|v| truthy(v))
            .or_else(|| (name == "callbackURL").then(|| query.get(name)).flatten())
            .filter(|v| truthy(v))
    };
    for (name, label, code) in [
        ("callbackURL", "callbackURL", ErrorCode::InvalidCallbackUrl),
        ("redirectTo", "redirectURL", ErrorCode::InvalidRedirectUrl),
        (
            "errorCallbackURL",
            "errorCallbackURL",
            ErrorCode::InvalidErrorCallbackUrl,
        ),
        (
            "newUserCallbackURL",
            "newUserCallbackURL",
            ErrorCode::InvalidNewUserCallbackUrl,
        ),
    ] {
        let Some(value) = field(name) else { continue };
        let Some(url) = value.as_str() else {
            return Err(IamError::message_only(
                axum::http::StatusCode::BAD_REQUEST,
                format!("Invalid {label}: expected a string"),
            ));
        };
        if !is_trusted(url, &trusted, true) {
            tracing::info!(
                field = name,
                "auth request refused: untrusted redirect target"
            );
            return Err(IamError::forbidden(code));
        }
    }
    Ok(())
}

/// The check of GET endpoints that take a `callbackURL` query (403 `INVALID_CALLBACK_URL`).
pub fn check_callback(callback: Option<&str>, config: &IamConfig) -> Result<(), IamError> {
    match callback.filter(|c| !c.is_empty()) {
        Some(url) if !is_trusted(url, &trusted_origins(config), true) => {
            Err(IamError::forbidden(ErrorCode::InvalidCallbackUrl))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;

    fn config() -> IamConfig {
        let mut config =
            IamConfig::new("0123456789abcdef0123456789abcdef", "http://127.0.0.1:4000");
        config.trusted_origins = vec![
            "https://app.example.com".into(),
            "https://*.preview.example.com".into(),
        ];
        config
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    fn code(result: Result<(), IamError>) -> Option<&'static str> {
        result.err().and_then(|e| e.code()).map(|c| c.as_str())
    }

    #[test]
    fn relative_paths_are_safe_only_when_unambiguous() {
        for ok in ["/", "/dashboard", "/a/b?x=1#y", "/reset?next=%2Fhome"] {
            assert!(is_safe_relative_url(ok), "{ok}");
        }
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "/a%2f..",
            "/a%5Cb",
            "/x\ny",
            "dashboard",
        ] {
            assert!(!is_safe_relative_url(bad), "{bad}");
        }
    }

    #[test]
    fn origins_match_exactly_or_by_wildcard() {
        let trusted = trusted_origins(&config());
        assert!(is_trusted("http://127.0.0.1:4000", &trusted, false));
        assert!(is_trusted(
            "https://app.example.com/some/page?x",
            &trusted,
            false
        ));
        assert!(is_trusted(
            "https://pr-1.preview.example.com",
            &trusted,
            false
        ));
        assert!(!is_trusted(
            "https://app.example.com.evil.com",
            &trusted,
            false
        ));
        assert!(!is_trusted("http://app.example.com", &trusted, false));
        assert!(!is_trusted(
            "https://a.b.preview.example.co",
            &trusted,
            false
        ));
        assert!(!is_trusted("/relative", &trusted, false));
        assert!(is_trusted("/relative", &trusted, true));
    }

    #[test]
    fn cookie_requests_need_a_trusted_origin() {
        let config = config();
        let empty = serde_json::Map::new();
        let post = Method::POST;
        let check = |h: HeaderMap, login: bool| {
            code(check_request(
                &post,
                &h,
                login,
                &Value::Null,
                &empty,
                &config,
            ))
        };
        assert_eq!(check(headers(&[]), false), None, "no cookie, no check");
        assert_eq!(
            check(headers(&[("cookie", "a=b")]), false),
            Some("MISSING_OR_NULL_ORIGIN")
        );
        assert_eq!(
            check(headers(&[("cookie", "a=b"), ("origin", "null")]), false),
            Some("MISSING_OR_NULL_ORIGIN")
        );
        assert_eq!(
            check(
                headers(&[
                    ("cookie", "a=b"),
                    ("origin", "null"),
                    ("sec-fetch-site", "same-origin")
                ]),
                false
            ),
            None
        );
        assert_eq!(
            check(
                headers(&[("cookie", "a=b"), ("origin", "https://evil.com")]),
                false
            ),
            Some("INVALID_ORIGIN")
        );
        assert_eq!(
            check(
                headers(&[
                    ("cookie", "a=b"),
                    ("referer", "https://app.example.com/login")
                ]),
                false
            ),
            None
        );
        // GET is never checked.
        assert!(check_request(
            &Method::GET,
            &headers(&[("cookie", "a=b")]),
            false,
            &Value::Null,
            &empty,
            &config
        )
        .is_ok());
    }

    #[test]
    fn login_requests_check_fetch_metadata() {
        let config = config();
        let empty = serde_json::Map::new();
        let check = |h: HeaderMap| {
            code(check_request(
                &Method::POST,
                &h,
                true,
                &Value::Null,
                &empty,
                &config,
            ))
        };
        assert_eq!(check(headers(&[])), None, "server-to-server");
        assert_eq!(
            check(headers(&[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "navigate")
            ])),
            Some("CROSS_SITE_NAVIGATION_LOGIN_BLOCKED")
        );
        assert_eq!(
            check(headers(&[("sec-fetch-mode", "cors")])),
            Some("MISSING_OR_NULL_ORIGIN")
        );
        assert_eq!(
            check(headers(&[
                ("sec-fetch-mode", "cors"),
                ("origin", "http://127.0.0.1:4000")
            ])),
            None
        );
        assert_eq!(
            check(headers(&[("origin", "https://evil.com")])),
            Some("INVALID_ORIGIN")
        );
    }

    #[test]
    fn redirect_targets_must_be_trusted() {
        let config = config();
        let empty = serde_json::Map::new();
        let check = |body: Value| {
            code(check_request(
                &Method::POST,
                &HeaderMap::new(),
                false,
                &body,
                &empty,
                &config,
            ))
        };
        assert_eq!(check(json!({"callbackURL": "/welcome"})), None);
        assert_eq!(
            check(json!({"callbackURL": "https://app.example.com/x"})),
            None
        );
        assert_eq!(
            check(json!({"callbackURL": "https://evil.com"})),
            Some("INVALID_CALLBACK_URL")
        );
        assert_eq!(
            check(json!({"redirectTo": "//evil.com"})),
            Some("INVALID_REDIRECT_URL")
        );
        assert_eq!(
            check(json!({"errorCallbackURL": "https://evil.com"})),
            Some("INVALID_ERROR_CALLBACK_URL")
        );
        assert_eq!(
            check(json!({"newUserCallbackURL": "https://evil.com"})),
            Some("INVALID_NEW_USER_CALLBACK_URL")
        );
        assert_eq!(
            check(json!({"callbackURL": ""})),
            None,
            "falsy values are not checked"
        );
        let err = check_request(
            &Method::POST,
            &HeaderMap::new(),
            false,
            &json!({"callbackURL": 5}),
            &empty,
            &config,
        )
        .expect_err("not a string");
        assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST);
    }
}

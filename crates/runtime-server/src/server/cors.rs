//! CORS exactly as the original server behaved (its `HttpRouter.layer`):
//!
//! - `OPTIONS` on any path answers `204` with allow-origin, allow-credentials, allow-methods
//!   and allow-headers;
//! - with several trusted origins the request's `Origin` is echoed only when listed (plus
//!   `Vary: Origin`); with one, that origin is always sent; with none, `*`;
//! - every other response carries allow-origin and allow-credentials;
//! - a malformed `Origin` gets no CORS headers at all.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, POST, PUT, DELETE, PATCH");
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static(
    "Content-Type, Authorization, B3, traceparent, x-captcha-response, x-captcha-user-remote-ip",
);
const ANY: HeaderValue = HeaderValue::from_static("*");
const TRUE: HeaderValue = HeaderValue::from_static("true");
const ORIGIN: HeaderValue = HeaderValue::from_static("Origin");

/// The trusted origins, reduced to `scheme://host[:port]`, with their header values made once.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: Arc<Vec<(String, HeaderValue)>>,
}

/// What `Access-Control-Allow-Origin` says for one request, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowOrigin {
    None,
    Any,
    Fixed(HeaderValue),
    Echo(HeaderValue),
}

impl CorsPolicy {
    /// Origins that are not valid header values cannot be sent and are left out.
    pub fn new(origins: Vec<String>) -> Self {
        let origins = origins
            .into_iter()
            .filter_map(|origin| {
                let value = HeaderValue::from_str(&origin).ok()?;
                Some((origin, value))
            })
            .collect();
        Self {
            origins: Arc::new(origins),
        }
    }

    pub fn allow_origin(&self, headers: &HeaderMap) -> AllowOrigin {
        let origin = match headers.get(header::ORIGIN) {
            None => None,
            Some(value) => match value.to_str().ok().and_then(|v| self.well_formed(v)) {
                Some(origin) => Some(origin),
                None => return AllowOrigin::None,
            },
        };
        match self.origins.as_slice() {
            [] => AllowOrigin::Any,
            [(_, only)] => AllowOrigin::Fixed(only.clone()),
            many => match origin {
                Some(origin) => many
                    .iter()
                    .find(|(trusted, _)| *trusted == origin)
                    .map_or(AllowOrigin::None, |(_, value)| {
                        AllowOrigin::Echo(value.clone())
                    }),
                None => AllowOrigin::None,
            },
        }
    }

    /// `value` reduced to its serialized origin, if it is one. A trusted origin (the usual case)
    /// is recognized without parsing it as a URL.
    fn well_formed<'a>(&self, value: &'a str) -> Option<std::borrow::Cow<'a, str>> {
        let trimmed = value.trim_end_matches('/');
        if self.origins.iter().any(|(trusted, _)| trusted == trimmed) {
            return Some(std::borrow::Cow::Borrowed(trimmed));
        }
        well_formed_origin(value).map(std::borrow::Cow::Owned)
    }
}

/// The origin if `value` is a serialized origin (`scheme://host[:port]`), else `None`.
fn well_formed_origin(value: &str) -> Option<String> {
    let url = url::Url::parse(value).ok()?;
    let origin = url.origin();
    if !origin.is_tuple() || !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let serialized = origin.ascii_serialization();
    (serialized == value.trim_end_matches('/')).then_some(serialized)
}

/// Adds allow-origin and allow-credentials (and `Vary: Origin` when echoed) to a response.
pub fn apply(headers: &mut HeaderMap, allow: AllowOrigin) {
    let echoed = matches!(allow, AllowOrigin::Echo(_));
    let value = match allow {
        AllowOrigin::None => return,
        AllowOrigin::Any => ANY,
        AllowOrigin::Fixed(origin) | AllowOrigin::Echo(origin) => origin,
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
    if echoed {
        headers.append(header::VARY, ORIGIN);
    }
}

/// The answer to `OPTIONS` on any path: 204, with the CORS headers unless the origin is refused.
pub fn preflight(allow: AllowOrigin) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if allow != AllowOrigin::None {
        let headers = response.headers_mut();
        apply(headers, allow);
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_origin(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers
    }

    #[test]
    fn origin_rules() {
        let none = CorsPolicy::new(vec![]);
        let one = CorsPolicy::new(vec!["https://app.example.com".into()]);
        let many = CorsPolicy::new(vec![
            "https://a.example.com".into(),
            "https://b.example.com".into(),
        ]);
        let b = with_origin("https://b.example.com");
        let evil = with_origin("https://evil.example.com");
        assert_eq!(none.allow_origin(&b), AllowOrigin::Any);
        assert_eq!(
            one.allow_origin(&evil),
            AllowOrigin::Fixed(HeaderValue::from_static("https://app.example.com"))
        );
        assert_eq!(
            many.allow_origin(&b),
            AllowOrigin::Echo(HeaderValue::from_static("https://b.example.com"))
        );
        // A trusted origin with a trailing slash is still that origin.
        assert_eq!(
            many.allow_origin(&with_origin("https://b.example.com/")),
            AllowOrigin::Echo(HeaderValue::from_static("https://b.example.com"))
        );
        assert_eq!(many.allow_origin(&evil), AllowOrigin::None);
        assert_eq!(many.allow_origin(&HeaderMap::new()), AllowOrigin::None);
        for malformed in [
            "not an origin",
            "https://a.example.com/path",
            "ftp://a.example.com",
            "null",
        ] {
            assert_eq!(
                none.allow_origin(&with_origin(malformed)),
                AllowOrigin::None,
                "{malformed}"
            );
        }
    }
}

//! CORS exactly as the original server behaved (its `HttpRouter.layer`):
//!
//! - `OPTIONS` on any path answers `204` with allow-origin, allow-credentials, allow-methods
//!   and allow-headers;
//! - with several trusted origins the request's `Origin` is echoed only when listed (plus
//!   `Vary: Origin`); with one, that origin is always sent; with none, `*`;
//! - every other response carries allow-origin and allow-credentials;
//! - a malformed `Origin` gets no CORS headers at all.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, PATCH";
const ALLOW_HEADERS: &str =
    "Content-Type, Authorization, B3, traceparent, x-captcha-response, x-captcha-user-remote-ip";

/// The trusted origins, reduced to `scheme://host[:port]`.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: Arc<Vec<String>>,
}

/// What `Access-Control-Allow-Origin` says for one request, if anything.
#[derive(Debug, PartialEq, Eq)]
enum AllowOrigin {
    None,
    Any,
    Fixed(String),
    Echo(String),
}

impl CorsPolicy {
    pub fn new(origins: Vec<String>) -> Self {
        Self {
            origins: Arc::new(origins),
        }
    }

    fn allow_origin(&self, headers: &HeaderMap) -> AllowOrigin {
        let origin = match headers.get(header::ORIGIN) {
            None => None,
            Some(value) => match value.to_str().ok().and_then(well_formed_origin) {
                Some(origin) => Some(origin),
                None => return AllowOrigin::None,
            },
        };
        match self.origins.as_slice() {
            [] => AllowOrigin::Any,
            [only] => AllowOrigin::Fixed(only.clone()),
            many => match origin {
                Some(origin) if many.contains(&origin) => AllowOrigin::Echo(origin),
                _ => AllowOrigin::None,
            },
        }
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

fn apply(headers: &mut HeaderMap, allow: &AllowOrigin) {
    let value = match allow {
        AllowOrigin::None => return,
        AllowOrigin::Any => HeaderValue::from_static("*"),
        AllowOrigin::Fixed(origin) | AllowOrigin::Echo(origin) => {
            match HeaderValue::from_str(origin) {
                Ok(value) => value,
                Err(_) => return,
            }
        }
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    if matches!(allow, AllowOrigin::Echo(_)) {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

pub async fn cors(State(policy): State<CorsPolicy>, request: Request, next: Next) -> Response {
    let allow = policy.allow_origin(request.headers());
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if allow != AllowOrigin::None {
            let headers = response.headers_mut();
            apply(headers, &allow);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
        }
        return response;
    }
    let mut response = next.run(request).await;
    apply(response.headers_mut(), &allow);
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
            AllowOrigin::Fixed("https://app.example.com".into())
        );
        assert_eq!(
            many.allow_origin(&b),
            AllowOrigin::Echo("https://b.example.com".into())
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

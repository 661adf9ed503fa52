//! An auth request as handlers see it: the route it matched, its query (repeated keys become
//! arrays), its body parsed by better-call's rules (`specs/better-auth-api.md` §1.3: JSON, or
//! form-encoded on sign-in/sign-up; other media types 415; malformed JSON 400), its cookies,
//! and the client's address and user agent.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, IamError};
use crate::services::credentials::{self, CookieNames};
use crate::services::{ApiKeyCaller, ClientInfo};

/// Largest request body read (auth bodies are small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A parsed auth request. Its `Debug` output shows neither the body (passwords) nor the
/// headers and cookies (tokens).
pub struct AuthRequest {
    pub method: Method,
    pub headers: HeaderMap,
    /// Path parameter (the reset token of `/reset-password/:token`).
    pub param: Option<String>,
    pub query: Map<String, Value>,
    /// The body; `Null` when there was none.
    pub body: Value,
    pub cookies: Vec<(String, String)>,
    pub names: Arc<CookieNames>,
    pub client: ClientInfo,
    /// The `x-api-key` caller, once the API-key hook validated the header (§8.6).
    pub api_key: Option<Box<ApiKeyCaller>>,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.cookies.iter().map(|(n, _)| n.as_str()).collect();
        let fields: Vec<&str> = self
            .body
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("AuthRequest")
            .field("method", &self.method)
            .field("query_keys", &self.query.keys().collect::<Vec<_>>())
            .field("body_fields", &fields)
            .field("cookie_names", &names)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl AuthRequest {
    /// Reads the request. `form_allowed`: the endpoint also accepts
    /// `application/x-www-form-urlencoded` (sign-in, sign-up).
    pub async fn read(
        request: axum::extract::Request,
        param: Option<String>,
        form_allowed: bool,
        names: Arc<CookieNames>,
    ) -> Result<AuthRequest, IamError> {
        let (parts, body) = request.into_parts();
        let query = parse_query(parts.uri.query().unwrap_or_default());
        let body = if parts.method == Method::POST {
            read_body(&parts.headers, body, form_allowed).await?
        } else {
            Value::Null
        };
        let cookies = credentials::parse_cookies(&parts.headers);
        let client = client_info(&parts.headers);
        Ok(AuthRequest {
            method: parts.method,
            headers: parts.headers,
            param,
            query,
            body,
            cookies,
            names,
            client,
            api_key: None,
        })
    }

    /// A query value as text (the first of repeated keys).
    pub fn query_str(&self, name: &str) -> Option<&str> {
        match self.query.get(name)? {
            Value::String(s) => Some(s),
            Value::Array(items) => items.first().and_then(Value::as_str),
            _ => None,
        }
    }
}

fn parse_query(query: &str) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            None => {
                map.insert(key.into_owned(), value);
            }
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    map
}

async fn read_body(headers: &HeaderMap, body: Body, form_allowed: bool) -> Result<Value, IamError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| IamError::Status(StatusCode::PAYLOAD_TOO_LARGE))?;
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let base = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let allowed: &[&str] = if form_allowed {
        &["application/x-www-form-urlencoded", "application/json"]
    } else {
        &["application/json"]
    };
    if !allowed.iter().any(|a| base == *a || base.contains(a)) {
        let list = allowed.join(", ");
        let message = if content_type.trim().is_empty() {
            format!("Content-Type is required. Allowed types: {list}")
        } else {
            format!("Content-Type \"{content_type}\" is not allowed. Allowed types: {list}")
        };
        return Err(IamError::api_with(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            message,
        ));
    }
    if base.contains("json") {
        return serde_json::from_slice(&bytes).map_err(|_| {
            IamError::api_with(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "Invalid JSON in request body",
            )
        });
    }
    let mut form = Map::new();
    for (key, value) in url::form_urlencoded::parse(&bytes) {
        form.insert(key.into_owned(), Value::String(value.into_owned()));
    }
    Ok(Value::Object(form))
}

/// The client's address (a single-value `x-forwarded-for`; a list is not trusted) and user
/// agent, as better-auth records them.
pub(crate) fn client_info(headers: &HeaderMap) -> ClientInfo {
    let ip_address = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.contains(','))
        .and_then(|v| v.parse::<std::net::IpAddr>().ok())
        .map(|ip| match ip {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
            v4 => v4.to_string(),
        });
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(512).collect());
    ClientInfo {
        ip_address,
        user_agent,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn repeated_query_keys_become_arrays() {
        let q = parse_query("a=1&b=x%20y&a=2&a=3");
        assert_eq!(q["a"], serde_json::json!(["1", "2", "3"]));
        assert_eq!(q["b"], "x y");
    }

    #[test]
    fn only_single_forwarded_addresses_are_trusted() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        h.insert(header::USER_AGENT, HeaderValue::from_static("test-agent"));
        let info = client_info(&h);
        assert_eq!(info.ip_address.as_deref(), Some("203.0.113.9"));
        assert_eq!(info.user_agent.as_deref(), Some("test-agent"));
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 5.6.7.8"),
        );
        assert_eq!(client_info(&h).ip_address, None);
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("::ffff:10.0.0.1"),
        );
        assert_eq!(client_info(&h).ip_address.as_deref(), Some("10.0.0.1"));
    }

    #[tokio::test]
    async fn bodies_follow_better_calls_media_type_rules() {
        let headers = |ct: Option<&'static str>| {
            let mut h = HeaderMap::new();
            if let Some(ct) = ct {
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            h
        };
        let read = |ct, body: &'static str, form| async move {
            read_body(&headers(ct), Body::from(body), form).await
        };
        assert_eq!(
            read(Some("application/json; charset=utf-8"), r#"{"a":1}"#, false)
                .await
                .ok(),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(read(None, "", false).await.ok(), Some(Value::Null));
        let e = read(Some("text/plain"), "hi", false)
            .await
            .expect_err("415");
        assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let e = read(None, "hi", false).await.expect_err("415");
        assert_eq!(e.code(), Some(ErrorCode::UnsupportedMediaType));
        let e = read(Some("application/json"), "{oops", false)
            .await
            .expect_err("400");
        assert_eq!(e.code(), Some(ErrorCode::BadRequest));
        let e = read(Some("application/x-www-form-urlencoded"), "a=1", false)
            .await
            .expect_err("415");
        assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            read(
                Some("application/x-www-form-urlencoded"),
                "email=a%40b.co&x=1",
                true
            )
            .await
            .ok(),
            Some(serde_json::json!({"email": "a@b.co", "x": "1"}))
        );
    }
}

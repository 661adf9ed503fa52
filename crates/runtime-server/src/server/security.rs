//! Security headers on every response: no MIME sniffing, no framing, a strict referrer policy,
//! and HSTS in production. A handler that sets one of them keeps its own value.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};

const HEADERS: [(HeaderName, HeaderValue); 3] = [
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    ),
];
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");

/// Whether to send `Strict-Transport-Security` (`APP_ENV=prod`).
#[derive(Debug, Clone, Copy)]
pub struct Hsts(pub bool);

/// Adds the security headers a response does not carry yet.
pub fn apply(headers: &mut HeaderMap, Hsts(hsts): Hsts) {
    for (name, value) in HEADERS {
        headers.entry(name).or_insert(value);
    }
    if hsts {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HSTS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_values_win_and_hsts_only_when_asked() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
        apply(&mut headers, Hsts(false));
        assert_eq!(headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(headers.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        apply(&mut headers, Hsts(true));
        assert_eq!(
            headers[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000; includeSubDomains"
        );
    }
}

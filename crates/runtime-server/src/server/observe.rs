//! Per-request observability pieces used by the HTTP stack ([`super::stack`]): the request id
//! (`x-request-id`, taken or generated, returned, on every log line), the span
//! `http <METHOD> <route>` with OpenTelemetry semantic-convention fields joined to the caller's
//! trace, and the one log line per request. `OPTIONS` and the health route get no span and no log
//! line (they are noise), only metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::tooling::propagation;

/// `x-request-id`, as a header name made at compile time (a `&str` name is parsed on every use).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The request's id, in request extensions for handlers and error logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    pub fn as_str(&self) -> &str {
        // Only printable ASCII ids are accepted or generated.
        self.0.to_str().unwrap_or_default()
    }
}

/// Accepts a caller's id when it is short and printable (the header value itself is reused);
/// otherwise makes one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&REQUEST_ID)
        .filter(|v| {
            let bytes = v.as_bytes();
            !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(|| RequestIds::process().next())
}

/// Generates request ids: 32 lowercase hex digits, a random 64-bit prefix drawn once per process
/// followed by a per-process counter passed through a keyed 64-bit permutation.
///
/// Unique: the counter never repeats within a process (2^64 values) and the permutation is a
/// bijection, so two ids of one process never collide; ids of different processes differ by
/// their random prefix (a collision needs two of them to draw the same 64 bits). Not sequential
/// to the eye (the permutation is keyed by per-process random numbers), but not a secret either:
/// a request id is a correlation handle and must never be used to authorize anything. Costs an
/// atomic increment and a few multiplications, where a UUID v7 read the OS random source.
#[derive(Debug)]
pub struct RequestIds {
    prefix: [u8; 16],
    keys: [u64; 3],
    counter: AtomicU64,
}

impl RequestIds {
    /// Seeds a generator from the OS random source.
    pub fn new() -> Self {
        let random = |fallback: u64| getrandom::u64().unwrap_or(fallback);
        // Without an OS random source (never seen on supported systems), time and pid still
        // make the prefix differ between processes.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let pid = u64::from(std::process::id());
        let mut prefix = [0u8; 16];
        hex_into(random(nanos ^ (pid << 32)), &mut prefix);
        Self {
            prefix,
            // Multipliers must be odd for the permutation to be a bijection.
            keys: [random(pid), random(nanos) | 1, random(nanos ^ pid) | 1],
            counter: AtomicU64::new(0),
        }
    }

    /// The generator shared by every server of this process.
    pub fn process() -> &'static Self {
        static IDS: OnceLock<RequestIds> = OnceLock::new();
        IDS.get_or_init(Self::new)
    }

    pub fn next(&self) -> HeaderValue {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; 32];
        id[..16].copy_from_slice(&self.prefix);
        hex_into(self.permute(n), &mut id[16..]);
        HeaderValue::from_bytes(&id).expect("hex digits are a valid header value")
    }

    /// A keyed bijection of 64-bit numbers (xor, odd multiplications and xor-shifts each are).
    fn permute(&self, n: u64) -> u64 {
        let [k0, k1, k2] = self.keys;
        let mut x = (n ^ k0).wrapping_mul(k1);
        x ^= x >> 29;
        x = x.wrapping_mul(k2);
        x ^ (x >> 32)
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

fn hex_into(value: u64, out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in out.iter_mut().take(16).enumerate() {
        *byte = DIGITS[((value >> (60 - 4 * i)) & 0xf) as usize];
    }
}

/// Whether a request gets a span and a log line.
pub fn traced(method: &Method, route: &str) -> bool {
    *method != Method::OPTIONS && route != "/v1/health"
}

/// The request's span; a disabled span when the level filters it out, in which case no field is
/// formatted and the caller's trace headers are not even read.
pub fn request_span(
    method: &Method,
    route: &str,
    path: &str,
    headers: &HeaderMap,
    id: &HeaderValue,
) -> Span {
    let span = tracing::info_span!(
        "http",
        otel.name = %format_args!("http {method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = %route,
        url.path = %path,
        user_agent.original = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
        http.response.status_code = Empty,
        request_id = %id.to_str().unwrap_or_default(),
    );
    if !span.is_disabled() {
        if let Some(parent) = propagation::remote_parent(headers) {
            let _ = span.set_parent(parent);
        }
    }
    span
}

/// Records the answer on the span and writes the request's log line inside it: 404s at debug,
/// 5xx at warn, everything else at info.
pub fn finish_span(span: &Span, method: &Method, route: &str, status: StatusCode, elapsed_ms: f64) {
    if !span.is_disabled() {
        span.record("http.response.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
    }
    let _entered = span.enter();
    let code = status.as_u16();
    if code == 404 {
        tracing::debug!(%method, %route, status = code, elapsed_ms, "request");
    } else if status.is_server_error() {
        tracing::warn!(%method, %route, status = code, elapsed_ms, "request");
    } else {
        tracing::info!(%method, %route, status = code, elapsed_ms, "request");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generated_ids_are_unique_hex_with_one_prefix() {
        let ids = RequestIds::new();
        let mut seen = HashSet::new();
        for _ in 0..200_000 {
            let id = ids.next();
            let text = id.to_str().unwrap();
            assert_eq!(text.len(), 32);
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert_eq!(&text[..16], std::str::from_utf8(&ids.prefix).unwrap());
            assert!(seen.insert(text.to_string()), "duplicate id {text}");
        }
        // Consecutive ids do not look consecutive.
        let a = u64::from_str_radix(&ids.next().to_str().unwrap()[16..], 16).unwrap();
        let b = u64::from_str_radix(&ids.next().to_str().unwrap()[16..], 16).unwrap();
        assert!(a.abs_diff(b) > 1_000_000, "{a:x} {b:x}");
    }

    #[test]
    fn two_generators_draw_different_prefixes_and_keys() {
        let (a, b) = (RequestIds::new(), RequestIds::new());
        assert_ne!(a.prefix, b.prefix);
        assert_ne!(a.permute(0), b.permute(0));
    }

    #[test]
    fn caller_ids_are_kept_only_when_short_and_printable() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("req-abc-123"));
        assert_eq!(request_id(&headers), "req-abc-123");
        for bad in ["has spaces", "", &"x".repeat(129)] {
            headers.insert(REQUEST_ID, HeaderValue::from_str(bad).unwrap());
            let id = request_id(&headers);
            assert_ne!(id, bad);
            assert_eq!(id.len(), 32);
        }
    }
}

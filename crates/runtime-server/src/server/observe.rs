//! Per-request observability, in one middleware: the request id (`x-request-id`, taken or
//! generated, returned, on every log line), one span `http <METHOD> <route>` with OpenTelemetry
//! semantic-convention fields joined to the caller's trace, one log line, and the metrics.
//! `OPTIONS` and the health route get no span and no log line (they are noise), only metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::field::Empty;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::tooling::{propagation, HttpMetrics};

pub const REQUEST_ID: &str = "x-request-id";

/// The request's id, in request extensions for handlers and error logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts a caller's id when it is short and printable; otherwise makes one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
}

pub async fn observe(
    State(metrics): State<HttpMetrics>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let _in_flight = metrics.in_flight();
    let traced = method != Method::OPTIONS && route != "/v1/health";

    let mut response = if traced {
        let span = tracing::info_span!(
            "http",
            otel.name = %format_args!("http {method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = %method,
            http.route = %route,
            url.path = %request.uri().path(),
            user_agent.original = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
            http.response.status_code = Empty,
            request_id = %id,
        );
        if let Some(parent) = propagation::remote_parent(request.headers()) {
            let _ = span.set_parent(parent);
        }
        let response = next.run(request).instrument(span.clone()).await;
        let status = response.status();
        span.record("http.response.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.in_scope(|| {
            if status.as_u16() == 404 {
                tracing::debug!(%method, %route, status = status.as_u16(), elapsed_ms, "request");
            } else if status.is_server_error() {
                tracing::warn!(%method, %route, status = status.as_u16(), elapsed_ms, "request");
            } else {
                tracing::info!(%method, %route, status = status.as_u16(), elapsed_ms, "request");
            }
        });
        response
    } else {
        next.run(request).await
    };
    metrics.record(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

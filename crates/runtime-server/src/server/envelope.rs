//! Every error leaves the server in the same JSON envelope `{code, message}` with a stable code:
//! errors produced outside our handlers (extractor rejections, the body limit, the timeout,
//! unknown methods) are rewritten here (called by [`super::stack`]), and handler panics become a
//! 500 with a logged defect.

use std::any::Any;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The stable code for a status.
pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable_entity",
        429 => "too_many_requests",
        503 => "service_unavailable",
        s if s >= 500 => "internal_error",
        _ => "error",
    }
}

fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "No route matches this path",
        405 => "This path does not accept this method",
        408 => "The request took too long; retry it",
        413 => "The request body is too large",
        503 => "The service is unavailable; retry later",
        s if s >= 500 => "Internal server error",
        _ => "The request was not accepted",
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// Whether `response` is an error that is not in a JSON envelope yet.
pub fn needs_envelope(response: &Response) -> bool {
    response.status().as_u16() >= 400 && !is_json(response)
}

/// Rewrites an error response (see [`needs_envelope`]) into the envelope, keeping its status and
/// headers.
pub async fn into_envelope(response: Response) -> Response {
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    // Client errors keep their (short, actionable) text; server errors never expose details.
    let message = if status.is_client_error() {
        axum::body::to_bytes(body, 1024)
            .await
            .ok()
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty())
            .unwrap_or_else(|| default_message(status).to_string())
    } else {
        default_message(status).to_string()
    };
    let envelope = ApiError::new(status, code_for(status), message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let (_, body) = envelope.into_parts();
    Response::from_parts(parts, Body::new(body))
}

/// The response to a handler panic: a 500 envelope; the panic message goes to the log only.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = shared_server::layer::panic_message(&*panic);
    tracing::error!(defect = %message, "handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Internal server error",
    )
    .into_response()
}

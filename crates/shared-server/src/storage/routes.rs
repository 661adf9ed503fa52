//! `PUT/GET /v1/shared/objects/{key…}?expires&signature`: the target of the local backend's
//! presigned URLs (slices.md §1.6).
//!
//! The signed URL is the only credential: no session is needed. A request is served when its
//! signature matches (method, key, expiry, the `Content-Type` sent and, when signed, the
//! `Content-MD5` sent) and the URL has not expired. Uploads stream to a temporary file and become
//! visible only once complete; a `Content-MD5` header, signed or not, must match the body.
//! Errors answer `{"code": "...", "message": "..."}`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{
    CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::BytesMut;
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::headers::content_md5_of_digest;
use super::signing::SignedFields;
use super::{
    normalize_content_md5, object_name, LocalObjectStore, StorageError, DEFAULT_CONTENT_TYPE,
};

/// Path prefix of the object routes; presigned URLs are `{base_url}{OBJECT_ROUTE_PREFIX}/{name}`.
pub const OBJECT_ROUTE_PREFIX: &str = "/v1/shared/objects";

/// Size of the chunks a download is streamed in.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// The routes serving the local store's presigned URLs. Mount them on the public router: the
/// signature is the authorization. Uploads are capped by
/// [`LocalObjectStore::max_upload_bytes`].
pub fn object_routes(store: Arc<LocalObjectStore>) -> Router {
    Router::new()
        .route(
            &format!("{OBJECT_ROUTE_PREFIX}/{{*key}}"),
            get(get_object).put(put_object),
        )
        .with_state(store)
}

/// The query string of a presigned URL.
#[derive(Debug, Deserialize)]
struct SignedQuery {
    expires: Option<String>,
    signature: Option<String>,
}

async fn put_object(
    State(store): State<Arc<LocalObjectStore>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<SignedQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RouteError> {
    let key = request_key(path)?;
    let name = object_name(&key).map_err(RouteError::invalid_key)?;
    let content_type = header_str(&headers, CONTENT_TYPE.as_str())?.unwrap_or("");
    let content_md5 = header_str(&headers, "content-md5")?;
    authorize(&store, &query, "PUT", name, content_type, content_md5)?;

    let max = store.max_upload_bytes();
    let declared_length =
        header_str(&headers, CONTENT_LENGTH.as_str())?.and_then(|value| value.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > max) {
        return Err(RouteError::too_large(max));
    }
    let expected_md5 = content_md5
        .map(normalize_content_md5)
        .transpose()
        .map_err(|error| RouteError::new(StatusCode::BAD_REQUEST, "invalid_content_md5", error))?;

    let mut staged = store.stage().await.map_err(RouteError::internal)?;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|error| {
            RouteError::new(
                StatusCode::BAD_REQUEST,
                "body_read_failed",
                format!("could not read the request body: {error}"),
            )
        })?;
        if staged.size() + chunk.len() as u64 > max {
            return Err(RouteError::too_large(max));
        }
        staged.write(&chunk).await.map_err(RouteError::internal)?;
    }

    let digest = staged.md5();
    if let Some(expected) = expected_md5 {
        if content_md5_of_digest(&digest) != expected {
            return Err(RouteError::new(
                StatusCode::BAD_REQUEST,
                "bad_digest",
                "the body does not match its Content-MD5 header",
            ));
        }
    }
    staged
        .commit(&store, name, Some(content_type))
        .await
        .map_err(RouteError::internal)?;

    let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(digest)))
        .map_err(|error| RouteError::internal(error.to_string()))?;
    Ok((StatusCode::OK, [(ETAG, etag)]).into_response())
}

async fn get_object(
    State(store): State<Arc<LocalObjectStore>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<SignedQuery>, QueryRejection>,
) -> Result<Response, RouteError> {
    let key = request_key(path)?;
    let name = object_name(&key).map_err(RouteError::invalid_key)?;
    authorize(&store, &query, "GET", name, "", None)?;

    let (file, meta) = store.open(&key, name).await.map_err(|error| match error {
        StorageError::NotFound { .. } => RouteError::new(
            StatusCode::NOT_FOUND,
            "object_not_found",
            format!("object `{name}` not found"),
        ),
        other => RouteError::internal(other),
    })?;

    let content_type = meta
        .content_type
        .as_deref()
        .and_then(|value| HeaderValue::from_str(value).ok())
        .unwrap_or(HeaderValue::from_static(DEFAULT_CONTENT_TYPE));
    let mut response = Response::new(Body::from_stream(file_chunks(file)));
    let response_headers = response.headers_mut();
    response_headers.insert(CONTENT_LENGTH, HeaderValue::from(meta.size));
    response_headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !renders_passively(meta.content_type.as_deref().unwrap_or(DEFAULT_CONTENT_TYPE)) {
        // Uploaded HTML/SVG/XML is served from the app's own origin: never let it run script.
        response_headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    }
    response_headers.insert(CONTENT_TYPE, content_type);
    Ok(response)
}

/// The decoded `{*key}` capture.
fn request_key(path: Result<Path<String>, PathRejection>) -> Result<String, RouteError> {
    path.map(|Path(key)| key).map_err(|rejection| {
        RouteError::new(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            format!("invalid object key in the path: {}", rejection.body_text()),
        )
    })
}

/// Checks the signature (constant time), then the expiry.
///
/// A `Content-MD5` the client sends without it having been signed is allowed (it is still checked
/// against the body), so the signature is tried with it first, then without it.
fn authorize(
    store: &LocalObjectStore,
    query: &Result<Query<SignedQuery>, QueryRejection>,
    method: &str,
    name: &str,
    content_type: &str,
    content_md5: Option<&str>,
) -> Result<(), RouteError> {
    let Ok(Query(SignedQuery {
        expires: Some(expires_text),
        signature: Some(signature),
    })) = query
    else {
        return Err(RouteError::signature_invalid(
            "the URL lacks its `expires` and `signature` parameters",
        ));
    };
    let Ok(expires) = expires_text.parse::<u64>() else {
        return Err(RouteError::signature_invalid(
            "the URL's `expires` parameter is not a unix time",
        ));
    };
    let unsigned_md5 = SignedFields {
        method,
        name,
        expires,
        content_type,
        content_md5: "",
    };
    let signer = store.signer();
    let valid = content_md5.is_some_and(|content_md5| {
        let signed_md5 = SignedFields {
            content_md5,
            ..unsigned_md5
        };
        signer.verify(&signed_md5, signature)
    }) || signer.verify(&unsigned_md5, signature);
    if !valid {
        return Err(RouteError::signature_invalid(
            "the signature does not match this request (method, key, expiry, Content-Type and \
             Content-MD5 must be those that were signed)",
        ));
    }

    let now = chrono::Utc::now().timestamp();
    if u64::try_from(now).map_or(true, |now| now > expires) {
        return Err(RouteError::new(
            StatusCode::FORBIDDEN,
            "url_expired",
            "the presigned URL has expired",
        ));
    }
    Ok(())
}

/// A header as text; a value that is not visible ASCII is a client error.
fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, RouteError> {
    headers
        .get(name)
        .map(|value| {
            value.to_str().map_err(|_| {
                RouteError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_header",
                    format!("the `{name}` header is not valid text"),
                )
            })
        })
        .transpose()
}

/// Content a browser displays without running code in our origin.
fn renders_passively(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_svg = essence == "image/svg+xml";
    (essence.starts_with("image/") && !is_svg)
        || essence.starts_with("audio/")
        || essence.starts_with("video/")
        || essence == "application/pdf"
        || essence == "text/plain"
}

/// The file's bytes as a stream of chunks, ending at EOF or at the first read error.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buffer = BytesMut::with_capacity(READ_CHUNK_BYTES);
        match file.read_buf(&mut buffer).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buffer.freeze()), Some(file))),
            Err(error) => Some((Err(error), None)),
        }
    })
}

/// An error answer of the object routes: status plus `{"code", "message"}`.
#[derive(Debug)]
struct RouteError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl RouteError {
    fn new(status: StatusCode, code: &'static str, message: impl ToString) -> Self {
        Self {
            status,
            code,
            message: message.to_string(),
        }
    }

    fn signature_invalid(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "signature_invalid", message)
    }

    fn invalid_key(error: StorageError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_key", error)
    }

    fn too_large(max: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the object exceeds the maximum upload size of {max} bytes"),
        )
    }

    /// Details go to the log; the client only learns that storage failed.
    fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "object route failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            "the object store failed",
        )
    }
}

impl IntoResponse for RouteError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

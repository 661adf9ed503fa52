//! `GET /v1/shared/files/{fileId}/content` (slices.md §1.6): the stable URL of a file. The
//! caller must be signed in, a member of the active organization and the file's owner; the
//! answer is a `302` to a presigned GET of the object (valid 5 minutes), so the bytes never pass
//! through this server. Another user's or tenant's file answers exactly like a missing one
//! (`404`). Errors answer `{"code": "...", "message": "..."}`.
//!
//! The route authenticates by itself (the same resolution as the RPC procedures), so it can be
//! mounted anywhere; the runtime builds it once the auth ports exist ([`content_routes`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::auth::{AuthResolver, OrgMembers};
use crate::entities::FileId;
use crate::files::UploadService;
use crate::repos::FileRepo;
use crate::rpc::{resolve_caller, Access, Caller, RpcError};

/// Lifetime of the presigned GET a content request is redirected to.
pub const CONTENT_URL_TTL: Duration = Duration::from_secs(5 * 60);

/// What the content route needs.
#[derive(Clone)]
pub struct ContentRouteState {
    pub files: FileRepo,
    pub uploads: Arc<UploadService>,
    pub resolver: Arc<dyn AuthResolver>,
    /// The membership port; without it every caller is refused (as for RPC procedures).
    pub members: Option<Arc<dyn OrgMembers>>,
}

/// The route `GET /v1/shared/files/{fileId}/content`.
pub fn content_routes(state: ContentRouteState) -> Router {
    Router::new()
        .route("/v1/shared/files/{file_id}/content", get(file_content))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"code": code, "message": message})),
    )
        .into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "file not found")
}

async fn file_content(
    State(state): State<ContentRouteState>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = resolve_caller(
        Access::Organization,
        Some(state.resolver.as_ref()),
        state.members.as_deref(),
        &headers,
    )
    .await;
    let who = match caller {
        Ok(Caller::Member(who)) => who,
        Ok(_) => return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "sign in first"),
        Err(RpcError::Unauthorized(refusal)) => {
            return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", &refusal.message)
        }
        Err(_) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "AUTH_UNAVAILABLE",
                "authentication is unavailable; try again",
            )
        }
    };
    let Ok(file_id) = FileId::parse(&file_id) else {
        return not_found();
    };
    let file = match state
        .files
        .find_by_id(state.files.db(), who.org_id(), &file_id)
        .await
    {
        Ok(Some(file)) if &file.user_id == who.user_id() => file,
        Ok(_) => return not_found(),
        Err(fault) => {
            tracing::error!(error = %fault, "reading a file for its content route failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            );
        }
    };
    match state
        .uploads
        .store()
        .presign_get(file.key.as_str(), CONTENT_URL_TTL)
        .await
    {
        Ok(presigned) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, presigned.url),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
        )
            .into_response(),
        Err(fault) => {
            tracing::error!(key = %file.key, error = %fault, "presigning a file download failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}

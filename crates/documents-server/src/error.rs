//! `DocumentsError`: the one error type of the slice's services and procedures, and its one
//! mapping to RPC failures (slices.md §0.7, §3.3, §3.5). Repository errors map through the
//! kernel's table (`NotFound { entity }` → `<Entity>NotFoundError { id }`, stale versions →
//! `VersionConflictError { id, expectedVersion, actualVersion }`, …); the slice adds its access
//! and state failures, each with the id it is about.

use shared_server::rpc::{Failure, IntoFailure, RpcError};
use shared_server::RepoError;

#[derive(Debug, thiserror::Error)]
pub enum DocumentsError {
    /// A repository call failed (`NotFound`, `Conflict`, `VersionConflict`, …).
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A payload field breaks a rule of §3 (`path` names it: `title`, `parentDocumentId`, …).
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// A payload `organizationId` other than the active organization (§0.3).
    #[error("organizationId must be the active organization")]
    Forbidden,
    /// The caller neither owns the document nor is an organization owner/admin.
    #[error("only the document's owner or an organization admin may change document {id}")]
    DocumentPermissionDenied { id: String },
    /// A content field was sent while the page is locked.
    #[error("document {id} is locked")]
    DocumentLocked { id: String },
    /// The document is in the trash: only restore, archive and delete are accepted.
    #[error("document {id} is archived")]
    DocumentArchived { id: String },
    /// The caller may see the discussion, comment or version but not change it.
    #[error("not allowed on {id}")]
    PermissionDenied { id: String },
}

impl DocumentsError {
    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// `<entity>NotFoundError { id }` for `id`, e.g. a malformed id (which names no row).
    pub fn not_found(entity: &'static str, id: impl std::fmt::Display) -> Self {
        Self::Repo(RepoError::not_found(entity, id))
    }
}

impl IntoFailure for DocumentsError {
    fn into_failure(self) -> RpcError<Failure> {
        let message = self.to_string();
        let failure = match self {
            Self::Repo(error) => return Failure::from_repo(error),
            Self::Invalid { path, message } => Failure::validation(message).at(path),
            Self::Forbidden => Failure::forbidden(message),
            Self::DocumentPermissionDenied { id } => {
                tagged("DocumentPermissionDeniedError", id, message)
            }
            Self::DocumentLocked { id } => tagged("DocumentLockedError", id, message),
            Self::DocumentArchived { id } => tagged("DocumentArchivedError", id, message),
            Self::PermissionDenied { id } => tagged("PermissionDeniedError", id, message),
        };
        RpcError::Fail(failure)
    }
}

fn tagged(tag: &str, id: String, message: String) -> Failure {
    Failure::tagged(tag)
        .field("id", id)
        .field("message", message)
}

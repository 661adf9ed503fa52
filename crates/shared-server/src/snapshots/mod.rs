//! The `DocumentSnapshots` port (slices.md §9): how a slice that cites documents (knowledge's
//! evidence) freezes a document's text into an immutable version and reads a version back,
//! without depending on the documents slice. documents-server implements it over its tables;
//! [`MemoryDocumentSnapshots`] is the in-memory double for other slices' tests.
//!
//! The document and version id newtypes live here, next to the port, so both sides name the
//! same types (`documents_document__…`, `documents_document_version__…`).

mod memory;

pub use memory::MemoryDocumentSnapshots;

use crate::db::RepoError;
use crate::entities::{OrganizationId, UserId};

crate::entity_id!(
    /// Id of a `documents_document` row.
    DocumentId,
    "documents_document"
);

crate::entity_id!(
    /// Id of a `documents_document_version` row (immutable: a citation anchor).
    DocumentVersionId,
    "documents_document_version"
);

crate::id_sql_value!(DocumentId, DocumentVersionId);

/// A version just written by [`DocumentSnapshots::create_snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub version_id: DocumentVersionId,
    /// The text the version holds (the document's content when none was given).
    pub content: String,
}

/// The text of one version, as [`DocumentSnapshots::get_version_content`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionContent {
    pub document_id: DocumentId,
    pub version_id: DocumentVersionId,
    pub content: String,
}

/// Why a snapshot call failed. Another organization's document or version is reported exactly
/// like a missing one.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("document {0} not found")]
    DocumentNotFound(DocumentId),
    #[error("document version {0} not found")]
    VersionNotFound(DocumentVersionId),
    #[error(transparent)]
    Storage(RepoError),
}

/// Immutable document versions, as a service other slices use (provided by the documents
/// layer as `dyn DocumentSnapshots`).
#[async_trait::async_trait]
pub trait DocumentSnapshots: Send + Sync + 'static {
    /// Writes a new version of `document` authored by `actor`, holding `content`, or the
    /// document's current content when `content` is `None` (title and rich content are copied
    /// from the document).
    async fn create_snapshot(
        &self,
        org: &OrganizationId,
        actor: &UserId,
        document: &DocumentId,
        content: Option<String>,
    ) -> Result<Snapshot, SnapshotError>;

    /// The text of `version`.
    async fn get_version_content(
        &self,
        org: &OrganizationId,
        version: &DocumentVersionId,
    ) -> Result<VersionContent, SnapshotError>;
}

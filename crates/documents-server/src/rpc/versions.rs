//! Handlers of the `DocumentVersion.*` procedures (slices.md §3.5).

use std::sync::Arc;

use serde::Serialize;
use shared_server::rpc::OrgCaller;

use super::payload::{self, id_of, is_active_organization, same_organization, ById};
use super::{rows, Rows};
use crate::entities::{
    DocumentId, DocumentVersion, DocumentVersionId, MAX_CONTENT_CHARS, MAX_TITLE_CHARS,
};
use crate::layer::DocumentsState;
use crate::repos::{VersionContent, VersionWithAuthor};
use crate::services::SnapshotInput;
use crate::DocumentsError;

/// `DocumentVersion.createSnapshot`'s success: `{ data: DocumentVersion }`.
#[derive(Debug, Serialize)]
pub struct CreatedSnapshot {
    pub data: DocumentVersion,
}

/// `DocumentVersion.get {id}` -> `DocumentVersion & { user }` | `DocumentVersionNotFoundError {id}`.
pub async fn get(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<VersionWithAuthor, DocumentsError> {
    let id = id_of("DocumentVersion", &p.id)?;
    s.versions.get(&who, &id).await
}

/// `DocumentVersion.getContent {id, organizationId}` -> `{documentId, documentVersionId,
/// content}` | `DocumentVersionNotFoundError` (also when `organizationId` is not the active one).
pub async fn get_content(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::GetVersionContent,
) -> Result<VersionContent, DocumentsError> {
    let id: DocumentVersionId = id_of("DocumentVersion", &p.id)?;
    if !is_active_organization(&who, &p.organization_id) {
        return Err(DocumentsError::not_found("DocumentVersion", id));
    }
    s.versions.content(who.org_id(), &id).await
}

/// `DocumentVersion.listByDocument {documentId}` (stream) -> `DocumentVersion & { user }`,
/// newest first, ≤ 500.
pub async fn list_by_document(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::ByDocument,
) -> Rows<VersionWithAuthor> {
    match p.document_id.parse::<DocumentId>() {
        Ok(document) => Ok(rows(s.versions.list_by_document(&who, &document).await?)),
        Err(_) => Ok(rows(Vec::new())),
    }
}

/// `DocumentVersion.createSnapshot {organizationId, documentId, title?, content?, contentRich?}`
/// -> `{ data: DocumentVersion }` (absent fields copied from the document) |
/// `DocumentNotFoundError` | `ValidationError`.
pub async fn create_snapshot(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::CreateSnapshot,
) -> Result<CreatedSnapshot, DocumentsError> {
    same_organization(&who, &p.organization_id)?;
    payload::optional_text("title", p.title.as_deref(), MAX_TITLE_CHARS)?;
    payload::optional_text("content", p.content.as_deref(), MAX_CONTENT_CHARS)?;
    payload::rich("contentRich", p.content_rich.as_ref())?;
    let document = id_of("Document", &p.document_id)?;
    let input = SnapshotInput {
        title: p.title,
        content: p.content,
        content_rich: p.content_rich,
    };
    let data = s
        .versions
        .snapshot(who.org_id(), who.user_id(), &document, input)
        .await?;
    Ok(CreatedSnapshot { data })
}

/// `DocumentVersion.hardDelete {id}` -> void | `DocumentVersionNotFoundError` |
/// `PermissionDeniedError` (neither its author nor a manager of its document).
pub async fn hard_delete(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<(), DocumentsError> {
    let id = id_of("DocumentVersion", &p.id)?;
    s.versions.hard_delete(&who, &id).await
}

//! `VersionService`: immutable snapshots (slices.md §3.3, §3.5, §9): any member snapshots a
//! document (absent fields are copied from it) and reads versions; a version is hard-deleted
//! by its author or a manager of its document.

use serde_json::Value as Json;
use shared_server::db::Db;
use shared_server::entities::{OrganizationId, UserId};
use shared_server::rpc::OrgCaller;

use super::manages;
use crate::entities::{DocumentId, DocumentVersion, DocumentVersionId, NewDocumentVersion};
use crate::repos::{DocumentRepo, DocumentVersionRepo, VersionContent, VersionWithAuthor};
use crate::DocumentsError;

/// What a snapshot holds; `None` fields are copied from the document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotInput {
    pub title: Option<String>,
    pub content: Option<String>,
    pub content_rich: Option<Json>,
}

#[derive(Debug, Clone)]
pub struct VersionService {
    db: Db,
    documents: DocumentRepo,
    versions: DocumentVersionRepo,
}

impl VersionService {
    pub fn new(db: Db, documents: DocumentRepo, versions: DocumentVersionRepo) -> Self {
        Self {
            db,
            documents,
            versions,
        }
    }

    pub async fn get(
        &self,
        who: &OrgCaller,
        id: &DocumentVersionId,
    ) -> Result<VersionWithAuthor, DocumentsError> {
        Ok(self
            .versions
            .get_with_author(&self.db, who.org_id(), id)
            .await?)
    }

    pub async fn content(
        &self,
        org: &OrganizationId,
        id: &DocumentVersionId,
    ) -> Result<VersionContent, DocumentsError> {
        Ok(self.versions.get_content(&self.db, org, id).await?)
    }

    pub async fn list_by_document(
        &self,
        who: &OrgCaller,
        document: &DocumentId,
    ) -> Result<Vec<VersionWithAuthor>, DocumentsError> {
        Ok(self
            .versions
            .list_by_document(&self.db, who.org_id(), document)
            .await?)
    }

    /// Freezes `document` (a live document of `org`) as a new version authored by `actor`.
    pub async fn snapshot(
        &self,
        org: &OrganizationId,
        actor: &UserId,
        document: &DocumentId,
        input: SnapshotInput,
    ) -> Result<DocumentVersion, DocumentsError> {
        let current = self.documents.get(&self.db, org, document).await?;
        let new = NewDocumentVersion {
            document_id: document.clone(),
            user_id: actor.clone(),
            title: input.title.or(current.title),
            content: input.content.or(current.content).unwrap_or_default(),
            content_rich: input.content_rich.or(current.content_rich),
        };
        Ok(self.versions.create_snapshot(&self.db, org, new).await?)
    }

    /// The version's author or a manager of its document removes it.
    pub async fn hard_delete(
        &self,
        who: &OrgCaller,
        id: &DocumentVersionId,
    ) -> Result<(), DocumentsError> {
        let version = self.versions.get(&self.db, who.org_id(), id).await?;
        if &version.user_id != who.user_id() {
            let document = self
                .documents
                .find_by_id(&self.db, who.org_id(), &version.document_id)
                .await?;
            if !document.is_some_and(|d| manages(who, &d)) {
                return Err(DocumentsError::PermissionDenied { id: id.to_string() });
            }
        }
        Ok(self
            .versions
            .hard_delete(&self.db, who.org_id(), id)
            .await?)
    }
}

//! `documents_document_version`: an immutable snapshot of a document's text, the anchor that
//! knowledge evidence cites (slices.md §3.1, §8). Rows are inserted and hard-deleted, never
//! updated: the entity's patch type is uninhabited, `DocumentVersionRepo` exposes no update or
//! soft delete, and a trigger on both backends refuses `UPDATE`.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shared_server::db::repo::{Entity, NewRow, NoFilter, OrgScoped, PatchRow};
use shared_server::db::{Columns, RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

use super::{DocumentId, DocumentVersionId};

/// A `documents_document_version` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentVersion {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: DocumentVersionId,
    pub organization_id: OrganizationId,
    pub document_id: DocumentId,
    pub user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_rich: Option<Json>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for DocumentVersion {
    type Id = DocumentVersionId;
    type New = NewDocumentVersion;
    type Patch = NoPatch;
    type Filter = NoFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "documents_document_version";
    const NAME: &'static str = "DocumentVersion";

    fn id(&self) -> &DocumentVersionId {
        &self.id
    }

    shared_server::repo_spans!("DocumentVersionRepo");
}

/// A version to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDocumentVersion {
    pub document_id: DocumentId,
    pub user_id: UserId,
    pub title: Option<String>,
    pub content: String,
    pub content_rich: Option<Json>,
}

impl NewRow for NewDocumentVersion {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("document_id", self.document_id)
            .set("user_id", self.user_id)
            .set("title", self.title)
            .set("content", self.content)
            .set("content_rich", self.content_rich);
        c.finish()
    }
}

/// The patch of a table that is never updated: no value of it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPatch {}

impl PatchRow for NoPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        match self {}
    }
}

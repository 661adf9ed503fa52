//! `documents_document_file`: a file attached to a document (org-scoped, owned by `user_id`);
//! deleting the document keeps the file row and clears `document_id`.

use serde::{Deserialize, Serialize};
use shared_server::db::repo::{Entity, NewRow, NoFilter, OrgScoped, PatchRow};
use shared_server::db::{Columns, RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

use super::DocumentId;

shared_server::entity_id!(
    /// Id of a `documents_document_file` row.
    DocumentFileId,
    "documents_document_file"
);

/// A `documents_document_file` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentFile {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: DocumentFileId,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<DocumentId>,
    pub size: i64,
    pub url: String,
    pub app_url: String,
    /// The MIME type.
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub mime_type: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for DocumentFile {
    type Id = DocumentFileId;
    type New = NewDocumentFile;
    type Patch = DocumentFilePatch;
    type Filter = NoFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "documents_document_file";
    const NAME: &'static str = "DocumentFile";

    fn id(&self) -> &DocumentFileId {
        &self.id
    }

    shared_server::repo_spans!("DocumentFileRepo");
}

/// A file attachment to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDocumentFile {
    pub user_id: UserId,
    pub document_id: Option<DocumentId>,
    pub size: i64,
    pub url: String,
    pub app_url: String,
    pub mime_type: String,
}

impl NewRow for NewDocumentFile {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        if self.size < 0 || self.url.is_empty() || self.mime_type.is_empty() {
            return Err(RepoError::Invalid {
                message: "a document file needs a size ≥ 0, a url and a MIME type".into(),
            });
        }
        let mut c = Columns::default();
        c.set("user_id", self.user_id)
            .set("document_id", self.document_id)
            .set("size", self.size)
            .set("url", self.url)
            .set("app_url", self.app_url)
            .set("type", self.mime_type);
        c.finish()
    }
}

/// Re-attaches (or detaches) a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentFilePatch {
    pub document_id: Option<Option<DocumentId>>,
}

impl PatchRow for DocumentFilePatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("document_id", self.document_id.map(SqlValue::from));
        c.finish()
    }
}

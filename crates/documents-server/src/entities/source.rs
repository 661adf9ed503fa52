//! `documents_document_source`: which external item (a Gmail message, …) a document was
//! imported from, so a re-import finds the document instead of creating a second one. The
//! mapping key `(organization_id, provider_account_id, source_type, source_id)` is unique.

use serde::{Deserialize, Serialize};
use shared_server::db::repo::{Entity, NewRow, NoFilter, OrgScoped, PatchRow};
use shared_server::db::{Columns, RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

use super::DocumentId;

shared_server::entity_id!(
    /// Id of a `documents_document_source` row.
    DocumentSourceId,
    "documents_document_source"
);

/// The unique mapping key's name; SQLite's message yields the column-list name, which is
/// longer than PostgreSQL identifiers allow.
const MAPPING_KEY_UQ: &str = "documents_document_source_mapping_key_uq";

/// A `documents_document_source` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentSource {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: DocumentSourceId,
    pub organization_id: OrganizationId,
    pub document_id: DocumentId,
    pub user_id: UserId,
    pub provider_account_id: String,
    pub source_type: String,
    pub source_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_thread_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_history_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_internal_date: Option<Timestamp>,
    pub source_hash: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for DocumentSource {
    type Id = DocumentSourceId;
    type New = NewDocumentSource;
    type Patch = DocumentSourcePatch;
    type Filter = NoFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "documents_document_source";
    const NAME: &'static str = "DocumentSource";
    const CONSTRAINT_ALIASES: &'static [(&'static str, &'static str)] = &[(
        "documents_document_source_organization_id_provider_account_id_source_type_source_id_uq",
        MAPPING_KEY_UQ,
    )];

    fn id(&self) -> &DocumentSourceId {
        &self.id
    }

    shared_server::repo_spans!("DocumentSourceRepo");
}

/// A mapping to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDocumentSource {
    pub document_id: DocumentId,
    pub user_id: UserId,
    pub provider_account_id: String,
    pub source_type: String,
    pub source_id: String,
    pub source_thread_id: Option<String>,
    pub source_uri: Option<String>,
    pub source_history_id: Option<String>,
    pub source_internal_date: Option<Timestamp>,
    pub source_hash: String,
}

impl NewRow for NewDocumentSource {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("document_id", self.document_id)
            .set("user_id", self.user_id)
            .set("provider_account_id", self.provider_account_id)
            .set("source_type", self.source_type)
            .set("source_id", self.source_id)
            .set("source_thread_id", self.source_thread_id)
            .set("source_uri", self.source_uri)
            .set("source_history_id", self.source_history_id)
            .set("source_internal_date", self.source_internal_date)
            .set("source_hash", self.source_hash);
        c.finish()
    }
}

/// What a re-import refreshes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentSourcePatch {
    pub source_hash: Option<String>,
    pub source_history_id: Option<Option<String>>,
    pub source_internal_date: Option<Option<Timestamp>>,
}

impl PatchRow for DocumentSourcePatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("source_hash", self.source_hash)
            .patch(
                "source_history_id",
                self.source_history_id.map(SqlValue::from),
            )
            .patch(
                "source_internal_date",
                self.source_internal_date.map(SqlValue::from),
            );
        c.finish()
    }
}

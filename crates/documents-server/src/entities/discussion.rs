//! `documents_discussion`: a thread anchored on a quoted passage of a document (org-scoped;
//! its comments cascade with it).

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shared_server::db::repo::{Entity, NewRow, NoFilter, OrgScoped, PatchRow};
use shared_server::db::{Columns, RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

use super::DocumentId;

shared_server::entity_id!(
    /// Id of a `documents_discussion` row.
    DiscussionId,
    "documents_discussion"
);

/// Longest quoted anchor text (`documentContent`), in characters (at least 1).
pub const MAX_ANCHOR_CHARS: usize = 1000;

/// A `documents_discussion` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discussion {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: DiscussionId,
    pub organization_id: OrganizationId,
    pub document_id: DocumentId,
    pub user_id: UserId,
    pub document_content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_content_rich: Option<Json>,
    pub is_resolved: bool,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for Discussion {
    type Id = DiscussionId;
    type New = NewDiscussion;
    type Patch = DiscussionPatch;
    type Filter = NoFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "documents_discussion";
    const NAME: &'static str = "Discussion";

    fn id(&self) -> &DiscussionId {
        &self.id
    }

    shared_server::repo_spans!("DiscussionRepo");
}

/// A discussion to insert; `id` lets the client choose the new id
/// (`Discussion.createWithComment`'s `discussionId`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewDiscussion {
    pub id: Option<DiscussionId>,
    pub document_id: DocumentId,
    pub user_id: UserId,
    pub document_content: String,
    pub document_content_rich: Option<Json>,
}

impl NewRow for NewDiscussion {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("document_id", self.document_id)
            .set("user_id", self.user_id)
            .set("document_content", self.document_content)
            .set("document_content_rich", self.document_content_rich);
        c.finish()
    }

    fn preset_id(&self) -> Option<&str> {
        self.id.as_ref().map(DiscussionId::as_str)
    }
}

/// What a discussion update may change (resolution only).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscussionPatch {
    pub is_resolved: Option<bool>,
}

impl PatchRow for DiscussionPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("is_resolved", self.is_resolved);
        c.finish()
    }
}

//! `documents_comment`: one message of a discussion (org-scoped; edited and deleted by its
//! author only, slices.md §3.3).

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shared_server::db::repo::{Entity, NewRow, NoFilter, OrgScoped, PatchRow};
use shared_server::db::{Columns, RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

use super::DiscussionId;

shared_server::entity_id!(
    /// Id of a `documents_comment` row.
    CommentId,
    "documents_comment"
);

/// Longest comment text, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;

/// A `documents_comment` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: CommentId,
    pub organization_id: OrganizationId,
    pub discussion_id: DiscussionId,
    pub user_id: UserId,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_rich: Option<Json>,
    pub is_edited: bool,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for Comment {
    type Id = CommentId;
    type New = NewComment;
    type Patch = CommentPatch;
    type Filter = NoFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "documents_comment";
    const NAME: &'static str = "Comment";

    fn id(&self) -> &CommentId {
        &self.id
    }

    shared_server::repo_spans!("CommentRepo");
}

/// A comment to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComment {
    pub discussion_id: DiscussionId,
    pub user_id: UserId,
    pub content: String,
    pub content_rich: Option<Json>,
}

impl NewRow for NewComment {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("discussion_id", self.discussion_id)
            .set("user_id", self.user_id)
            .set("content", self.content)
            .set("content_rich", self.content_rich);
        c.finish()
    }
}

/// An edit of a comment (`CommentRepo::update_content` also sets `is_edited`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommentPatch {
    pub content: Option<String>,
    pub content_rich: Option<Json>,
    pub is_edited: Option<bool>,
}

impl PatchRow for CommentPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("content", self.content)
            .patch("content_rich", self.content_rich)
            .patch("is_edited", self.is_edited);
        c.finish()
    }
}

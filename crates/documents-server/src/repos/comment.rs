//! `CommentRepo`: a discussion's live comments, oldest first, and the author's edit, which
//! marks the comment edited (slices.md §3.4).

use serde_json::Value as Json;
use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::OrganizationId;

use super::MAX_STREAM_ROWS;
use crate::entities::{Comment, CommentPatch, DiscussionId};

shared_server::repository!(
    /// Comments (org-scoped, in a discussion).
    CommentRepo(OrgRepo<Comment>)
);

impl CommentRepo {
    /// The discussion's live comments, oldest first (at most 500).
    #[tracing::instrument(skip_all, name = "CommentRepo.list_by_discussion")]
    pub async fn list_by_discussion(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        discussion: &DiscussionId,
    ) -> Result<Vec<Comment>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let mut sql = Sql::new("SELECT * FROM documents_comment WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND discussion_id = ")
            .push_bind(discussion)
            .push(" AND deleted_at IS NULL ORDER BY created_at, id LIMIT ")
            .push_bind(MAX_STREAM_ROWS);
        sql.fetch_all(&mut held.conn())
            .await
            .map_err(map_db_error::<Comment>)
    }

    /// Writes the new text (and rich content, when given) at the comment's current version and
    /// sets `is_edited`.
    #[tracing::instrument(skip_all, name = "CommentRepo.update_content")]
    pub async fn update_content(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        comment: &Comment,
        content: String,
        content_rich: Option<Json>,
        actor: &str,
    ) -> Result<Comment, RepoError> {
        let patch = CommentPatch {
            content: Some(content),
            content_rich,
            is_edited: Some(true),
        };
        self.update(on, org, &comment.id, comment.audit.version, patch, actor)
            .await
    }
}

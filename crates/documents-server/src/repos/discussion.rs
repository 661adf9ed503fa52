//! `DiscussionRepo`: discussions with their authors and live comments (slices.md §3.4): one
//! read of the threads, one of all their comments; creation with the first comment in one
//! transaction; resolution without a version bump when nothing changes.

use serde::Serialize;
use serde_json::Value as Json;
use shared_server::db::repo::{begin_nested, map_db_error, OrgRepo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::{OrganizationId, UserId};
use shared_server::Timestamp;

use super::MAX_STREAM_ROWS;
use crate::entities::{
    Comment, Discussion, DiscussionId, DocumentId, NewComment, NewDiscussion, UserSummary,
};

shared_server::repository!(
    /// Discussions (org-scoped threads anchored on a document passage).
    DiscussionRepo(OrgRepo<Discussion>)
);

/// A comment as `DiscussionWithComments` lists it (a projection of the row, with its author).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadComment {
    pub id: String,
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_rich: Option<Json>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub discussion_id: DiscussionId,
    pub is_edited: bool,
    pub user: UserSummary,
}

/// `DiscussionWithComments` (slices.md §3.5): the discussion, its author and its live
/// comments, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscussionWithComments {
    #[serde(flatten)]
    pub discussion: Discussion,
    pub user: UserSummary,
    pub comments: Vec<ThreadComment>,
}

#[derive(sqlx::FromRow)]
struct DiscussionRow {
    #[sqlx(flatten)]
    discussion: Discussion,
    author_row_id: i64,
    author_name: String,
    author_image: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CommentRow {
    #[sqlx(flatten)]
    comment: Comment,
    author_row_id: i64,
    author_name: String,
    author_image: Option<String>,
}

const AUTHOR_COLUMNS: &str =
    "u._row_id AS author_row_id, u.name AS author_name, u.image AS author_image";

impl DiscussionRepo {
    /// The discussion with its author and live comments; missing → `NotFound`.
    #[tracing::instrument(skip_all, name = "DiscussionRepo.get_with_comments")]
    pub async fn get_with_comments(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &DiscussionId,
    ) -> Result<DiscussionWithComments, RepoError> {
        let mut sql = threads(org);
        sql.push(" AND t.id = ").push_bind(id);
        let mut found = read_threads(on.into(), org, sql).await?;
        found
            .pop()
            .ok_or_else(|| RepoError::not_found("Discussion", id))
    }

    /// The document's discussions, newest first (at most 500), each with its comments.
    #[tracing::instrument(skip_all, name = "DiscussionRepo.list_by_document")]
    pub async fn list_by_document(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        document: &DocumentId,
    ) -> Result<Vec<DiscussionWithComments>, RepoError> {
        let mut sql = threads(org);
        sql.push(" AND t.document_id = ")
            .push_bind(document)
            .push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ")
            .push_bind(MAX_STREAM_ROWS);
        read_threads(on.into(), org, sql).await
    }

    /// Inserts the discussion and its first comment atomically (whichever connection `on`
    /// is: a transaction of its own, or a savepoint in the caller's).
    #[tracing::instrument(skip_all, name = "DiscussionRepo.create_with_comment")]
    pub async fn create_with_comment(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        discussion: NewDiscussion,
        first: NewComment,
        actor: &str,
    ) -> Result<(Discussion, Comment), RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let mut conn = held.conn();
        let mut tx = begin_nested(&mut conn).await?;
        let created = self.insert(&mut tx, org, discussion, actor).await?;
        let first = NewComment {
            discussion_id: created.id.clone(),
            ..first
        };
        let comment = OrgRepo::<Comment>::new(self.db().clone(), self.clock().clone())
            .insert(&mut tx, org, first, actor)
            .await?;
        tx.commit().await?;
        Ok((created, comment))
    }

    /// Sets `is_resolved`; unchanged (no version bump) when it already has the value.
    #[tracing::instrument(skip_all, name = "DiscussionRepo.set_resolved")]
    pub async fn set_resolved(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &DiscussionId,
        resolved: bool,
        actor: &str,
    ) -> Result<Discussion, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("UPDATE documents_discussion SET is_resolved = ");
        sql.push_bind(resolved)
            .push(", version = version + 1, updated_at = ")
            .push_bind(self.now())
            .push(", updated_by = ")
            .push_bind(actor)
            .push(" WHERE id = ")
            .push_bind(id)
            .push(" AND organization_id = ")
            .push_bind(org)
            .push(" AND deleted_at IS NULL AND is_resolved <> ")
            .push_bind(resolved)
            .push(" RETURNING *");
        let changed: Option<Discussion> = sql
            .fetch_optional(conn)
            .await
            .map_err(map_db_error::<Discussion>)?;
        match changed {
            Some(discussion) => Ok(discussion),
            None => self.get(Exec::from(conn), org, id).await,
        }
    }
}

/// Discussions of `org` joined with their authors (`t` = the discussion, `u` = the author).
fn threads(org: &OrganizationId) -> Sql {
    let mut sql = Sql::new(format!(
        "SELECT t.*, {AUTHOR_COLUMNS} FROM documents_discussion t \
         JOIN shared_user u ON u.id = t.user_id WHERE t.organization_id = "
    ));
    sql.push_bind(org).push(" AND t.deleted_at IS NULL");
    sql
}

async fn read_threads(
    mut on: Exec<'_>,
    org: &OrganizationId,
    sql: Sql,
) -> Result<Vec<DiscussionWithComments>, RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
    let rows: Vec<DiscussionRow> = sql
        .fetch_all(conn)
        .await
        .map_err(map_db_error::<Discussion>)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&DiscussionId> = rows.iter().map(|r| &r.discussion.id).collect();
    let mut sql = Sql::new(format!(
        "SELECT c.*, {AUTHOR_COLUMNS} FROM documents_comment c \
         JOIN shared_user u ON u.id = c.user_id WHERE c.organization_id = "
    ));
    sql.push_bind(org)
        .push(" AND c.deleted_at IS NULL AND c.discussion_id IN (")
        .push_bind_list(ids)
        .push(") ORDER BY c.created_at, c.id");
    let comments: Vec<CommentRow> = sql.fetch_all(conn).await.map_err(map_db_error::<Comment>)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let user = summary(
                &row.discussion.user_id,
                row.author_row_id,
                row.author_name,
                row.author_image,
            );
            let comments = comments
                .iter()
                .filter(|c| c.comment.discussion_id == row.discussion.id)
                .map(|c| ThreadComment {
                    id: c.comment.id.to_string(),
                    row_id: c.comment.row_id,
                    content: c.comment.content.clone(),
                    content_rich: c.comment.content_rich.clone(),
                    created_at: c.comment.audit.created_at,
                    updated_at: c.comment.audit.updated_at,
                    discussion_id: c.comment.discussion_id.clone(),
                    is_edited: c.comment.is_edited,
                    user: summary(
                        &c.comment.user_id,
                        c.author_row_id,
                        c.author_name.clone(),
                        c.author_image.clone(),
                    ),
                })
                .collect();
            DiscussionWithComments {
                discussion: row.discussion,
                user,
                comments,
            }
        })
        .collect())
}

pub(crate) fn summary(
    id: &UserId,
    row_id: i64,
    name: String,
    image: Option<String>,
) -> UserSummary {
    UserSummary {
        id: id.clone(),
        _row_id: row_id,
        name,
        image,
    }
}

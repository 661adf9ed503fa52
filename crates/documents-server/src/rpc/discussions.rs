//! Handlers of the `Discussion.*` and `Comment.*` procedures (slices.md §3.5).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;
use shared_server::rpc::OrgCaller;

use super::payload::{self, id_of, same_organization, ById};
use super::{rows, Rows};
use crate::entities::{
    Comment, CommentId, Discussion, DiscussionId, DocumentId, MAX_ANCHOR_CHARS, MAX_COMMENT_CHARS,
};
use crate::layer::DocumentsState;
use crate::repos::DiscussionWithComments;
use crate::services::plain_text_of;
use crate::DocumentsError;

/// `{id}` of a new discussion.
#[derive(Debug, Serialize)]
pub struct CreatedDiscussion {
    pub id: DiscussionId,
}

/// `Discussion.get {id}` -> `DiscussionWithComments` | `DiscussionNotFoundError {id}`.
pub async fn get(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<DiscussionWithComments, DocumentsError> {
    let id = id_of("Discussion", &p.id)?;
    s.discussions.get(&who, &id).await
}

/// `Discussion.listByDocument {documentId}` (stream) -> `DiscussionWithComments`, newest
/// first, ≤ 500.
pub async fn list_by_document(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::ByDocument,
) -> Rows<DiscussionWithComments> {
    match p.document_id.parse::<DocumentId>() {
        Ok(document) => Ok(rows(s.discussions.list_by_document(&who, &document).await?)),
        Err(_) => Ok(rows(Vec::new())),
    }
}

fn anchor(text: &str) -> Result<(), DocumentsError> {
    payload::text("documentContent", text, MAX_ANCHOR_CHARS)?;
    if text.is_empty() {
        return Err(DocumentsError::invalid(
            "documentContent",
            "documentContent must not be empty",
        ));
    }
    Ok(())
}

/// `Discussion.create {organizationId, documentId, documentContent (1..1000)}` -> `{id}` |
/// `DocumentNotFoundError` | `ValidationError`.
pub async fn create(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::CreateDiscussion,
) -> Result<CreatedDiscussion, DocumentsError> {
    same_organization(&who, &p.organization_id)?;
    anchor(&p.document_content)?;
    let document = id_of("Document", &p.document_id)?;
    let created = s
        .discussions
        .create(&who, &document, p.document_content)
        .await?;
    Ok(CreatedDiscussion { id: created.id })
}

/// `Discussion.createWithComment {organizationId, documentId, documentContent, contentRich?,
/// discussionId?}` -> `{id}` (the discussion and its first comment, whose text is the text of
/// `contentRich`, in one transaction) | `DocumentNotFoundError` | `ConflictError` (the chosen id
/// exists) | `ValidationError`.
pub async fn create_with_comment(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::CreateDiscussionWithComment,
) -> Result<CreatedDiscussion, DocumentsError> {
    same_organization(&who, &p.organization_id)?;
    anchor(&p.document_content)?;
    if p.content_rich.as_ref().is_some_and(|rich| !rich.is_array()) {
        return Err(DocumentsError::invalid(
            "contentRich",
            "contentRich must be an array of nodes",
        ));
    }
    payload::rich("contentRich", p.content_rich.as_ref())?;
    let content = p
        .content_rich
        .as_ref()
        .map(plain_text_of)
        .unwrap_or_default();
    payload::text("contentRich", &content, MAX_COMMENT_CHARS)?;
    let id = p
        .discussion_id
        .as_deref()
        .map(|id| {
            id.parse::<DiscussionId>().map_err(|_| {
                DocumentsError::invalid(
                    "discussionId",
                    "discussionId must be a documents_discussion id",
                )
            })
        })
        .transpose()?;
    let document = id_of("Document", &p.document_id)?;
    let created = s
        .discussions
        .create_with_comment(
            &who,
            &document,
            p.document_content,
            content,
            p.content_rich,
            id,
        )
        .await?;
    Ok(CreatedDiscussion { id: created.id })
}

/// `Discussion.resolve {id}` -> `Discussion` | `DiscussionNotFoundError`.
pub async fn resolve(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Discussion, DocumentsError> {
    let id = id_of("Discussion", &p.id)?;
    s.discussions.set_resolved(&who, &id, true).await
}

/// `Discussion.unresolve {id}` -> `Discussion` | `DiscussionNotFoundError`.
pub async fn unresolve(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Discussion, DocumentsError> {
    let id = id_of("Discussion", &p.id)?;
    s.discussions.set_resolved(&who, &id, false).await
}

/// `Discussion.delete {id}` -> void (comments cascade) | `DiscussionNotFoundError` |
/// `PermissionDeniedError` (neither its author nor a manager of its document).
pub async fn delete(s: Arc<DocumentsState>, who: OrgCaller, p: ById) -> Result<(), DocumentsError> {
    let id = id_of("Discussion", &p.id)?;
    s.discussions.delete(&who, &id).await
}

/// `Comment.get {id}` -> `Comment` | `CommentNotFoundError {id}`.
pub async fn get_comment(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Comment, DocumentsError> {
    let id = id_of::<CommentId>("Comment", &p.id)?;
    s.discussions.comment(&who, &id).await
}

/// `Comment.listByDiscussion {discussionId}` (stream) -> `Comment`, oldest first, ≤ 500.
pub async fn list_comments(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::ByDiscussion,
) -> Rows<Comment> {
    match p.discussion_id.parse::<DiscussionId>() {
        Ok(discussion) => Ok(rows(s.discussions.comments_of(&who, &discussion).await?)),
        Err(_) => Ok(rows(Vec::new())),
    }
}

/// The comment text: `content`, or the text of `contentRich` when `content` is empty.
fn comment_text(
    content: Option<String>,
    rich: Option<&Json>,
) -> Result<Option<String>, DocumentsError> {
    payload::rich("contentRich", rich)?;
    let text = match (content, rich) {
        (Some(content), Some(rich)) if content.is_empty() => Some(plain_text_of(rich)),
        (None, Some(rich)) => Some(plain_text_of(rich)),
        (content, _) => content,
    };
    payload::optional_text("content", text.as_deref(), MAX_COMMENT_CHARS)?;
    Ok(text)
}

/// `Comment.create {organizationId, discussionId, content, contentRich?}` -> `Comment` |
/// `DiscussionNotFoundError` | `ValidationError`.
pub async fn create_comment(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::CreateComment,
) -> Result<Comment, DocumentsError> {
    same_organization(&who, &p.organization_id)?;
    let content = comment_text(Some(p.content), p.content_rich.as_ref())?.unwrap_or_default();
    let discussion = id_of("Discussion", &p.discussion_id)?;
    s.discussions
        .add_comment(&who, &discussion, content, p.content_rich)
        .await
}

/// `Comment.update {id, content?, contentRich?}` -> `Comment` (`isEdited = true`) |
/// `CommentNotFoundError` | `PermissionDeniedError` (not its author) | `ValidationError`.
pub async fn update_comment(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::UpdateComment,
) -> Result<Comment, DocumentsError> {
    let id = id_of("Comment", &p.id)?;
    let content = comment_text(p.content, p.content_rich.as_ref())?;
    s.discussions
        .edit_comment(&who, &id, content, p.content_rich)
        .await
}

/// `Comment.delete {id}` -> void | `CommentNotFoundError` | `PermissionDeniedError`.
pub async fn delete_comment(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<(), DocumentsError> {
    let id = id_of("Comment", &p.id)?;
    s.discussions.delete_comment(&who, &id).await
}

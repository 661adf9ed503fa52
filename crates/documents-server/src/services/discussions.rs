//! `DiscussionService`: discussions and comments (slices.md §3.3): any member reads, starts
//! discussions, comments and resolves; a comment is edited or deleted by its author only; a
//! discussion is deleted by its author or a manager of its document.

use serde_json::Value as Json;
use shared_server::db::Db;
use shared_server::rpc::OrgCaller;

use super::manages;
use crate::entities::{
    Comment, CommentId, Discussion, DiscussionId, DocumentId, NewComment, NewDiscussion,
};
use crate::repos::{CommentRepo, DiscussionRepo, DiscussionWithComments, DocumentRepo};
use crate::DocumentsError;

#[derive(Debug, Clone)]
pub struct DiscussionService {
    db: Db,
    documents: DocumentRepo,
    discussions: DiscussionRepo,
    comments: CommentRepo,
}

/// The plain text of a rich-content value (Lexical/Slate JSON): every `text` string of its
/// nodes, in document order, concatenated.
pub fn plain_text_of(rich: &Json) -> String {
    fn walk(value: &Json, out: &mut String) {
        match value {
            Json::Array(items) => items.iter().for_each(|item| walk(item, out)),
            Json::Object(node) => {
                if let Some(Json::String(text)) = node.get("text") {
                    out.push_str(text);
                }
                for (key, child) in node {
                    if key != "text" {
                        walk(child, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    walk(rich, &mut out);
    out
}

impl DiscussionService {
    pub fn new(
        db: Db,
        documents: DocumentRepo,
        discussions: DiscussionRepo,
        comments: CommentRepo,
    ) -> Self {
        Self {
            db,
            documents,
            discussions,
            comments,
        }
    }

    pub async fn get(
        &self,
        who: &OrgCaller,
        id: &DiscussionId,
    ) -> Result<DiscussionWithComments, DocumentsError> {
        Ok(self
            .discussions
            .get_with_comments(&self.db, who.org_id(), id)
            .await?)
    }

    pub async fn list_by_document(
        &self,
        who: &OrgCaller,
        document: &DocumentId,
    ) -> Result<Vec<DiscussionWithComments>, DocumentsError> {
        Ok(self
            .discussions
            .list_by_document(&self.db, who.org_id(), document)
            .await?)
    }

    /// A discussion on a live document of the organization.
    pub async fn create(
        &self,
        who: &OrgCaller,
        document: &DocumentId,
        anchor: String,
    ) -> Result<Discussion, DocumentsError> {
        self.documents.get(&self.db, who.org_id(), document).await?;
        let new = NewDiscussion {
            id: None,
            document_id: document.clone(),
            user_id: who.user_id().clone(),
            document_content: anchor,
            document_content_rich: None,
        };
        Ok(self
            .discussions
            .insert(&self.db, who.org_id(), new, who.actor())
            .await?)
    }

    /// The discussion and its first comment (text from `content_rich`), in one transaction.
    pub async fn create_with_comment(
        &self,
        who: &OrgCaller,
        document: &DocumentId,
        anchor: String,
        content: String,
        content_rich: Option<Json>,
        id: Option<DiscussionId>,
    ) -> Result<Discussion, DocumentsError> {
        self.documents.get(&self.db, who.org_id(), document).await?;
        let discussion = NewDiscussion {
            id,
            document_id: document.clone(),
            user_id: who.user_id().clone(),
            document_content: anchor,
            document_content_rich: None,
        };
        let first = NewComment {
            discussion_id: DiscussionId::new(),
            user_id: who.user_id().clone(),
            content,
            content_rich,
        };
        let (created, _) = self
            .discussions
            .create_with_comment(&self.db, who.org_id(), discussion, first, who.actor())
            .await?;
        Ok(created)
    }

    /// Any member resolves and unresolves; unchanged when already so.
    pub async fn set_resolved(
        &self,
        who: &OrgCaller,
        id: &DiscussionId,
        resolved: bool,
    ) -> Result<Discussion, DocumentsError> {
        Ok(self
            .discussions
            .set_resolved(&self.db, who.org_id(), id, resolved, who.actor())
            .await?)
    }

    /// Its author or a manager of its document deletes a discussion (comments cascade).
    pub async fn delete(&self, who: &OrgCaller, id: &DiscussionId) -> Result<(), DocumentsError> {
        let discussion = self.discussions.get(&self.db, who.org_id(), id).await?;
        if &discussion.user_id != who.user_id() {
            let document = self
                .documents
                .find_by_id(&self.db, who.org_id(), &discussion.document_id)
                .await?;
            if !document.is_some_and(|d| manages(who, &d)) {
                return Err(DocumentsError::PermissionDenied { id: id.to_string() });
            }
        }
        Ok(self
            .discussions
            .hard_delete(&self.db, who.org_id(), id)
            .await?)
    }

    pub async fn comment(
        &self,
        who: &OrgCaller,
        id: &CommentId,
    ) -> Result<Comment, DocumentsError> {
        Ok(self.comments.get(&self.db, who.org_id(), id).await?)
    }

    pub async fn comments_of(
        &self,
        who: &OrgCaller,
        discussion: &DiscussionId,
    ) -> Result<Vec<Comment>, DocumentsError> {
        Ok(self
            .comments
            .list_by_discussion(&self.db, who.org_id(), discussion)
            .await?)
    }

    /// A comment on a live discussion of the organization.
    pub async fn add_comment(
        &self,
        who: &OrgCaller,
        discussion: &DiscussionId,
        content: String,
        content_rich: Option<Json>,
    ) -> Result<Comment, DocumentsError> {
        self.discussions
            .get(&self.db, who.org_id(), discussion)
            .await?;
        let new = NewComment {
            discussion_id: discussion.clone(),
            user_id: who.user_id().clone(),
            content,
            content_rich,
        };
        Ok(self
            .comments
            .insert(&self.db, who.org_id(), new, who.actor())
            .await?)
    }

    /// The author edits; nothing to change returns the comment as it is.
    pub async fn edit_comment(
        &self,
        who: &OrgCaller,
        id: &CommentId,
        content: Option<String>,
        content_rich: Option<Json>,
    ) -> Result<Comment, DocumentsError> {
        let comment = self.own_comment(who, id).await?;
        let content = match (content, &content_rich) {
            (Some(content), _) => content,
            (None, Some(rich)) => plain_text_of(rich),
            (None, None) => return Ok(comment),
        };
        Ok(self
            .comments
            .update_content(
                &self.db,
                who.org_id(),
                &comment,
                content,
                content_rich,
                who.actor(),
            )
            .await?)
    }

    /// The author deletes (soft: the row stays, reads exclude it).
    pub async fn delete_comment(
        &self,
        who: &OrgCaller,
        id: &CommentId,
    ) -> Result<(), DocumentsError> {
        self.own_comment(who, id).await?;
        Ok(self
            .comments
            .soft_delete(&self.db, who.org_id(), id, who.actor())
            .await?)
    }

    async fn own_comment(
        &self,
        who: &OrgCaller,
        id: &CommentId,
    ) -> Result<Comment, DocumentsError> {
        let comment = self.comments.get(&self.db, who.org_id(), id).await?;
        if &comment.user_id != who.user_id() {
            return Err(DocumentsError::PermissionDenied { id: id.to_string() });
        }
        Ok(comment)
    }
}

#[cfg(test)]
mod tests {
    use super::plain_text_of;
    use serde_json::json;

    #[test]
    fn rich_content_becomes_the_text_of_its_text_nodes() {
        let rich = json!([
            {"type": "paragraph", "children": [{"type": "text", "text": "Hello "}, {"text": "world"}]},
            {"type": "paragraph", "children": [{"text": "!"}]}
        ]);
        assert_eq!(plain_text_of(&rich), "Hello world!");
        assert_eq!(plain_text_of(&json!({"root": {"children": []}})), "");
    }
}

//! `DocumentService`: the page tree's rules (slices.md §3.3): managers (owner or organization
//! owner/admin) mutate; a locked page refuses content fields unless the same call unlocks it;
//! an archived page accepts only restore, archive (a no-op) and delete; flag changes are
//! idempotent; a move needs a live parent of the organization that is not the document itself
//! nor one of its descendants, at most 64 levels deep.

use serde_json::Value as Json;
use shared_server::db::repo::Page;
use shared_server::db::Db;
use shared_server::rpc::OrgCaller;
use shared_server::RepoError;

use super::manages;
use crate::entities::{Document, DocumentFlag, DocumentId, DocumentPatch, NewDocument};
use crate::repos::{DocumentRepo, DocumentSearch, ListDocuments, SearchHit, MAX_ANCESTOR_DEPTH};
use crate::DocumentsError;

/// Times an update without a client version re-reads and retries after a concurrent write.
const UPDATE_ATTEMPTS: usize = 3;

/// The idempotent state changes of §3.5 (`Document.archive`, `restore`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagChange {
    Archive,
    Restore,
    Publish,
    Unpublish,
    Lock,
    Unlock,
}

impl FlagChange {
    fn target(self) -> (DocumentFlag, bool) {
        match self {
            FlagChange::Archive => (DocumentFlag::Archived, true),
            FlagChange::Restore => (DocumentFlag::Archived, false),
            FlagChange::Publish => (DocumentFlag::Published, true),
            FlagChange::Unpublish => (DocumentFlag::Published, false),
            FlagChange::Lock => (DocumentFlag::Locked, true),
            FlagChange::Unlock => (DocumentFlag::Locked, false),
        }
    }
}

/// A validated `Document.create`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDocumentInput {
    pub template_id: Option<String>,
    pub parent_document_id: Option<DocumentId>,
    pub title: Option<String>,
    pub content: Option<String>,
    pub content_rich: Option<Json>,
}

#[derive(Debug, Clone)]
pub struct DocumentService {
    db: Db,
    documents: DocumentRepo,
}

impl DocumentService {
    pub fn new(db: Db, documents: DocumentRepo) -> Self {
        Self { db, documents }
    }

    pub fn repo(&self) -> &DocumentRepo {
        &self.documents
    }

    pub async fn get(&self, who: &OrgCaller, id: &DocumentId) -> Result<Document, DocumentsError> {
        Ok(self.documents.get(&self.db, who.org_id(), id).await?)
    }

    pub async fn list(
        &self,
        who: &OrgCaller,
        filter: &ListDocuments,
    ) -> Result<Page<Document>, DocumentsError> {
        Ok(self.documents.list(&self.db, who.org_id(), filter).await?)
    }

    pub async fn list_by_user(
        &self,
        who: &OrgCaller,
        user: &shared_server::entities::UserId,
    ) -> Result<Vec<Document>, DocumentsError> {
        Ok(self
            .documents
            .list_by_user(&self.db, who.org_id(), user)
            .await?)
    }

    /// The caller's own archived documents.
    pub async fn list_trash(
        &self,
        who: &OrgCaller,
        title_contains: Option<&str>,
    ) -> Result<Vec<Document>, DocumentsError> {
        Ok(self
            .documents
            .list_archived(&self.db, who.org_id(), who.user_id(), title_contains)
            .await?)
    }

    pub async fn list_children(
        &self,
        who: &OrgCaller,
        parent: &DocumentId,
    ) -> Result<Vec<Document>, DocumentsError> {
        Ok(self
            .documents
            .list_children(&self.db, who.org_id(), parent)
            .await?)
    }

    pub async fn search(
        &self,
        who: &OrgCaller,
        search: &DocumentSearch,
    ) -> Result<Vec<SearchHit>, DocumentsError> {
        Ok(self
            .documents
            .search(&self.db, who.org_id(), search)
            .await?)
    }

    /// Creates a document owned by the caller; a parent must be a live document of the
    /// organization (`DocumentNotFoundError` naming it otherwise).
    pub async fn create(
        &self,
        who: &OrgCaller,
        input: NewDocumentInput,
    ) -> Result<Document, DocumentsError> {
        if let Some(parent) = &input.parent_document_id {
            self.documents.get(&self.db, who.org_id(), parent).await?;
        }
        let new = NewDocument {
            user_id: who.user_id().clone(),
            template_id: input.template_id,
            parent_document_id: input.parent_document_id,
            title: input.title,
            content: input.content,
            content_rich: input.content_rich,
            source: Some("api".into()),
        };
        Ok(self
            .documents
            .insert(&self.db, who.org_id(), new, who.actor())
            .await?)
    }

    /// Applies `patch` under the rules of §3.3. `expected_version` is the client's; without
    /// one, the version read here is used (and the call re-reads after a concurrent write).
    pub async fn update(
        &self,
        who: &OrgCaller,
        id: &DocumentId,
        expected_version: Option<i32>,
        patch: DocumentPatch,
    ) -> Result<Document, DocumentsError> {
        let mut attempt = 1;
        loop {
            let current = self.documents.get(&self.db, who.org_id(), id).await?;
            self.check_update(who, &current, &patch).await?;
            let version = expected_version.unwrap_or(current.audit.version);
            if patch.is_empty() {
                if version != current.audit.version {
                    return Err(RepoError::VersionConflict {
                        entity: "Document",
                        id: id.to_string(),
                        expected: version,
                        actual: current.audit.version,
                    }
                    .into());
                }
                return Ok(current);
            }
            let outcome = self
                .documents
                .update(
                    &self.db,
                    who.org_id(),
                    id,
                    version,
                    patch.clone(),
                    who.actor(),
                )
                .await;
            match outcome {
                Err(RepoError::VersionConflict { .. })
                    if expected_version.is_none() && attempt < UPDATE_ATTEMPTS =>
                {
                    attempt += 1;
                }
                other => return Ok(other?),
            }
        }
    }

    async fn check_update(
        &self,
        who: &OrgCaller,
        current: &Document,
        patch: &DocumentPatch,
    ) -> Result<(), DocumentsError> {
        let id = current.id.to_string();
        if !manages(who, current) {
            return Err(DocumentsError::DocumentPermissionDenied { id });
        }
        if current.is_archived {
            return Err(DocumentsError::DocumentArchived { id });
        }
        if current.lock_page && patch.touches_content() && patch.lock_page != Some(false) {
            return Err(DocumentsError::DocumentLocked { id });
        }
        if let Some(Some(parent)) = &patch.parent_document_id {
            self.check_move(who, current, parent).await?;
        }
        Ok(())
    }

    /// A new parent: live, in the organization, not the document, not below it, not too deep.
    async fn check_move(
        &self,
        who: &OrgCaller,
        document: &Document,
        parent: &DocumentId,
    ) -> Result<(), DocumentsError> {
        const PATH: &str = "parentDocumentId";
        if parent == &document.id {
            return Err(DocumentsError::invalid(
                PATH,
                "a document cannot be its own parent",
            ));
        }
        if self
            .documents
            .find_by_id(&self.db, who.org_id(), parent)
            .await?
            .is_none()
        {
            return Err(DocumentsError::invalid(
                PATH,
                format!("no document {parent} in this organization"),
            ));
        }
        let ancestors = self
            .documents
            .ancestors(&self.db, who.org_id(), parent)
            .await?;
        if ancestors.contains(&document.id) {
            return Err(DocumentsError::invalid(
                PATH,
                "a document cannot move below one of its descendants",
            ));
        }
        if ancestors.len() as i64 >= MAX_ANCESTOR_DEPTH {
            return Err(DocumentsError::invalid(
                PATH,
                format!("documents nest at most {MAX_ANCESTOR_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// `archive`/`restore`/`publish`/`unpublish`/`lock`/`unlock`: unchanged when the flag
    /// already has the value; an archived document only restores (or stays archived).
    pub async fn change_flag(
        &self,
        who: &OrgCaller,
        id: &DocumentId,
        change: FlagChange,
    ) -> Result<Document, DocumentsError> {
        let current = self.documents.get(&self.db, who.org_id(), id).await?;
        if !manages(who, &current) {
            return Err(DocumentsError::DocumentPermissionDenied { id: id.to_string() });
        }
        let (flag, value) = change.target();
        if current.is_archived && flag != DocumentFlag::Archived {
            return Err(DocumentsError::DocumentArchived { id: id.to_string() });
        }
        if flag.of(&current) == value {
            return Ok(current);
        }
        Ok(self
            .documents
            .set_flag(&self.db, who.org_id(), id, flag, value, who.actor())
            .await?)
    }

    /// Hard delete; children, discussions (and their comments), versions and import mappings
    /// cascade in the database; attached files stay, detached.
    pub async fn delete(&self, who: &OrgCaller, id: &DocumentId) -> Result<(), DocumentsError> {
        let current = self.documents.get(&self.db, who.org_id(), id).await?;
        if !manages(who, &current) {
            return Err(DocumentsError::DocumentPermissionDenied { id: id.to_string() });
        }
        Ok(self
            .documents
            .hard_delete(&self.db, who.org_id(), id)
            .await?)
    }
}

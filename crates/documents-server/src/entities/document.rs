//! `documents_document`: a page of an organization's tree (org-scoped, owned by `user_id`;
//! `parent_document_id = NULL` is a root). Its title and plain-text content are what search
//! indexes (slices.md §3.2).

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shared_server::db::repo::{Entity, ListFilter, NewRow, OrgScoped, PatchRow};
use shared_server::db::{Columns, RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

use super::DocumentId;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest plain-text content, in characters.
pub const MAX_CONTENT_CHARS: usize = 1_000_000;
/// Longest cover image reference, in characters.
pub const MAX_COVER_IMAGE_CHARS: usize = 500;
/// Longest icon, in characters.
pub const MAX_ICON_CHARS: usize = 100;

shared_server::string_enum!(
    /// The page's typeface.
    #[derive(Default)]
    TextStyle { #[default] Default = "default", Serif = "serif", Mono = "mono" }
);

/// A `documents_document` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: DocumentId,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_document_id: Option<DocumentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_rich: Option<Json>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::optional_base64"
    )]
    pub yjs_snapshot: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    pub is_published: bool,
    pub is_archived: bool,
    pub lock_page: bool,
    pub text_style: TextStyle,
    pub small_text: bool,
    pub full_width: bool,
    pub toc: bool,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for Document {
    type Id = DocumentId;
    type New = NewDocument;
    type Patch = DocumentPatch;
    type Filter = DocumentFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "documents_document";
    const NAME: &'static str = "Document";

    fn id(&self) -> &DocumentId {
        &self.id
    }

    shared_server::repo_spans!("DocumentRepo");
}

/// A document to insert (owned by `user_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewDocument {
    pub user_id: UserId,
    pub template_id: Option<String>,
    pub parent_document_id: Option<DocumentId>,
    pub title: Option<String>,
    pub content: Option<String>,
    pub content_rich: Option<Json>,
    pub source: Option<String>,
}

impl NewRow for NewDocument {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("user_id", self.user_id)
            .set("template_id", self.template_id)
            .set("parent_document_id", self.parent_document_id)
            .set("title", self.title)
            .set("content", self.content)
            .set("content_rich", self.content_rich)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update: `None` leaves a column alone; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentPatch {
    pub title: Option<String>,
    pub content: Option<String>,
    pub content_rich: Option<Json>,
    pub yjs_snapshot: Option<Vec<u8>>,
    pub cover_image: Option<Option<String>>,
    pub icon: Option<Option<String>>,
    pub full_width: Option<bool>,
    pub small_text: Option<bool>,
    pub text_style: Option<TextStyle>,
    pub toc: Option<bool>,
    pub lock_page: Option<bool>,
    pub is_published: Option<bool>,
    pub parent_document_id: Option<Option<DocumentId>>,
}

impl DocumentPatch {
    /// Whether the patch writes a content field (refused while the page is locked, §3.3).
    pub fn touches_content(&self) -> bool {
        self.title.is_some()
            || self.content.is_some()
            || self.content_rich.is_some()
            || self.yjs_snapshot.is_some()
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl PatchRow for DocumentPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("title", self.title)
            .patch("content", self.content)
            .patch("content_rich", self.content_rich)
            .patch("yjs_snapshot", self.yjs_snapshot)
            .patch("cover_image", self.cover_image.map(SqlValue::from))
            .patch("icon", self.icon.map(SqlValue::from))
            .patch("full_width", self.full_width)
            .patch("small_text", self.small_text)
            .patch("text_style", self.text_style)
            .patch("toc", self.toc)
            .patch("lock_page", self.lock_page)
            .patch("is_published", self.is_published)
            .patch(
                "parent_document_id",
                self.parent_document_id.map(SqlValue::from),
            );
        c.finish()
    }
}

/// Equality filters of the base `list`/`count` (the slice's own listings are in `DocumentRepo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentFilter {
    pub user_id: Option<UserId>,
}

impl ListFilter for DocumentFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        self.user_id
            .map(|u| ("user_id", u.into()))
            .into_iter()
            .collect()
    }
}

/// The flags that [`DocumentRepo::set_flag`](crate::repos::DocumentRepo::set_flag) changes
/// idempotently (no write, no version bump, when the flag already has the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFlag {
    Archived,
    Published,
    Locked,
}

impl DocumentFlag {
    pub fn column(self) -> &'static str {
        match self {
            DocumentFlag::Archived => "is_archived",
            DocumentFlag::Published => "is_published",
            DocumentFlag::Locked => "lock_page",
        }
    }

    pub fn of(self, document: &Document) -> bool {
        match self {
            DocumentFlag::Archived => document.is_archived,
            DocumentFlag::Published => document.is_published,
            DocumentFlag::Locked => document.lock_page,
        }
    }
}

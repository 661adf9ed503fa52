//! Handlers of the `Document.*` procedures (slices.md §3.5), each opened by its contract row.

use std::sync::Arc;

use shared_server::db::repo::PageRequest;
use shared_server::entities::UserId;
use shared_server::rpc::OrgCaller;
use shared_server::RepoError;

use super::payload::{self, id_of, is_active_organization, same_organization, ById};
use super::{rows, Rows};
use crate::entities::{
    Document, DocumentId, DocumentPatch, TextStyle, MAX_CONTENT_CHARS, MAX_COVER_IMAGE_CHARS,
    MAX_ICON_CHARS, MAX_TITLE_CHARS,
};
use crate::layer::DocumentsState;
use crate::repos::{DocumentSearch, ListDocuments, SearchHit};
use crate::services::{FlagChange, NewDocumentInput};
use crate::DocumentsError;

/// Longest `templateId`, in characters.
const MAX_TEMPLATE_ID_CHARS: usize = 500;

/// `Document.get {id}` -> `Document` | `DocumentNotFoundError {id}`.
pub async fn get(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Document, DocumentsError> {
    let id = id_of("Document", &p.id)?;
    s.documents.get(&who, &id).await
}

/// `Document.listByUser {userId, organizationId}` (stream) -> the user's non-archived documents,
/// newest update first, ≤ 500; another organization or user id → empty.
pub async fn list_by_user(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::ListByUser,
) -> Rows<Document> {
    let found = match p.user_id.parse::<UserId>() {
        Ok(user) if is_active_organization(&who, &p.organization_id) => {
            s.documents.list_by_user(&who, &user).await?
        }
        _ => Vec::new(),
    };
    Ok(rows(found))
}

/// `Document.list {organizationId, parentDocumentId?, search?, cursor?, limit?}` (stream) ->
/// non-archived children of the parent (roots without one), newest update first; `search` =
/// title contains; `cursor` = the last id received; `limit` 50 by default, ≤ 200. A cursor
/// that names no row (any more) fails with `ValidationError { path: "cursor" }`.
pub async fn list(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::ListDocuments,
) -> Rows<Document> {
    if !is_active_organization(&who, &p.organization_id) {
        return Ok(rows(Vec::new()));
    }
    let parent = match p
        .parent_document_id
        .as_deref()
        .map(str::parse::<DocumentId>)
    {
        None => None,
        Some(Ok(parent)) => Some(parent),
        Some(Err(_)) => return Ok(rows(Vec::new())),
    };
    let limit = payload::whole(p.limit).map(|l| l.clamp(1, 200) as u32);
    // A cursor is a document id; anything else names no row of this list.
    let after = p
        .cursor
        .map(|cursor| {
            cursor
                .parse::<DocumentId>()
                .map_err(|_| RepoError::InvalidCursor)
        })
        .transpose()?;
    let filter = ListDocuments {
        parent,
        title_contains: payload::filter_text(p.search),
        page: PageRequest {
            after: after.map(|id| id.to_string()),
            limit,
        },
    };
    Ok(rows(s.documents.list(&who, &filter).await?.items))
}

/// `Document.listTrash {organizationId, search?}` (stream) -> the caller's archived documents.
pub async fn list_trash(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::ListTrash,
) -> Rows<Document> {
    if !is_active_organization(&who, &p.organization_id) {
        return Ok(rows(Vec::new()));
    }
    let search = payload::filter_text(p.search);
    Ok(rows(s.documents.list_trash(&who, search.as_deref()).await?))
}

/// `Document.listChildren {parentDocumentId}` (stream) -> non-archived children, ≤ 500.
pub async fn list_children(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::ListChildren,
) -> Rows<Document> {
    match p.parent_document_id.parse::<DocumentId>() {
        Ok(parent) => Ok(rows(s.documents.list_children(&who, &parent).await?)),
        Err(_) => Ok(rows(Vec::new())),
    }
}

/// `Document.search {query, organizationId, userId?, includeArchived?, limit?, offset?}`
/// (stream) -> `{id, _rowId, title, content, rank}`, best first; `limit` 20 by default, ≤ 100.
pub async fn search(s: Arc<DocumentsState>, who: OrgCaller, p: payload::Search) -> Rows<SearchHit> {
    let user = match p.user_id.as_deref().map(str::parse::<UserId>) {
        None => None,
        Some(Ok(user)) => Some(user),
        Some(Err(_)) => return Ok(rows(Vec::new())),
    };
    if !is_active_organization(&who, &p.organization_id) {
        return Ok(rows(Vec::new()));
    }
    let search = DocumentSearch {
        query: p.query,
        user,
        include_archived: p.include_archived.unwrap_or(false),
        limit: payload::whole(p.limit),
        offset: payload::whole(p.offset),
    };
    Ok(rows(s.documents.search(&who, &search).await?))
}

/// `Document.create {organizationId, templateId?, parentDocumentId?, title?, content?,
/// contentRich?}` -> `Document` (owned by the caller) | `DocumentNotFoundError` (parent) |
/// `ConflictError` (template already used by the caller) | `ValidationError`.
pub async fn create(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::CreateDocument,
) -> Result<Document, DocumentsError> {
    same_organization(&who, &p.organization_id)?;
    payload::optional_text(
        "templateId",
        p.template_id.as_deref(),
        MAX_TEMPLATE_ID_CHARS,
    )?;
    payload::optional_text("title", p.title.as_deref(), MAX_TITLE_CHARS)?;
    payload::optional_text("content", p.content.as_deref(), MAX_CONTENT_CHARS)?;
    payload::rich("contentRich", p.content_rich.as_ref())?;
    let parent_document_id = p
        .parent_document_id
        .as_deref()
        .map(|parent| id_of("Document", parent))
        .transpose()?;
    let input = NewDocumentInput {
        template_id: p.template_id,
        parent_document_id,
        title: p.title,
        content: p.content,
        content_rich: p.content_rich,
    };
    s.documents.create(&who, input).await
}

/// `Document.update {id, version?, title?, content?, contentRich?, yjsSnapshot?, coverImage?,
/// icon?, fullWidth?, smallText?, textStyle?, toc?, lockPage?, isPublished?, parentDocumentId?}`
/// -> `Document` | `DocumentNotFoundError` | `DocumentPermissionDeniedError` |
/// `DocumentLockedError` | `DocumentArchivedError` | `VersionConflictError` | `ValidationError`.
pub async fn update(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: payload::UpdateDocument,
) -> Result<Document, DocumentsError> {
    let id = id_of("Document", &p.id)?;
    let (version, patch) = update_patch(p)?;
    s.documents.update(&who, &id, version, patch).await
}

/// The rules of `Document.update`'s fields, as a patch.
fn update_patch(
    p: payload::UpdateDocument,
) -> Result<(Option<i32>, DocumentPatch), DocumentsError> {
    let version = p
        .version
        .map(|v| {
            i32::try_from(v).ok().filter(|v| *v >= 1).ok_or_else(|| {
                DocumentsError::invalid("version", "version must be a positive integer")
            })
        })
        .transpose()?;
    payload::optional_text("title", p.title.as_deref(), MAX_TITLE_CHARS)?;
    payload::optional_text("content", p.content.as_deref(), MAX_CONTENT_CHARS)?;
    payload::rich("contentRich", p.content_rich.as_ref())?;
    payload::optional_text(
        "coverImage",
        p.cover_image.as_ref().and_then(|c| c.as_deref()),
        MAX_COVER_IMAGE_CHARS,
    )?;
    payload::optional_text(
        "icon",
        p.icon.as_ref().and_then(|i| i.as_deref()),
        MAX_ICON_CHARS,
    )?;
    let yjs_snapshot = p
        .yjs_snapshot
        .map(|text| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|_| {
                    DocumentsError::invalid("yjsSnapshot", "yjsSnapshot must be standard base64")
                })
        })
        .transpose()?;
    let text_style = p
        .text_style
        .map(|style| {
            style.parse::<TextStyle>().map_err(|_| {
                DocumentsError::invalid(
                    "textStyle",
                    "textStyle must be one of default, serif, mono",
                )
            })
        })
        .transpose()?;
    let parent_document_id = p
        .parent_document_id
        .map(|parent| {
            parent
                .map(|text| {
                    text.parse::<DocumentId>().map_err(|_| {
                        DocumentsError::invalid(
                            "parentDocumentId",
                            "parentDocumentId must be a document id or null",
                        )
                    })
                })
                .transpose()
        })
        .transpose()?;
    let patch = DocumentPatch {
        title: p.title,
        content: p.content,
        content_rich: p.content_rich,
        yjs_snapshot,
        cover_image: p.cover_image,
        icon: p.icon,
        full_width: p.full_width,
        small_text: p.small_text,
        text_style,
        toc: p.toc,
        lock_page: p.lock_page,
        is_published: p.is_published,
        parent_document_id,
    };
    Ok((version, patch))
}

async fn change(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
    change: FlagChange,
) -> Result<Document, DocumentsError> {
    let id = id_of("Document", &p.id)?;
    s.documents.change_flag(&who, &id, change).await
}

/// `Document.archive {id}` -> `Document` (a no-op when archived) | `DocumentNotFoundError` |
/// `DocumentPermissionDeniedError`.
pub async fn archive(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Document, DocumentsError> {
    change(s, who, p, FlagChange::Archive).await
}

/// `Document.restore {id}` -> `Document` | `DocumentNotFoundError` | `DocumentPermissionDeniedError`.
pub async fn restore(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Document, DocumentsError> {
    change(s, who, p, FlagChange::Restore).await
}

/// `Document.publish {id}` -> `Document` | `DocumentNotFoundError` |
/// `DocumentPermissionDeniedError` | `DocumentArchivedError`.
pub async fn publish(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Document, DocumentsError> {
    change(s, who, p, FlagChange::Publish).await
}

/// `Document.unpublish {id}` -> as `publish`.
pub async fn unpublish(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Document, DocumentsError> {
    change(s, who, p, FlagChange::Unpublish).await
}

/// `Document.lock {id}` -> as `publish`.
pub async fn lock(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Document, DocumentsError> {
    change(s, who, p, FlagChange::Lock).await
}

/// `Document.unlock {id}` -> as `publish`.
pub async fn unlock(
    s: Arc<DocumentsState>,
    who: OrgCaller,
    p: ById,
) -> Result<Document, DocumentsError> {
    change(s, who, p, FlagChange::Unlock).await
}

/// `Document.delete {id}` -> void (hard delete; children, discussions, comments, versions and
/// sources cascade) | `DocumentNotFoundError` | `DocumentPermissionDeniedError`.
pub async fn delete(s: Arc<DocumentsState>, who: OrgCaller, p: ById) -> Result<(), DocumentsError> {
    let id = id_of("Document", &p.id)?;
    s.documents.delete(&who, &id).await
}

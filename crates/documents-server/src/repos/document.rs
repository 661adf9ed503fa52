//! `DocumentRepo`: the page tree's queries (slices.md §3.4): full-text search on both backends
//! (§3.2), keyset listings by parent (`updated_at DESC, id DESC`), the owner's listings and
//! trash, children, the idempotent flag change and the ancestor walk that move checks use.

use serde::Serialize;
use shared_server::db::repo::{map_db_error, OrgRepo, Page, PageRequest, Sql};
use shared_server::db::{Backend, Exec, RepoError};
use shared_server::entities::{OrganizationId, UserId};
use shared_server::Timestamp;

use super::{push_contains, MAX_STREAM_ROWS};
use crate::entities::{Document, DocumentFlag, DocumentId};
use crate::search::SearchQuery;

shared_server::repository!(
    /// Documents (org-scoped, owned by a user, in a tree).
    DocumentRepo(OrgRepo<Document>)
);

/// Deepest ancestor chain [`DocumentRepo::ancestors`] walks (slices.md §3.3).
pub const MAX_ANCESTOR_DEPTH: i64 = 64;
/// Default and largest page of a search.
pub const DEFAULT_SEARCH_LIMIT: i64 = 20;
pub const MAX_SEARCH_LIMIT: i64 = 100;
/// Characters of content a search hit carries.
const HIT_CONTENT_CHARS: i64 = 500;

/// A search (slices.md §3.4 `search`): `limit` is clamped to 1..=100, `offset` to ≥ 0.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentSearch {
    pub query: String,
    pub user: Option<UserId>,
    pub include_archived: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// One search result (`Document.search`'s element).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct SearchHit {
    pub id: DocumentId,
    #[serde(rename = "_rowId")]
    pub _row_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The first 500 characters of the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Higher is better; 1 + x for hits whose title holds a query term, x < 1 otherwise.
    /// Comparable only within one backend.
    pub rank: f64,
}

/// `list`'s filter: the children of `parent` (roots when `None`), non-archived, whose title
/// contains `title_contains` (case-insensitive).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListDocuments {
    pub parent: Option<DocumentId>,
    pub title_contains: Option<String>,
    pub page: PageRequest,
}

impl DocumentRepo {
    /// Ranked full-text search of the organization's live documents (slices.md §3.2). A query
    /// with no positive term answers nothing, without a statement.
    #[tracing::instrument(skip_all, name = "DocumentRepo.search")]
    pub async fn search(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        search: &DocumentSearch,
    ) -> Result<Vec<SearchHit>, RepoError> {
        let parsed = SearchQuery::parse(&search.query);
        if parsed.is_empty() {
            return Ok(Vec::new());
        }
        let limit = search
            .limit
            .unwrap_or(DEFAULT_SEARCH_LIMIT)
            .clamp(1, MAX_SEARCH_LIMIT);
        let offset = search.offset.unwrap_or(0).max(0);
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = match conn.backend() {
            Backend::Sqlite => {
                // bm25 with the content weighted 0 is non-zero exactly when a query term is in
                // the title: the rank's title tier.
                let mut sql = Sql::new(
                    "SELECT id, _row_id, title, content, title_hit + score / (1.0 + score) AS rank \
                     FROM (SELECT d.id, d._row_id, d.title, substr(d.content, 1, ",
                );
                sql.push(&HIT_CONTENT_CHARS.to_string())
                    .push(
                        ") AS content, d.updated_at, \
                         -bm25(documents_document_fts, 10.0, 1.0) AS score, \
                         CASE WHEN bm25(documents_document_fts, 1.0, 0.0) < 0 THEN 1.0 ELSE 0.0 END AS title_hit \
                         FROM documents_document_fts \
                         JOIN documents_document d ON d._row_id = documents_document_fts.rowid \
                         WHERE documents_document_fts MATCH ",
                    )
                    .push_bind(parsed.fts5());
                sql
            }
            Backend::Postgres => {
                let mut sql = Sql::new(
                    "SELECT id, _row_id, title, content, rank FROM (SELECT d.id, d._row_id, d.title, \
                     substr(d.content, 1, ",
                );
                sql.push(&HIT_CONTENT_CHARS.to_string())
                    .push(
                        ") AS content, d.updated_at, \
                         ((CASE WHEN ts_filter(d.search_vector, '{a}') @@ q.any_term THEN 1.0 ELSE 0.0 END) \
                         + ts_rank(d.search_vector, q.query, 32))::double precision AS rank \
                         FROM documents_document d, \
                         (SELECT websearch_to_tsquery('english', ",
                    )
                    .push_bind(parsed.websearch())
                    .push(") AS query, websearch_to_tsquery('english', ")
                    .push_bind(parsed.any_term_websearch())
                    .push(") AS any_term) q WHERE d.search_vector @@ q.query");
                sql
            }
        };
        sql.push(" AND d.organization_id = ")
            .push_bind(org)
            .push(" AND d.deleted_at IS NULL");
        if !search.include_archived {
            sql.push(" AND d.is_archived = ").push_bind(false);
        }
        if let Some(user) = &search.user {
            sql.push(" AND d.user_id = ").push_bind(user);
        }
        sql.push(") hits ORDER BY rank DESC, updated_at DESC, id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        sql.fetch_all(conn).await.map_err(map_db_error::<Document>)
    }

    /// One page of the non-archived children of `filter.parent` (roots when `None`), newest
    /// update first (key `(updated_at DESC, id DESC)`); an `after` id that no longer exists (in
    /// this organization) is `InvalidCursor`.
    #[tracing::instrument(skip_all, name = "DocumentRepo.list")]
    pub async fn list(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        filter: &ListDocuments,
    ) -> Result<Page<Document>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let limit = filter.page.effective_limit() as usize;
        let cursor = match &filter.page.after {
            None => None,
            Some(after) => {
                let mut sql = Sql::new("SELECT updated_at, id FROM documents_document WHERE id = ");
                sql.push_bind(after.as_str())
                    .push(" AND organization_id = ")
                    .push_bind(org);
                let key: Option<(Timestamp, String)> = sql
                    .fetch_optional(conn)
                    .await
                    .map_err(map_db_error::<Document>)?;
                Some(key.ok_or(RepoError::InvalidCursor)?)
            }
        };
        let mut sql = live_documents(org);
        sql.push(" AND is_archived = ").push_bind(false);
        match &filter.parent {
            Some(parent) => sql.push(" AND parent_document_id = ").push_bind(parent),
            None => sql.push(" AND parent_document_id IS NULL"),
        };
        push_contains(&mut sql, "title", filter.title_contains.as_deref());
        if let Some((updated_at, id)) = cursor {
            sql.push(" AND (updated_at < ")
                .push_bind(updated_at)
                .push(" OR (updated_at = ")
                .push_bind(updated_at)
                .push(" AND id < ")
                .push_bind(id)
                .push("))");
        }
        sql.push(" ORDER BY updated_at DESC, id DESC LIMIT ")
            .push_bind(limit as i64 + 1);
        let mut items: Vec<Document> = sql
            .fetch_all(conn)
            .await
            .map_err(map_db_error::<Document>)?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|d| d.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// `user`'s non-archived documents, newest update first (at most 500).
    #[tracing::instrument(skip_all, name = "DocumentRepo.list_by_user")]
    pub async fn list_by_user(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Vec<Document>, RepoError> {
        let mut sql = live_documents(org);
        sql.push(" AND user_id = ")
            .push_bind(user)
            .push(" AND is_archived = ")
            .push_bind(false);
        newest_first(&mut sql);
        fetch_documents(on.into(), sql).await
    }

    /// `user`'s archived documents (the trash), newest update first (at most 500).
    #[tracing::instrument(skip_all, name = "DocumentRepo.list_archived")]
    pub async fn list_archived(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        title_contains: Option<&str>,
    ) -> Result<Vec<Document>, RepoError> {
        let mut sql = live_documents(org);
        sql.push(" AND user_id = ")
            .push_bind(user)
            .push(" AND is_archived = ")
            .push_bind(true);
        push_contains(&mut sql, "title", title_contains);
        newest_first(&mut sql);
        fetch_documents(on.into(), sql).await
    }

    /// The non-archived children of `parent`, newest update first (at most 500).
    #[tracing::instrument(skip_all, name = "DocumentRepo.list_children")]
    pub async fn list_children(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        parent: &DocumentId,
    ) -> Result<Vec<Document>, RepoError> {
        let mut sql = live_documents(org);
        sql.push(" AND parent_document_id = ")
            .push_bind(parent)
            .push(" AND is_archived = ")
            .push_bind(false);
        newest_first(&mut sql);
        fetch_documents(on.into(), sql).await
    }

    /// Sets `flag` to `value`. Idempotent: when the flag already has the value the row is
    /// returned unchanged (no write, no version bump). Missing → `NotFound`.
    #[tracing::instrument(skip_all, name = "DocumentRepo.set_flag")]
    pub async fn set_flag(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &DocumentId,
        flag: DocumentFlag,
        value: bool,
        actor: &str,
    ) -> Result<Document, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let now = self.now();
        let mut sql = Sql::new("UPDATE documents_document SET ");
        sql.push(flag.column())
            .push(" = ")
            .push_bind(value)
            .push(", version = version + 1, updated_at = ")
            .push_bind(now)
            .push(", updated_by = ")
            .push_bind(actor)
            .push(" WHERE id = ")
            .push_bind(id)
            .push(" AND organization_id = ")
            .push_bind(org)
            .push(" AND deleted_at IS NULL AND ")
            .push(flag.column())
            .push(" <> ")
            .push_bind(value)
            .push(" RETURNING *");
        let changed: Option<Document> = sql
            .fetch_optional(conn)
            .await
            .map_err(map_db_error::<Document>)?;
        match changed {
            Some(document) => Ok(document),
            None => {
                let mut sql = live_documents(org);
                sql.push(" AND id = ").push_bind(id);
                sql.fetch_optional(conn)
                    .await
                    .map_err(map_db_error::<Document>)?
                    .ok_or_else(|| RepoError::not_found("Document", id))
            }
        }
    }

    /// The ancestors of `id`, nearest first (its parent, the parent's parent, …), at most
    /// [`MAX_ANCESTOR_DEPTH`]; soft-deleted ancestors included (the tree still holds them).
    #[tracing::instrument(skip_all, name = "DocumentRepo.ancestors")]
    pub async fn ancestors(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &DocumentId,
    ) -> Result<Vec<DocumentId>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new(
            "WITH RECURSIVE chain (id, parent_document_id, depth) AS (\
             SELECT id, parent_document_id, 0 FROM documents_document WHERE id = ",
        );
        sql.push_bind(id)
            .push(" AND organization_id = ")
            .push_bind(org)
            .push(
                " UNION ALL SELECT d.id, d.parent_document_id, c.depth + 1 \
                 FROM documents_document d JOIN chain c ON d.id = c.parent_document_id \
                 WHERE d.organization_id = ",
            )
            .push_bind(org)
            .push(" AND c.depth < ")
            .push_bind(MAX_ANCESTOR_DEPTH)
            .push(") SELECT id FROM chain WHERE depth > 0 ORDER BY depth");
        let rows: Vec<(DocumentId,)> = sql
            .fetch_all(conn)
            .await
            .map_err(map_db_error::<Document>)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

/// `SELECT * … WHERE organization_id = $org AND deleted_at IS NULL`.
fn live_documents(org: &OrganizationId) -> Sql {
    let mut sql = Sql::new("SELECT * FROM documents_document WHERE organization_id = ");
    sql.push_bind(org).push(" AND deleted_at IS NULL");
    sql
}

fn newest_first(sql: &mut Sql) {
    sql.push(" ORDER BY updated_at DESC, id DESC LIMIT ")
        .push_bind(MAX_STREAM_ROWS);
}

async fn fetch_documents(mut on: Exec<'_>, sql: Sql) -> Result<Vec<Document>, RepoError> {
    let mut held = on.conn().await?;
    sql.fetch_all(&mut held.conn())
        .await
        .map_err(map_db_error::<Document>)
}

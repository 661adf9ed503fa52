//! `DocumentVersionRepo`: immutable snapshots (slices.md §3.1, §3.4). It wraps the base
//! repository without dereferencing to it and re-exposes only insert (as `create_snapshot`),
//! reads and hard delete: there is no update and no soft delete to call, and the database
//! trigger refuses an `UPDATE` from anywhere else.

use serde::Serialize;
use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Db, Exec, RepoError};
use shared_server::entities::OrganizationId;
use shared_server::Clock;

use super::discussion::summary;
use super::MAX_STREAM_ROWS;
use crate::entities::{
    DocumentId, DocumentVersion, DocumentVersionId, NewDocumentVersion, UserSummary,
};

/// Versions (org-scoped, insert-only).
#[derive(Debug, Clone)]
pub struct DocumentVersionRepo {
    base: OrgRepo<DocumentVersion>,
}

/// `DocumentVersion & { user: UserSummary }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionWithAuthor {
    #[serde(flatten)]
    pub version: DocumentVersion,
    pub user: UserSummary,
}

/// `DocumentVersion.getContent`'s success.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct VersionContent {
    pub document_id: DocumentId,
    pub document_version_id: DocumentVersionId,
    pub content: String,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    #[sqlx(flatten)]
    version: DocumentVersion,
    author_row_id: i64,
    author_name: String,
    author_image: Option<String>,
}

impl VersionRow {
    fn with_author(self) -> VersionWithAuthor {
        let user = summary(
            &self.version.user_id,
            self.author_row_id,
            self.author_name,
            self.author_image,
        );
        VersionWithAuthor {
            version: self.version,
            user,
        }
    }
}

impl DocumentVersionRepo {
    pub fn new(db: Db, clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            base: OrgRepo::new(db, clock),
        }
    }

    pub fn db(&self) -> &Db {
        self.base.db()
    }

    /// Writes a new version.
    #[tracing::instrument(skip_all, name = "DocumentVersionRepo.create_snapshot")]
    pub async fn create_snapshot(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        new: NewDocumentVersion,
    ) -> Result<DocumentVersion, RepoError> {
        let actor = new.user_id.to_string();
        self.base.insert(on, org, new, &actor).await
    }

    /// The version, or `NotFound`.
    pub async fn get(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &DocumentVersionId,
    ) -> Result<DocumentVersion, RepoError> {
        self.base.get(on, org, id).await
    }

    /// Removes the version.
    pub async fn hard_delete(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &DocumentVersionId,
    ) -> Result<(), RepoError> {
        self.base.hard_delete(on, org, id).await
    }

    /// The version with its author, or `NotFound`.
    #[tracing::instrument(skip_all, name = "DocumentVersionRepo.get_with_author")]
    pub async fn get_with_author(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &DocumentVersionId,
    ) -> Result<VersionWithAuthor, RepoError> {
        let mut sql = with_authors(org);
        sql.push(" AND v.id = ").push_bind(id);
        let mut on = on.into();
        let mut held = on.conn().await?;
        let row: Option<VersionRow> = sql
            .fetch_optional(&mut held.conn())
            .await
            .map_err(map_db_error::<DocumentVersion>)?;
        row.map(VersionRow::with_author)
            .ok_or_else(|| RepoError::not_found("DocumentVersion", id))
    }

    /// The document's versions with their authors, newest first (at most 500).
    #[tracing::instrument(skip_all, name = "DocumentVersionRepo.list_by_document")]
    pub async fn list_by_document(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        document: &DocumentId,
    ) -> Result<Vec<VersionWithAuthor>, RepoError> {
        let mut sql = with_authors(org);
        sql.push(" AND v.document_id = ")
            .push_bind(document)
            .push(" ORDER BY v.created_at DESC, v.id DESC LIMIT ")
            .push_bind(MAX_STREAM_ROWS);
        let mut on = on.into();
        let mut held = on.conn().await?;
        let rows: Vec<VersionRow> = sql
            .fetch_all(&mut held.conn())
            .await
            .map_err(map_db_error::<DocumentVersion>)?;
        Ok(rows.into_iter().map(VersionRow::with_author).collect())
    }

    /// The version's text and document, or `NotFound`.
    #[tracing::instrument(skip_all, name = "DocumentVersionRepo.get_content")]
    pub async fn get_content(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        id: &DocumentVersionId,
    ) -> Result<VersionContent, RepoError> {
        let mut sql = Sql::new(
            "SELECT document_id, id AS document_version_id, content \
             FROM documents_document_version WHERE organization_id = ",
        );
        sql.push_bind(org)
            .push(" AND deleted_at IS NULL AND id = ")
            .push_bind(id);
        let mut on = on.into();
        let mut held = on.conn().await?;
        sql.fetch_optional(&mut held.conn())
            .await
            .map_err(map_db_error::<DocumentVersion>)?
            .ok_or_else(|| RepoError::not_found("DocumentVersion", id))
    }
}

fn with_authors(org: &OrganizationId) -> Sql {
    let mut sql = Sql::new(
        "SELECT v.*, u._row_id AS author_row_id, u.name AS author_name, u.image AS author_image \
         FROM documents_document_version v JOIN shared_user u ON u.id = v.user_id \
         WHERE v.organization_id = ",
    );
    sql.push_bind(org).push(" AND v.deleted_at IS NULL");
    sql
}

//! `DocumentFileRepo`: files attached to documents (slices.md §3.4).

use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::{OrganizationId, UserId};

use super::MAX_STREAM_ROWS;
use crate::entities::{DocumentFile, DocumentId};

shared_server::repository!(
    /// Document attachments (org-scoped, owned by a user).
    DocumentFileRepo(OrgRepo<DocumentFile>)
);

impl DocumentFileRepo {
    /// The document's live files, oldest first (at most 500).
    #[tracing::instrument(skip_all, name = "DocumentFileRepo.list_by_document")]
    pub async fn list_by_document(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        document: &DocumentId,
    ) -> Result<Vec<DocumentFile>, RepoError> {
        self.list_where(on.into(), org, "document_id", document.as_str())
            .await
    }

    /// The user's live files, oldest first (at most 500).
    #[tracing::instrument(skip_all, name = "DocumentFileRepo.list_by_user")]
    pub async fn list_by_user(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Vec<DocumentFile>, RepoError> {
        self.list_where(on.into(), org, "user_id", user.as_str())
            .await
    }

    async fn list_where(
        &self,
        mut on: Exec<'_>,
        org: &OrganizationId,
        column: &str,
        value: &str,
    ) -> Result<Vec<DocumentFile>, RepoError> {
        let mut held = on.conn().await?;
        let mut sql = Sql::new("SELECT * FROM documents_document_file WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND deleted_at IS NULL AND ")
            .push(column)
            .push(" = ")
            .push_bind(value)
            .push(" ORDER BY created_at, id LIMIT ")
            .push_bind(MAX_STREAM_ROWS);
        sql.fetch_all(&mut held.conn())
            .await
            .map_err(map_db_error::<DocumentFile>)
    }
}

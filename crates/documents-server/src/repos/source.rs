//! `DocumentSourceRepo`: the import mappings (slices.md §3.4): which document an external item
//! became.

use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::OrganizationId;

use crate::entities::DocumentSource;

shared_server::repository!(
    /// Import mappings (org-scoped).
    DocumentSourceRepo(OrgRepo<DocumentSource>)
);

impl DocumentSourceRepo {
    /// The mapping of one external item, soft-deleted ones too when `include_deleted`.
    #[tracing::instrument(skip_all, name = "DocumentSourceRepo.find_by_mapping_key")]
    pub async fn find_by_mapping_key(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        provider_account_id: &str,
        source_type: &str,
        source_id: &str,
        include_deleted: bool,
    ) -> Result<Option<DocumentSource>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let mut sql = Sql::new("SELECT * FROM documents_document_source WHERE organization_id = ");
        sql.push_bind(org)
            .push(" AND provider_account_id = ")
            .push_bind(provider_account_id)
            .push(" AND source_type = ")
            .push_bind(source_type)
            .push(" AND source_id = ")
            .push_bind(source_id);
        if !include_deleted {
            sql.push(" AND deleted_at IS NULL");
        }
        sql.fetch_optional(&mut held.conn())
            .await
            .map_err(map_db_error::<DocumentSource>)
    }
}

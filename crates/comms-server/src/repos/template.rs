//! `EmailTemplateRepo`: an organization's templates (base CRUD through `Deref`) and lookup by
//! name, which is how a send resolves "the organization's template, else the built-in one".

use shared_server::db::repo::{map_db_error, OrgRepo, Sql};
use shared_server::db::Exec;
use shared_server::entities::OrganizationId;
use shared_server::RepoError;

use crate::entities::EmailTemplate;

shared_server::repository!(
    /// Email templates (org-scoped).
    EmailTemplateRepo(OrgRepo<EmailTemplate>)
);

impl EmailTemplateRepo {
    /// The organization's live template called `name`, if any.
    #[tracing::instrument(skip_all, name = "EmailTemplateRepo.find_by_name")]
    pub async fn find_by_name(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        name: &str,
    ) -> Result<Option<EmailTemplate>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM comms_email_template WHERE organization_id = ");
        sql.push_bind(org.as_str())
            .push(" AND name = ")
            .push_bind(name)
            .push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<EmailTemplate>)
    }
}

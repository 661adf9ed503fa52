//! `OrganizationRepo`: organizations (tenants), plus lookups by slug.

use crate::db::repo::{map_db_error, Repo, Sql};
use crate::db::{Exec, RepoError};
use crate::entities::{is_valid_slug, Organization};

crate::repository!(
    /// Organizations (not org-scoped: they are the tenants).
    OrganizationRepo(Repo<Organization>)
);

impl OrganizationRepo {
    /// The organization with this slug, unless soft-deleted.
    #[tracing::instrument(skip_all, name = "OrganizationRepo.find_by_slug")]
    pub async fn find_by_slug(
        &self,
        on: impl Into<Exec<'_>>,
        slug: &str,
    ) -> Result<Option<Organization>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        if !is_valid_slug(slug) {
            return Ok(None);
        }
        let mut sql = Sql::new("SELECT * FROM shared_organization WHERE slug = ");
        sql.push_bind(slug).push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Organization>)
    }

    /// Whether the slug is taken. Soft-deleted organizations keep their slug (the unique
    /// constraint still sees them), so they count.
    #[tracing::instrument(skip_all, name = "OrganizationRepo.slug_exists")]
    pub async fn slug_exists(
        &self,
        on: impl Into<Exec<'_>>,
        slug: &str,
    ) -> Result<bool, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT COUNT(*) FROM shared_organization WHERE slug = ");
        sql.push_bind(slug);
        let (n,): (i64,) = sql
            .fetch_one(conn)
            .await
            .map_err(map_db_error::<Organization>)?;
        Ok(n > 0)
    }
}

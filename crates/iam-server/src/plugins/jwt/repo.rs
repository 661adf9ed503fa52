//! `JwksRepo`: the signing keys, newest first.

use shared_server::db::repo::{map_db_error, Repo, Sql};
use shared_server::db::{Exec, RepoError};

use super::entities::Jwk;

shared_server::repository!(
    /// Signing keys (not org-scoped).
    JwksRepo(Repo<Jwk>)
);

impl JwksRepo {
    /// Every key, newest first.
    #[tracing::instrument(skip_all, name = "JwksRepo.list_newest_first")]
    pub async fn list_newest_first(&self, on: impl Into<Exec<'_>>) -> Result<Vec<Jwk>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        Sql::new("SELECT * FROM iam_jwks WHERE deleted_at IS NULL ORDER BY created_at DESC, _row_id DESC")
            .fetch_all(conn)
            .await
            .map_err(map_db_error::<Jwk>)
    }
}

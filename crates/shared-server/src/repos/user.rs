//! `UserRepo`: users, plus case-insensitive lookups by email and username (both are stored
//! lowercased, so the lookup lowercases its input and compares exactly).

use crate::db::repo::{map_db_error, Repo, Sql};
use crate::db::{Conn, Exec, RepoError};
use crate::entities::{normalize_email, normalize_username, User};

crate::repository!(
    /// Users (not org-scoped).
    UserRepo(Repo<User>)
);

impl UserRepo {
    /// The user with this email (any case), unless soft-deleted.
    #[tracing::instrument(skip_all, name = "UserRepo.find_by_email")]
    pub async fn find_by_email(
        &self,
        on: impl Into<Exec<'_>>,
        email: &str,
    ) -> Result<Option<User>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        // Text that is not an email cannot match a stored (validated) one.
        let Ok(email) = normalize_email(email) else {
            return Ok(None);
        };
        find_by(conn, "email", email).await
    }

    /// The user with this username (any case), unless soft-deleted.
    #[tracing::instrument(skip_all, name = "UserRepo.find_by_username")]
    pub async fn find_by_username(
        &self,
        on: impl Into<Exec<'_>>,
        username: &str,
    ) -> Result<Option<User>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let Ok(username) = normalize_username(username) else {
            return Ok(None);
        };
        find_by(conn, "username", username).await
    }
}

async fn find_by(
    conn: &mut Conn<'_>,
    column: &'static str,
    value: String,
) -> Result<Option<User>, RepoError> {
    let mut sql = Sql::new(format!("SELECT * FROM shared_user WHERE {column} = "));
    sql.push_bind(value).push(" AND deleted_at IS NULL");
    sql.fetch_optional(conn).await.map_err(map_db_error::<User>)
}

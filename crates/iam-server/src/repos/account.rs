//! `AccountRepo`: sign-in methods of users, with the lookups the auth API needs (by provider
//! account, by user, the credential account) and the password write of sign-up, password
//! change, reset and hash upgrade.

use shared_server::db::repo::{map_db_error, Repo, Sql};
use shared_server::db::{Exec, RepoError};
use shared_server::entities::UserId;

use crate::entities::{Account, AccountPatch, NewAccount, CREDENTIAL_PROVIDER};

shared_server::repository!(
    /// Accounts (not org-scoped).
    AccountRepo(Repo<Account>)
);

impl AccountRepo {
    /// The account of `provider_id` whose provider-side id is `account_id`.
    #[tracing::instrument(skip_all, name = "AccountRepo.find_by_provider")]
    pub async fn find_by_provider(
        &self,
        on: impl Into<Exec<'_>>,
        provider_id: &str,
        account_id: &str,
    ) -> Result<Option<Account>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_account WHERE provider_id = ");
        sql.push_bind(provider_id.to_string())
            .push(" AND account_id = ")
            .push_bind(account_id.to_string())
            .push(" AND deleted_at IS NULL");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Account>)
    }

    /// The user's accounts, oldest first.
    #[tracing::instrument(skip_all, name = "AccountRepo.list_by_user")]
    pub async fn list_by_user(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
    ) -> Result<Vec<Account>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_account WHERE user_id = ");
        sql.push_bind(user)
            .push(" AND deleted_at IS NULL ORDER BY created_at ASC, id ASC");
        sql.fetch_all(conn).await.map_err(map_db_error::<Account>)
    }

    /// The user's `credential` (email + password) account.
    #[tracing::instrument(skip_all, name = "AccountRepo.find_credential")]
    pub async fn find_credential(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
    ) -> Result<Option<Account>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut sql = Sql::new("SELECT * FROM iam_account WHERE user_id = ");
        sql.push_bind(user)
            .push(" AND provider_id = ")
            .push_bind(CREDENTIAL_PROVIDER)
            .push(" AND deleted_at IS NULL ORDER BY created_at ASC, id ASC LIMIT 1");
        sql.fetch_optional(conn)
            .await
            .map_err(map_db_error::<Account>)
    }

    /// Stores `password_hash` in the user's credential account, creating the account when the
    /// user has none (better-auth's reset-password does the same).
    pub async fn set_password(
        &self,
        on: impl Into<Exec<'_>>,
        user: &UserId,
        password_hash: String,
        actor: &str,
    ) -> Result<Account, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        match self.find_credential(&mut *conn, user).await? {
            Some(account) => {
                let patch = AccountPatch {
                    password: Some(Some(password_hash)),
                    ..AccountPatch::default()
                };
                self.update(&mut *conn, &account.id, account.audit.version, patch, actor)
                    .await
            }
            None => {
                self.insert(
                    &mut *conn,
                    NewAccount::credential(user, password_hash),
                    actor,
                )
                .await
            }
        }
    }
}

//! `AuthService`: the business operations behind the auth API — sign-up (with the personal
//! organization hook), sign-in, sessions and their sliding refresh, password change and reset,
//! email verification and change, and account deletion. The HTTP layer (`crate::http`) only
//! parses requests and writes better-auth's responses around these calls.
//!
//! Every write that must be atomic runs in one transaction (sign-up: user, personal
//! organization, owner membership, credential account, verification email and first session).

use std::sync::Arc;

use axum::http::StatusCode;
use shared_server::auth::AuthContext;
use shared_server::db::Exec;
use shared_server::entities::{
    NewSession, NewUser, Organization, Session, SessionPatch, User, UserId, UserPatch,
};
use shared_server::mail::{MailError, Mailer, OutgoingEmail};
use shared_server::repos::{OrganizationRepo, SessionRepo, UserRepo};
use shared_server::{Clock, Db, RepoError, Timestamp};

use crate::config::{IamConfig, IdentifierStorage};
use crate::entities::{Account, MemberStatus, NewVerification, CREDENTIAL_PROVIDER};
use crate::error::{ErrorCode, IamError};
use crate::repos::{AccountRepo, MemberRepo, VerificationRepo};
use crate::services::emails;
use crate::services::organizations::create_personal_organization;
use crate::services::password::{PasswordCheck, PasswordHasher};
use crate::services::tokens::{self, EmailClaims, JwtError};

/// The unique constraint on `shared_user.username` (a concurrent claim of the same name).
const USERNAME_UQ: &str = "shared_user_username_uq";
/// `source` of users and sessions created through the auth API.
const API_SOURCE: &str = "api";
/// `request_type` of email-change links sent to the new address.
pub const CHANGE_EMAIL_VERIFICATION: &str = "change-email-verification";
/// `request_type` of email-change confirmations sent to the old address.
pub const CHANGE_EMAIL_CONFIRMATION: &str = "change-email-confirmation";

/// Where a request came from, recorded on the sessions it creates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// A validated sign-up (email already lower-cased, password length checked).
#[derive(Clone)]
pub struct SignUpInput {
    pub name: String,
    pub email: String,
    pub password: String,
    pub image: Option<String>,
    pub callback_url: Option<String>,
    pub remember: bool,
    /// The username plugin's fields: `username` already lower-cased and checked.
    pub username: Option<String>,
    pub display_username: Option<String>,
    /// The last-login-method plugin's value to store (`email`), when it stores one.
    pub last_login_method: Option<String>,
}

impl std::fmt::Debug for SignUpInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUpInput")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("password", &"***")
            .field("remember", &self.remember)
            .finish_non_exhaustive()
    }
}

/// A signed-in user and the session just created for them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
}

/// What following an email-verification link did.
#[derive(Debug, Clone)]
pub enum EmailVerified {
    /// Plain verification: the address is verified (or already was).
    Verified,
    /// A change confirmed by the old address: a link went to the new one.
    ConfirmationSent,
    /// The email changed; `session` is the caller's session to re-send as a cookie.
    EmailChanged(Box<EmailChange>),
}

/// An email change that took effect.
#[derive(Debug, Clone)]
pub struct EmailChange {
    pub user: User,
    /// The caller's session, to re-send as a cookie.
    pub session: Option<Session>,
}

/// What consuming a reset token found.
enum ResetOutcome {
    Done(UserId),
    InvalidToken,
    UserGone,
}

/// The repositories the service works with.
#[derive(Debug, Clone)]
pub struct AuthRepos {
    pub users: UserRepo,
    pub orgs: OrganizationRepo,
    pub sessions: SessionRepo,
    pub accounts: AccountRepo,
    pub verifications: VerificationRepo,
    pub members: MemberRepo,
}

/// The auth slice's operations. Cloning is cheap (pools and `Arc`s): transactions that may be
/// retried run on a clone.
#[derive(Clone)]
pub struct AuthService {
    db: Db,
    clock: Arc<dyn Clock>,
    config: Arc<IamConfig>,
    repos: AuthRepos,
    passwords: PasswordHasher,
    mailer: Arc<dyn Mailer>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("db", &self.db)
            .field("base_path", &self.config.base_path)
            .finish_non_exhaustive()
    }
}

impl AuthService {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        config: Arc<IamConfig>,
        repos: AuthRepos,
        passwords: PasswordHasher,
        mailer: Arc<dyn Mailer>,
    ) -> Self {
        Self {
            db,
            clock,
            config,
            repos,
            passwords,
            mailer,
        }
    }

    pub fn config(&self) -> &Arc<IamConfig> {
        &self.config
    }

    pub fn repos(&self) -> &AuthRepos {
        &self.repos
    }

    pub fn passwords(&self) -> &PasswordHasher {
        &self.passwords
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn mailer(&self) -> &Arc<dyn Mailer> {
        &self.mailer
    }

    // -----------------------------------------------------------------------------------------
    // Sign-up and sign-in
    // -----------------------------------------------------------------------------------------

    /// Creates the user, their personal organization and owner membership, the credential
    /// account, the verification email (when configured) and a first session, in one
    /// transaction. An existing email → 422 `USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL`.
    pub async fn sign_up(
        &self,
        input: SignUpInput,
        client: &ClientInfo,
    ) -> Result<SignedIn, IamError> {
        let exists = || {
            IamError::api(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::UserAlreadyExistsUseAnotherEmail,
            )
        };
        if self
            .repos
            .users
            .find_by_email(&self.db, &input.email)
            .await?
            .is_some()
        {
            return Err(exists());
        }
        let hash = self.passwords.hash(&input.password).await?;
        let token = tokens::new_session_token()?;
        let this = self.clone();
        let client = client.clone();
        let result = self
            .db
            .transaction(move |tx| {
                let (this, input, hash, token, client) = (
                    this.clone(),
                    input.clone(),
                    hash.clone(),
                    token.clone(),
                    client.clone(),
                );
                Box::pin(async move {
                    this.write_sign_up(&mut *tx, input, hash, token, &client)
                        .await
                })
            })
            .await;
        match result {
            Ok(signed) => {
                tracing::info!(user.id = %signed.user.id, "user signed up");
                Ok(signed)
            }
            Err(RepoError::Conflict { constraint }) if constraint == "shared_user_email_uq" => {
                Err(exists())
            }
            Err(RepoError::Conflict { constraint }) if constraint == USERNAME_UQ => {
                Err(IamError::bad_request(ErrorCode::UsernameIsAlreadyTaken))
            }
            Err(RepoError::Invalid { message }) => {
                tracing::warn!(%message, "sign-up refused by validation");
                Err(IamError::api(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::FailedToCreateUser,
                ))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The sign-up writes, on the transaction's connection.
    async fn write_sign_up(
        &self,
        on: impl Into<Exec<'_>>,
        input: SignUpInput,
        hash: String,
        token: String,
        client: &ClientInfo,
    ) -> Result<SignedIn, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let now = self.now();
        let new_user = NewUser {
            image: input.image.clone(),
            username: input.username.clone(),
            display_username: input.display_username.clone(),
            last_login_method: input.last_login_method.clone(),
            source: Some(API_SOURCE.to_string()),
            ..NewUser::new(input.name.clone(), input.email.clone())
        };
        let user = self.repos.users.insert(&mut *conn, new_user, "app").await?;
        create_personal_organization(
            &mut *conn,
            &self.repos.orgs,
            &self.repos.members,
            &user,
            now,
        )
        .await?;
        self.repos
            .accounts
            .insert(
                &mut *conn,
                crate::entities::NewAccount::credential(&user.id, hash),
                user.id.as_str(),
            )
            .await?;
        if self.config.send_verification_on_sign_up {
            let email = self
                .verification_email(&user, None, input.callback_url.as_deref())
                .map_err(|e| RepoError::Invalid {
                    message: format!("verification email: {e}"),
                })?;
            if let Some(email) = email {
                self.queue(&mut *conn, email).await?;
            }
        }
        let session = self
            .insert_session(&mut *conn, &user, input.remember, client, token)
            .await?;
        Ok(SignedIn { user, session })
    }

    /// Checks the email and password and opens a session (see [`AuthService::authenticate_email`]).
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<SignedIn, IamError> {
        let user = self.authenticate_email(email, password).await?;
        let session = self.create_session(&user, remember, client).await?;
        Ok(SignedIn { user, session })
    }

    /// Checks the email and password. Every failure is 401 `INVALID_EMAIL_OR_PASSWORD` and
    /// costs one password verification, so timing does not tell whether the email exists.
    pub async fn authenticate_email(&self, email: &str, password: &str) -> Result<User, IamError> {
        let user = self.repos.users.find_by_email(&self.db, email).await?;
        self.check_password_of(user, password, ErrorCode::InvalidEmailOrPassword)
            .await
    }

    /// Checks `password` against the credential account of `user` (looked up by the caller);
    /// no user, no password or a wrong one → 401 `invalid`, each after one password
    /// verification. A better-auth scrypt hash is upgraded to Argon2id.
    pub async fn check_password_of(
        &self,
        user: Option<User>,
        password: &str,
        invalid: ErrorCode,
    ) -> Result<User, IamError> {
        let invalid = || IamError::unauthorized(invalid);
        let Some(user) = user else {
            self.passwords.verify_dummy(password).await?;
            return Err(invalid());
        };
        let account = self
            .repos
            .accounts
            .find_credential(&self.db, &user.id)
            .await?;
        let Some((account, stored)) = account.and_then(|a| a.password.clone().map(|p| (a, p)))
        else {
            self.passwords.verify_dummy(password).await?;
            return Err(invalid());
        };
        match self.passwords.verify(password, &stored).await? {
            PasswordCheck::Mismatch => {
                tracing::info!(user.id = %user.id, "sign-in refused: wrong password");
                return Err(invalid());
            }
            PasswordCheck::Match { rehash: true } => self.upgrade_hash(&account, password).await,
            PasswordCheck::Match { rehash: false } => {}
        }
        Ok(user)
    }

    /// Keeps the sign-in method on the user (the last-login-method plugin); a failure is
    /// logged and the sign-in goes on, as in better-auth.
    pub async fn record_login_method(&self, user: &User, method: String) {
        let patch = UserPatch {
            last_login_method: Some(Some(method)),
            ..UserPatch::default()
        };
        if let Err(error) = self.update_user(&user.id, patch).await {
            tracing::warn!(user.id = %user.id, %error, "last login method not stored");
        }
    }

    /// Replaces a legacy or weaker hash after a successful verification; a failure is logged
    /// and the sign-in goes on (the old hash still works).
    async fn upgrade_hash(&self, account: &Account, password: &str) {
        let result = async {
            let hash = self.passwords.hash(password).await?;
            self.repos
                .accounts
                .set_password(&self.db, &account.user_id, hash, account.user_id.as_str())
                .await?;
            Ok::<_, IamError>(())
        }
        .await;
        match result {
            Ok(()) => {
                tracing::info!(user.id = %account.user_id, "password hash upgraded to argon2id")
            }
            Err(error) => {
                tracing::warn!(user.id = %account.user_id, %error, "password hash upgrade failed")
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Sessions
    // -----------------------------------------------------------------------------------------

    /// Opens a session for `user`: a new random token, `expiresIn` (or one day when not
    /// remembered), and the active organization chosen personal-first.
    pub async fn create_session(
        &self,
        user: &User,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<Session, IamError> {
        let token = tokens::new_session_token()?;
        Ok(self
            .insert_session(&self.db, user, remember, client, token)
            .await?)
    }

    pub(crate) async fn insert_session(
        &self,
        on: impl Into<Exec<'_>>,
        user: &User,
        remember: bool,
        client: &ClientInfo,
        token: String,
    ) -> Result<Session, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let lifetime = if remember {
            self.config.session_expires_in
        } else {
            self.config.dont_remember_expires_in
        };
        let active = self
            .repos
            .members
            .list_active_for_user_personal_first(&mut *conn, &user.id)
            .await?
            .into_iter()
            .next();
        let new = NewSession {
            ip_address: client.ip_address.clone(),
            user_agent: client.user_agent.clone(),
            active_organization_id: active.map(|o| o.id),
            source: Some(API_SOURCE.to_string()),
            ..NewSession::new(token, user.id.clone(), self.now().plus(lifetime))
        };
        self.repos
            .sessions
            .insert(&mut *conn, new, user.id.as_str())
            .await
    }

    /// The unexpired session with this token and its (existing) user.
    pub async fn session_for_token(
        &self,
        token: &str,
    ) -> Result<Option<(Session, User)>, IamError> {
        // Both lookups on one pooled connection: a second checkout costs a pool round trip
        // (on SQLite a hop to the connection's worker thread) for nothing.
        let mut pooled = self.db.acquire().await?;
        let Some(session) = self
            .repos
            .sessions
            .find_by_token(&mut pooled, token)
            .await?
        else {
            return Ok(None);
        };
        match self
            .repos
            .users
            .find_by_id(&mut pooled, &session.user_id)
            .await?
        {
            Some(user) => Ok(Some((session, user))),
            None => Ok(None),
        }
    }

    /// Deletes the session with this token (an expired one included).
    pub async fn delete_session(&self, token: &str) -> Result<bool, IamError> {
        Ok(self.repos.sessions.delete_by_token(&self.db, token).await?)
    }

    /// Whether the session is due for the sliding refresh: at least `updateAge` since it was
    /// created or last refreshed (`expiresAt - expiresIn + updateAge <= now`).
    pub fn refresh_due(&self, session: &Session) -> bool {
        let last_refresh = session.expires_at.minus(self.config.session_expires_in);
        last_refresh.plus(self.config.session_update_age) <= self.now()
    }

    /// Extends the session to `now + expiresIn`. A vanished session → 401
    /// `FAILED_TO_GET_SESSION`; a concurrent refresh wins and its result is returned.
    pub async fn refresh_session(&self, session: &Session) -> Result<Session, IamError> {
        let patch = SessionPatch {
            expires_at: Some(self.now().plus(self.config.session_expires_in)),
            ..SessionPatch::default()
        };
        match self
            .repos
            .sessions
            .update(
                &self.db,
                &session.id,
                session.audit.version,
                patch,
                session.user_id.as_str(),
            )
            .await
        {
            Ok(updated) => Ok(updated),
            Err(RepoError::VersionConflict { .. }) => self
                .repos
                .sessions
                .find_by_token(&self.db, &session.token)
                .await?
                .ok_or_else(|| IamError::unauthorized(ErrorCode::FailedToGetSession)),
            Err(RepoError::NotFound { .. }) => {
                Err(IamError::unauthorized(ErrorCode::FailedToGetSession))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Whether the session is younger than `freshAge`.
    pub fn is_fresh(&self, session: &Session) -> bool {
        session.audit.created_at.plus(self.config.session_fresh_age) > self.now()
    }

    /// The user's unexpired sessions, newest first.
    pub async fn list_sessions(&self, user: &UserId) -> Result<Vec<Session>, IamError> {
        Ok(self.repos.sessions.list_by_user(&self.db, user).await?)
    }

    /// Deletes the session with `token` if it is the user's; returns whether one was deleted.
    pub async fn revoke_session(&self, user: &UserId, token: &str) -> Result<bool, IamError> {
        match self.repos.sessions.find_by_token(&self.db, token).await? {
            Some(session) if &session.user_id == user => {
                Ok(self.repos.sessions.delete_by_token(&self.db, token).await?)
            }
            _ => Ok(false),
        }
    }

    /// Deletes the user's sessions, except `keep`.
    pub async fn revoke_sessions(
        &self,
        user: &UserId,
        keep: Option<&Session>,
    ) -> Result<u64, IamError> {
        Ok(self
            .repos
            .sessions
            .delete_by_user(&self.db, user, keep.map(|s| &s.id))
            .await?)
    }

    // -----------------------------------------------------------------------------------------
    // AuthContext
    // -----------------------------------------------------------------------------------------

    /// The caller behind a session token: `None` for an unknown or expired session, a missing
    /// user, or a banned user whose ban has not expired. A session whose active organization
    /// is unset or no longer an active membership gets the personal-first choice, persisted.
    pub async fn resolve_token(&self, token: &str) -> Result<Option<AuthContext>, IamError> {
        let Some((session, user)) = self.session_for_token(token).await? else {
            return Ok(None);
        };
        let now = self.now();
        if user.banned && user.ban_expires.is_none_or(|until| until > now) {
            return Ok(None);
        }
        let (session, organization) = self.ensure_active_organization(session, &user).await?;
        Ok(Some(AuthContext {
            user,
            session,
            organization,
        }))
    }

    /// The session's active organization, re-selected personal-first (and persisted) when it
    /// is unset or no longer an active membership.
    pub(crate) async fn ensure_active_organization(
        &self,
        session: Session,
        user: &User,
    ) -> Result<(Session, Option<Organization>), IamError> {
        if let Some(org_id) = &session.active_organization_id {
            let active_member = self
                .repos
                .members
                .find(&self.db, org_id, &user.id)
                .await?
                .is_some_and(|m| m.status == MemberStatus::Active);
            if active_member {
                if let Some(org) = self.repos.orgs.find_by_id(&self.db, org_id).await? {
                    return Ok((session, Some(org)));
                }
            }
        }
        let choice = self
            .repos
            .members
            .list_active_for_user_personal_first(&self.db, &user.id)
            .await?
            .into_iter()
            .next();
        let changed = choice.as_ref().map(|o| &o.id) != session.active_organization_id.as_ref();
        if !changed {
            return Ok((session, choice));
        }
        let team = None;
        match self
            .repos
            .sessions
            .set_active_organization(&self.db, &session.id, choice.as_ref().map(|o| &o.id), team)
            .await
        {
            Ok(updated) => Ok((updated, choice)),
            // Revoked meanwhile: answer with what was read; the next request sees it gone.
            Err(RepoError::NotFound { .. }) => Ok((session, choice)),
            Err(other) => Err(other.into()),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Users and passwords
    // -----------------------------------------------------------------------------------------

    /// Applies a profile change (name, image) to the current row, retrying on a concurrent
    /// update.
    pub async fn update_user(&self, user: &UserId, patch: UserPatch) -> Result<User, IamError> {
        for _ in 0..3 {
            let current = self
                .repos
                .users
                .find_by_id(&self.db, user)
                .await?
                .ok_or_else(|| IamError::bad_request(ErrorCode::UserNotFound))?;
            match self
                .repos
                .users
                .update(
                    &self.db,
                    user,
                    current.audit.version,
                    patch.clone(),
                    user.as_str(),
                )
                .await
            {
                Ok(updated) => return Ok(updated),
                Err(RepoError::VersionConflict { .. }) => continue,
                Err(RepoError::Conflict { constraint }) if constraint == USERNAME_UQ => {
                    return Err(IamError::bad_request(ErrorCode::UsernameIsAlreadyTaken))
                }
                Err(RepoError::Conflict { .. }) => {
                    return Err(IamError::api(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        ErrorCode::UserAlreadyExistsUseAnotherEmail,
                    ))
                }
                Err(RepoError::Invalid { .. }) => {
                    return Err(IamError::bad_request(ErrorCode::FailedToUpdateUser))
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(IamError::bad_request(ErrorCode::FailedToUpdateUser))
    }

    /// The stored hash of the user's credential account, or 400 `CREDENTIAL_ACCOUNT_NOT_FOUND`.
    async fn credential_hash(&self, user: &UserId) -> Result<String, IamError> {
        self.repos
            .accounts
            .find_credential(&self.db, user)
            .await?
            .and_then(|a| a.password)
            .ok_or_else(|| IamError::bad_request(ErrorCode::CredentialAccountNotFound))
    }

    /// Checks the user's password: 400 `CREDENTIAL_ACCOUNT_NOT_FOUND` / `INVALID_PASSWORD`.
    pub async fn verify_password(&self, user: &UserId, password: &str) -> Result<(), IamError> {
        let stored = self.credential_hash(user).await?;
        if self.passwords.verify(password, &stored).await?.matches() {
            Ok(())
        } else {
            Err(IamError::bad_request(ErrorCode::InvalidPassword))
        }
    }

    /// Changes the password after checking the current one. With `revoke_others`, every
    /// session of the user (the current one too) is deleted and a new session returned.
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
        revoke_others: bool,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<Option<Session>, IamError> {
        self.verify_password(&user.id, current).await?;
        let hash = self.passwords.hash(new).await?;
        let token = tokens::new_session_token()?;
        let this = self.clone();
        let (user_owned, client) = (user.clone(), client.clone());
        let session = self
            .db
            .transaction(move |tx| {
                let (this, user, hash, token, client) = (
                    this.clone(),
                    user_owned.clone(),
                    hash.clone(),
                    token.clone(),
                    client.clone(),
                );
                Box::pin(async move {
                    let conn = &mut tx.conn();
                    this.repos
                        .accounts
                        .set_password(&mut *conn, &user.id, hash, user.id.as_str())
                        .await?;
                    if !revoke_others {
                        return Ok(None);
                    }
                    this.repos
                        .sessions
                        .delete_by_user(&mut *conn, &user.id, None)
                        .await?;
                    this.insert_session(&mut *conn, &user, remember, &client, token)
                        .await
                        .map(Some)
                })
            })
            .await?;
        tracing::info!(user.id = %user.id, revoke_others, "password changed");
        Ok(session)
    }

    /// Deletes the user; sessions, accounts, memberships and owned organizations go with it
    /// (foreign keys cascade).
    pub async fn delete_user(&self, user: &UserId) -> Result<(), IamError> {
        match self.repos.users.hard_delete(&self.db, user).await {
            Ok(()) | Err(RepoError::NotFound { .. }) => {
                tracing::info!(user.id = %user, "user deleted");
                Ok(())
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Consumes the user's delete-account token (`delete-account-<token>`); `false` when it is
    /// unknown, expired or another user's.
    pub async fn consume_delete_token(&self, user: &UserId, token: &str) -> Result<bool, IamError> {
        let identifier = self.stored_identifier(&format!("delete-account-{token}"));
        let now = self.now();
        let valid = self
            .repos
            .verifications
            .find_valid(&self.db, &identifier, Some(user.as_str()), now)
            .await?
            .is_some();
        if valid {
            self.repos
                .verifications
                .consume(&self.db, &identifier, now)
                .await?;
        }
        Ok(valid)
    }

    /// The user's accounts.
    pub async fn list_accounts(&self, user: &UserId) -> Result<Vec<Account>, IamError> {
        Ok(self.repos.accounts.list_by_user(&self.db, user).await?)
    }

    // -----------------------------------------------------------------------------------------
    // Password reset
    // -----------------------------------------------------------------------------------------

    fn reset_identifier(&self, token: &str) -> String {
        self.stored_identifier(&format!("reset-password:{token}"))
    }

    pub(crate) fn stored_identifier(&self, identifier: &str) -> String {
        match self.config.identifier_storage {
            IdentifierStorage::Plain => identifier.to_string(),
            IdentifierStorage::Hashed => tokens::sha256_base64url(identifier),
        }
    }

    /// Emails a reset link when the address belongs to a user; unknown addresses get the same
    /// answer and nothing is sent.
    pub async fn request_password_reset(
        &self,
        email: &str,
        redirect_to: Option<&str>,
    ) -> Result<(), IamError> {
        let Some(user) = self.repos.users.find_by_email(&self.db, email).await? else {
            tracing::info!("password reset requested for an unknown email");
            return Ok(());
        };
        let token = tokens::new_reset_token()?;
        let url = emails::reset_link(&self.config.auth_url(), &token, redirect_to);
        let Some(email) = built(emails::reset_password_email(&user, &url)) else {
            return Ok(());
        };
        let new = NewVerification {
            identifier: self.reset_identifier(&token),
            value: user.id.as_str().to_string(),
            expires_at: self.now().plus(self.config.reset_password_expires_in),
        };
        let this = self.clone();
        let actor = user.id.as_str().to_string();
        self.db
            .transaction(move |tx| {
                let (this, new, email, actor) =
                    (this.clone(), new.clone(), email.clone(), actor.clone());
                Box::pin(async move {
                    let conn = &mut tx.conn();
                    this.repos
                        .verifications
                        .insert(&mut *conn, new, &actor)
                        .await?;
                    this.queue(&mut *conn, email).await
                })
            })
            .await?;
        tracing::info!(user.id = %user.id, "password reset link sent");
        Ok(())
    }

    /// Whether a reset token is known and unexpired (the GET link; it is not consumed).
    pub async fn reset_token_is_valid(&self, token: &str) -> Result<bool, IamError> {
        Ok(self
            .repos
            .verifications
            .find_valid(&self.db, &self.reset_identifier(token), None, self.now())
            .await?
            .is_some())
    }

    /// Consumes the reset token and stores the new password in the same transaction.
    /// Unknown, expired or used tokens → 400 `INVALID_TOKEN`.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<(), IamError> {
        let identifier = self.reset_identifier(token);
        let now = self.now();
        // Cheap check first, so invalid tokens cost no hashing.
        if self
            .repos
            .verifications
            .find_valid(&self.db, &identifier, None, now)
            .await?
            .is_none()
        {
            return Err(IamError::bad_request(ErrorCode::InvalidToken));
        }
        let hash = self.passwords.hash(new_password).await?;
        let this = self.clone();
        let outcome = self
            .db
            .transaction(move |tx| {
                let (this, identifier, hash) = (this.clone(), identifier.clone(), hash.clone());
                Box::pin(async move {
                    this.write_password_reset(&mut *tx, &identifier, hash, now)
                        .await
                })
            })
            .await?;
        match outcome {
            ResetOutcome::Done(user) => {
                tracing::info!(user.id = %user, "password reset");
                Ok(())
            }
            ResetOutcome::InvalidToken => Err(IamError::bad_request(ErrorCode::InvalidToken)),
            ResetOutcome::UserGone => Err(IamError::bad_request(ErrorCode::UserNotFound)),
        }
    }

    /// Consumes the token (the row is gone whatever follows) and stores the hash.
    async fn write_password_reset(
        &self,
        on: impl Into<Exec<'_>>,
        identifier: &str,
        hash: String,
        now: Timestamp,
    ) -> Result<ResetOutcome, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let Some(row) = self
            .repos
            .verifications
            .consume(&mut *conn, identifier, now)
            .await?
        else {
            return Ok(ResetOutcome::InvalidToken);
        };
        let user = match UserId::parse(&row.value) {
            Ok(id) => self.repos.users.find_by_id(&mut *conn, &id).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            return Ok(ResetOutcome::UserGone);
        };
        self.repos
            .accounts
            .set_password(&mut *conn, &user.id, hash, user.id.as_str())
            .await?;
        if self.config.revoke_sessions_on_password_reset {
            self.repos
                .sessions
                .delete_by_user(&mut *conn, &user.id, None)
                .await?;
        }
        Ok(ResetOutcome::Done(user.id))
    }

    // -----------------------------------------------------------------------------------------
    // Email verification and change
    // -----------------------------------------------------------------------------------------

    fn sign_email_token(
        &self,
        user: &User,
        email: &str,
        update_to: Option<&str>,
        request_type: Option<&str>,
    ) -> Result<String, IamError> {
        let iat = self.now().unix_millis().div_euclid(1000);
        let ttl = i64::try_from(self.config.email_verification_expires_in.as_secs())
            .unwrap_or(i64::MAX / 2);
        tokens::sign_jwt(
            self.config.secret(),
            &EmailClaims {
                email: email.to_lowercase(),
                update_to: update_to.map(str::to_lowercase),
                request_type: request_type.map(str::to_string),
                user_id: Some(user.id.as_str().to_string()),
                iat,
                exp: iat + ttl,
            },
        )
    }

    /// The plain verification message for the user's current address (`None` when the
    /// mailer would refuse the address; logged).
    fn verification_email(
        &self,
        user: &User,
        to: Option<&str>,
        callback_url: Option<&str>,
    ) -> Result<Option<OutgoingEmail>, IamError> {
        let jwt = self.sign_email_token(user, &user.email, None, None)?;
        let url = emails::verification_link(&self.config.auth_url(), &jwt, callback_url);
        Ok(built(emails::verification_email(
            user,
            to.unwrap_or(&user.email),
            &url,
        )))
    }

    /// Queues a message inside the caller's transaction. A message the mailer refuses as
    /// invalid (nothing was written) is logged and skipped: it must not undo a sign-up.
    async fn queue(&self, on: impl Into<Exec<'_>>, email: OutgoingEmail) -> Result<(), RepoError> {
        match self.mailer.send(on.into(), email).await {
            Ok(_) => Ok(()),
            Err(MailError::Storage(error)) => Err(error),
            Err(error) => {
                tracing::warn!(%error, "an auth email was not queued");
                Ok(())
            }
        }
    }

    /// Emails a verification link to the user's address.
    pub async fn send_verification_email(
        &self,
        user: &User,
        callback_url: Option<&str>,
    ) -> Result<(), IamError> {
        match self.verification_email(user, None, callback_url)? {
            Some(email) => Ok(self.queue(&self.db, email).await?),
            None => Ok(()),
        }
    }

    /// Starts an email change: the new address receives a link that completes it. An address
    /// used by another user answers the same and sends nothing (no enumeration).
    pub async fn change_email(
        &self,
        user: &User,
        new_email: &str,
        callback_url: Option<&str>,
    ) -> Result<(), IamError> {
        if new_email == user.email {
            return Err(IamError::message_only(
                StatusCode::BAD_REQUEST,
                "Email is the same",
            ));
        }
        if self
            .repos
            .users
            .find_by_email(&self.db, new_email)
            .await?
            .is_some()
        {
            tracing::info!(user.id = %user.id, "email change to a used address ignored");
            return Ok(());
        }
        let jwt = self.sign_email_token(
            user,
            &user.email,
            Some(new_email),
            Some(CHANGE_EMAIL_VERIFICATION),
        )?;
        let url = emails::verification_link(&self.config.auth_url(), &jwt, callback_url);
        match built(emails::verification_email(user, new_email, &url)) {
            Some(email) => Ok(self.queue(&self.db, email).await?),
            None => Ok(()),
        }
    }

    /// Follows an email-verification link. Failures carry the codes the endpoint reports
    /// (`INVALID_TOKEN`, `TOKEN_EXPIRED`, `USER_NOT_FOUND`, `INVALID_USER`, status 401).
    pub async fn verify_email(
        &self,
        token: &str,
        session: Option<(&Session, &User)>,
    ) -> Result<EmailVerified, IamError> {
        let now_secs = self.now().unix_millis().div_euclid(1000);
        let claims = tokens::verify_jwt(self.config.secret(), token, now_secs).map_err(|e| {
            IamError::unauthorized(match e {
                JwtError::Expired => ErrorCode::TokenExpired,
                JwtError::Invalid => ErrorCode::InvalidToken,
            })
        })?;
        let user = self
            .repos
            .users
            .find_by_email(&self.db, &claims.email)
            .await?
            .ok_or_else(|| IamError::unauthorized(ErrorCode::UserNotFound))?;
        if claims
            .user_id
            .as_deref()
            .is_some_and(|id| id != user.id.as_str())
        {
            return Err(IamError::unauthorized(ErrorCode::InvalidToken));
        }

        let Some(update_to) = claims.update_to.as_deref() else {
            if !user.email_verified {
                self.update_user(
                    &user.id,
                    UserPatch {
                        email_verified: Some(true),
                        ..UserPatch::default()
                    },
                )
                .await?;
                tracing::info!(user.id = %user.id, "email verified");
            }
            return Ok(EmailVerified::Verified);
        };

        if let Some((_, session_user)) = session {
            if session_user.email != claims.email || session_user.id != user.id {
                return Err(IamError::unauthorized(ErrorCode::InvalidUser));
            }
        }
        match claims.request_type.as_deref() {
            Some(CHANGE_EMAIL_CONFIRMATION) => {
                let jwt = self.sign_email_token(
                    &user,
                    &user.email,
                    Some(update_to),
                    Some(CHANGE_EMAIL_VERIFICATION),
                )?;
                let url = emails::verification_link(&self.config.auth_url(), &jwt, None);
                if let Some(email) = built(emails::verification_email(&user, update_to, &url)) {
                    self.queue(&self.db, email).await?;
                }
                Ok(EmailVerified::ConfirmationSent)
            }
            Some(CHANGE_EMAIL_VERIFICATION) => {
                let updated = self
                    .update_user(
                        &user.id,
                        UserPatch {
                            email: Some(update_to.to_string()),
                            email_verified: Some(true),
                            ..UserPatch::default()
                        },
                    )
                    .await?;
                tracing::info!(user.id = %user.id, "email changed");
                Ok(EmailVerified::EmailChanged(Box::new(EmailChange {
                    user: updated,
                    session: session.map(|(s, _)| s.clone()),
                })))
            }
            _ => {
                // Legacy tokens: change now, unverified, and verify the new address.
                let updated = self
                    .update_user(
                        &user.id,
                        UserPatch {
                            email: Some(update_to.to_string()),
                            email_verified: Some(false),
                            ..UserPatch::default()
                        },
                    )
                    .await?;
                self.send_verification_email(&updated, None).await?;
                Ok(EmailVerified::EmailChanged(Box::new(EmailChange {
                    user: updated,
                    session: session.map(|(s, _)| s.clone()),
                })))
            }
        }
    }

    /// Whether the user has a credential (email + password) account.
    pub async fn has_password(&self, user: &UserId) -> Result<bool, IamError> {
        Ok(self
            .repos
            .accounts
            .find_credential(&self.db, user)
            .await?
            .is_some_and(|a| a.provider_id == CREDENTIAL_PROVIDER && a.password.is_some()))
    }
}

/// A message the mailer's validation refused is logged and dropped: an address better-auth
/// accepts but SMTP cannot carry must not fail the request.
fn built(email: Result<OutgoingEmail, MailError>) -> Option<OutgoingEmail> {
    match email {
        Ok(email) => Some(email),
        Err(error) => {
            tracing::warn!(%error, "an auth email could not be built");
            None
        }
    }
}

//! The anonymous plugin's operations: creating an anonymous user (placeholder email, no
//! password, its personal organization like every user) with a first session, deleting one,
//! and the link step — an anonymous user who signs in or up as a real user is deleted
//! afterwards (better-auth's after-hook), unless deletion is disabled.

use shared_server::entities::{NewUser, User};
use shared_server::RepoError;

use super::config::AnonymousConfig;
use crate::error::{ErrorCode, IamError};
use crate::services::organizations::create_personal_organization;
use crate::services::tokens::{self, random_string, ALPHANUMERIC};
use crate::services::{AuthService, ClientInfo, SignedIn};

/// better-auth's placeholder domain (`@better-auth/core`'s `createPlaceholderEmail`).
const PLACEHOLDER_DOMAIN: &str = "anonymous.placeholder.invalid";

/// The plugin's operations (cheap to clone).
#[derive(Debug, Clone)]
pub struct AnonymousService {
    auth: AuthService,
}

impl AnonymousService {
    pub fn new(auth: AuthService) -> Self {
        Self { auth }
    }

    pub fn config(&self) -> &AnonymousConfig {
        &self.auth.config().plugins.anonymous
    }

    /// A placeholder address: `<32 random>@anonymous.placeholder.invalid`, or
    /// `temp-<32 random>@<domain>` with a configured domain.
    fn placeholder_email(&self) -> Result<String, IamError> {
        let id = random_string(32, ALPHANUMERIC)?;
        Ok(match &self.config().email_domain {
            Some(domain) => format!("temp-{id}@{domain}"),
            None => format!("{id}@{PLACEHOLDER_DOMAIN}"),
        })
    }

    /// Creates an anonymous user, its personal organization and a first (remembered) session,
    /// in one transaction.
    pub async fn sign_in(&self, client: &ClientInfo) -> Result<SignedIn, IamError> {
        let email = self.placeholder_email()?;
        let token = tokens::new_session_token()?;
        let name = self.config().name.clone();
        let this = self.clone();
        let client = client.clone();
        let signed = self
            .auth
            .db()
            .transaction(move |tx| {
                let (this, email, name, token, client) = (
                    this.clone(),
                    email.clone(),
                    name.clone(),
                    token.clone(),
                    client.clone(),
                );
                Box::pin(async move {
                    let auth = &this.auth;
                    let repos = auth.repos();
                    let new = NewUser {
                        is_anonymous: true,
                        source: Some("api".to_string()),
                        ..NewUser::new(name, email)
                    };
                    let user = repos.users.insert(&mut *tx, new, "app").await?;
                    create_personal_organization(
                        &mut *tx,
                        &repos.orgs,
                        &repos.members,
                        &user,
                        auth.now(),
                    )
                    .await?;
                    let session = auth
                        .insert_session(&mut *tx, &user, true, &client, token)
                        .await?;
                    Ok(SignedIn { user, session })
                })
            })
            .await;
        match signed {
            Ok(signed) => {
                tracing::info!(user.id = %signed.user.id, "anonymous user signed in");
                Ok(signed)
            }
            Err(RepoError::Invalid { message }) => {
                tracing::warn!(%message, "anonymous user refused by validation");
                Err(IamError::api(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::FailedToCreateUser,
                ))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// `/delete-anonymous-user`: the caller must be anonymous (403 `USER_IS_NOT_ANONYMOUS`) and
    /// deletion enabled (400 `DELETE_ANONYMOUS_USER_DISABLED`); the user goes with its sessions.
    pub async fn delete(&self, user: &User) -> Result<(), IamError> {
        if self.config().disable_delete {
            return Err(IamError::bad_request(
                ErrorCode::DeleteAnonymousUserDisabled,
            ));
        }
        if !user.is_anonymous {
            return Err(IamError::forbidden(ErrorCode::UserIsNotAnonymous));
        }
        self.auth.delete_user(&user.id).await
    }

    /// The link step after a sign-in or sign-up made `new_token`'s session while the request
    /// carried `anonymous`'s: the anonymous user is deleted when the new session belongs to
    /// another, non-anonymous user. A failure is logged, as in better-auth.
    pub async fn link(&self, anonymous: &User, new_token: &str) {
        if !anonymous.is_anonymous || self.config().disable_delete {
            return;
        }
        let new_user = match self.auth.session_for_token(new_token).await {
            Ok(Some((_, user))) => user,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "anonymous link: the new session could not be read");
                return;
            }
        };
        if new_user.id == anonymous.id || new_user.is_anonymous {
            return;
        }
        match self.auth.delete_user(&anonymous.id).await {
            Ok(()) => tracing::info!(
                anonymous.id = %anonymous.id,
                user.id = %new_user.id,
                "anonymous user linked and removed"
            ),
            Err(error) => tracing::error!(
                anonymous.id = %anonymous.id,
                %error,
                "anonymous user not removed after linking"
            ),
        }
    }
}

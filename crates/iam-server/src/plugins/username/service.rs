//! The username plugin's operations: the checks sign-up and update-user run on a `username`
//! (better-auth's before-hooks), the availability question, and the credential check behind
//! `/sign-in/username`. Lookups go through the shared `UserRepo` (usernames are stored
//! lower-cased, so they are case-insensitive).

use axum::http::StatusCode;
use shared_server::entities::{User, UserId};

use super::config::UsernameConfig;
use super::entities::{self, UsernameProblem};
use crate::error::{ErrorCode, IamError};
use crate::services::AuthService;

/// A username and display name ready to be stored (`username` lower-cased).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsernameFields {
    pub username: Option<String>,
    pub display_username: Option<String>,
}

/// The plugin's operations (cheap to clone).
#[derive(Debug, Clone)]
pub struct UsernameService {
    auth: AuthService,
}

impl UsernameService {
    pub fn new(auth: AuthService) -> Self {
        Self { auth }
    }

    pub fn config(&self) -> &UsernameConfig {
        &self.auth.config().plugins.username
    }

    /// The sign-up hook: `displayUsername` alone becomes the username when it is a valid one;
    /// a `username` must pass the rules (400) and be free (400 `USERNAME_IS_ALREADY_TAKEN`);
    /// `displayUsername` defaults to the username as typed.
    pub async fn for_sign_up(
        &self,
        username: Option<String>,
        display_username: Option<String>,
    ) -> Result<UsernameFields, IamError> {
        let username = match (username, &display_username) {
            (None, Some(display)) if entities::check(self.config(), display).is_ok() => {
                Some(display.clone())
            }
            (username, _) => username,
        };
        let Some(username) = username else {
            return Ok(UsernameFields {
                username: None,
                display_username,
            });
        };
        let normalized = self.checked(&username)?;
        self.ensure_free(&normalized, None).await?;
        Ok(UsernameFields {
            display_username: display_username.or(Some(username)),
            username: Some(normalized),
        })
    }

    /// The update-user hook: the rules (400), and the name must be free or the caller's own.
    pub async fn for_update(
        &self,
        user: &UserId,
        username: Option<String>,
        display_username: Option<String>,
    ) -> Result<UsernameFields, IamError> {
        let username = match username {
            Some(username) => {
                let normalized = self.checked(&username)?;
                self.ensure_free(&normalized, Some(user)).await?;
                Some(normalized)
            }
            None => None,
        };
        Ok(UsernameFields {
            username,
            display_username,
        })
    }

    /// Applies the rules to a username being written (400 with the rule's code) and returns
    /// its stored form.
    fn checked(&self, username: &str) -> Result<String, IamError> {
        entities::check(self.config(), username)
            .map_err(|problem| IamError::bad_request(problem.code()))?;
        Ok(entities::normalize(username))
    }

    /// 400 `USERNAME_IS_ALREADY_TAKEN` unless nobody (or only `owner`) has the name.
    async fn ensure_free(&self, normalized: &str, owner: Option<&UserId>) -> Result<(), IamError> {
        let holder = self.find(normalized).await?;
        match holder {
            Some(holder) if Some(&holder.id) != owner => {
                Err(IamError::bad_request(ErrorCode::UsernameIsAlreadyTaken))
            }
            _ => Ok(()),
        }
    }

    async fn find(&self, normalized: &str) -> Result<Option<User>, IamError> {
        Ok(self
            .auth
            .repos()
            .users
            .find_by_username(self.auth.db(), normalized)
            .await?)
    }

    /// `/is-username-available`: an empty or rule-breaking name is 422 with the rule's code.
    pub async fn is_available(&self, username: &str) -> Result<bool, IamError> {
        if username.is_empty() {
            return Err(unprocessable(ErrorCode::InvalidUsername));
        }
        entities::check(self.config(), username).map_err(problem_422)?;
        Ok(self.find(&entities::normalize(username)).await?.is_none())
    }

    /// `/sign-in/username`'s credential check. An empty username or password is 401
    /// `INVALID_USERNAME_OR_PASSWORD`; a rule-breaking name 422; an unknown name, a user
    /// without a password or a wrong one 401 `INVALID_USERNAME_OR_PASSWORD` (each costing
    /// one password verification, as for email sign-in).
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<User, IamError> {
        let invalid = || IamError::unauthorized(ErrorCode::InvalidUsernameOrPassword);
        if username.is_empty() || password.is_empty() {
            return Err(invalid());
        }
        entities::check(self.config(), username).map_err(problem_422)?;
        crate::http::check_password_not_too_long(self.auth.config(), password)?;
        let user = self.find(&entities::normalize(username)).await?;
        self.auth
            .check_password_of(user, password, ErrorCode::InvalidUsernameOrPassword)
            .await
    }
}

fn unprocessable(code: ErrorCode) -> IamError {
    IamError::api(StatusCode::UNPROCESSABLE_ENTITY, code)
}

fn problem_422(problem: UsernameProblem) -> IamError {
    unprocessable(problem.code())
}

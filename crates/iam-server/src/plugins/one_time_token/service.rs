//! The one-time-token plugin's operations: a token (32 random characters) stands for a session
//! for a few minutes in `iam_verification` (`one-time-token:<token>` → the session token;
//! identifiers hashed like every other when `IAM_VERIFICATION_IDENTIFIERS=hashed`), and is
//! consumed by its single verification.

use shared_server::entities::{Session, User};

use super::config::OneTimeTokenConfig;
use crate::entities::NewVerification;
use crate::error::IamError;
use crate::services::tokens::random_string;
use crate::services::AuthService;

/// better-auth's `generateRandomString` alphabet.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

/// What verifying a token found.
#[derive(Debug, Clone)]
pub enum Verified {
    Session(Box<(Session, User)>),
    /// Unknown, used or expired token.
    InvalidToken,
    /// The session it stood for is gone (ended or expired).
    SessionNotFound,
}

/// The plugin's operations (cheap to clone).
#[derive(Debug, Clone)]
pub struct OneTimeTokenService {
    auth: AuthService,
}

impl OneTimeTokenService {
    pub fn new(auth: AuthService) -> Self {
        Self { auth }
    }

    pub fn config(&self) -> &OneTimeTokenConfig {
        &self.auth.config().plugins.one_time_token
    }

    fn identifier(&self, token: &str) -> String {
        self.auth
            .stored_identifier(&format!("one-time-token:{token}"))
    }

    /// A new token for `session`, valid for the configured time.
    pub async fn generate(&self, session: &Session) -> Result<String, IamError> {
        let token = random_string(32, ALPHABET)?;
        let new = NewVerification {
            identifier: self.identifier(&token),
            value: session.token.clone(),
            expires_at: self.auth.now().plus(self.config().expires_in),
        };
        self.auth
            .repos()
            .verifications
            .insert(self.auth.db(), new, session.user_id.as_str())
            .await?;
        Ok(token)
    }

    /// Consumes `token` and returns its session.
    pub async fn verify(&self, token: &str) -> Result<Verified, IamError> {
        let consumed = self
            .auth
            .repos()
            .verifications
            .consume(self.auth.db(), &self.identifier(token), self.auth.now())
            .await?;
        let Some(row) = consumed else {
            return Ok(Verified::InvalidToken);
        };
        Ok(match self.auth.session_for_token(&row.value).await? {
            Some(found) => Verified::Session(Box::new(found)),
            None => Verified::SessionNotFound,
        })
    }
}

//! Who is calling: the [`AuthContext`] every protected handler receives, and the
//! [`AuthResolver`] port that produces it from request headers.
//!
//! The resolver is a port so that transports (HTTP routes, the RPC server) depend on this crate
//! only; the iam slice provides the implementation (session cookie, bearer token, API key).
//! Handlers never branch on how the caller authenticated.

use axum::http::HeaderMap;

use crate::db::RepoError;
use crate::entities::{Organization, Session, User};
use crate::layer::BoxError;

/// The resolved caller: the user, the session they hold, and their active organization (if the
/// session has one).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthContext {
    pub user: User,
    pub session: Session,
    pub organization: Option<Organization>,
}

/// Why a resolver could not answer: an infrastructure fault, never bad credentials.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading sessions failed: {0}")]
    Storage(#[from] RepoError),
    #[error("authentication backend failed: {0}")]
    Backend(BoxError),
}

impl AuthError {
    pub fn backend(error: impl Into<BoxError>) -> Self {
        Self::Backend(error.into())
    }
}

/// Resolves the caller from request headers (`authorization`, `cookie`, `x-api-key`, ...).
///
/// Missing, malformed, expired or revoked credentials are `Ok(None)`: the caller is anonymous
/// and each protected route or procedure answers that in its own protocol. `Err` is reserved for
/// faults such as an unreachable database.
#[async_trait::async_trait]
pub trait AuthResolver: Send + Sync {
    async fn resolve(&self, headers: &HeaderMap) -> Result<Option<AuthContext>, AuthError>;
}

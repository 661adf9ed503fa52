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

/// The roles a member holds in an organization, as iam stores them (`iam_member.role`: one
/// role or a comma-separated list, e.g. `owner` or `admin,member`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberRoles(Vec<String>);

impl MemberRoles {
    /// Parses the stored form; blanks are dropped and names are trimmed.
    pub fn parse(stored: &str) -> Self {
        Self(
            stored
                .split(',')
                .map(str::trim)
                .filter(|role| !role.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn has(&self, role: &str) -> bool {
        self.0.iter().any(|held| held == role)
    }

    /// `owner` of the organization.
    pub fn is_owner(&self) -> bool {
        self.has("owner")
    }

    /// `owner` or `admin`: the roles that manage everything in the organization.
    pub fn is_admin(&self) -> bool {
        self.is_owner() || self.has("admin")
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl std::fmt::Display for MemberRoles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// Who belongs to which organization: the port organization-scoped procedures use to resolve
/// the caller's membership once per call (slices.md §0.8). iam implements it over
/// `iam_member`; `shared_server::testing` has an in-memory one.
#[async_trait::async_trait]
pub trait OrgMembers: Send + Sync {
    /// The roles of `user`'s active membership of `org`; `None` when they are not (or no
    /// longer) an active member.
    async fn roles(
        &self,
        org: &crate::entities::OrganizationId,
        user: &crate::entities::UserId,
    ) -> Result<Option<MemberRoles>, AuthError>;
}

#[cfg(test)]
mod tests {
    use super::MemberRoles;

    #[test]
    fn member_roles_parse_the_stored_list() {
        let roles = MemberRoles::parse(" admin, member ,");
        assert!(roles.is_admin() && !roles.is_owner() && roles.has("member"));
        assert_eq!(roles.to_string(), "admin,member");
        assert!(MemberRoles::parse("owner").is_admin());
        assert!(!MemberRoles::parse("member").is_admin());
        assert!(!MemberRoles::parse("").has(""));
    }
}

//! [`TestAuth`]: what iam does for protected procedures, in memory, for slice tests. A caller is
//! identified by `Authorization: Bearer <token>`; the token names a user, their session and
//! their active organization, and memberships are recorded with their roles.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{header, HeaderMap};

use crate::auth::{AuthContext, AuthError, AuthResolver, MemberRoles, OrgMembers};
use crate::entities::{OrganizationId, UserId};

/// Bearer tokens and memberships known to a [`TestApp`](super::TestApp).
#[derive(Debug, Default)]
pub struct TestAuth {
    callers: Mutex<HashMap<String, AuthContext>>,
    members: Mutex<HashMap<(OrganizationId, UserId), MemberRoles>>,
}

impl TestAuth {
    pub fn new() -> Self {
        Self::default()
    }

    /// `token` now authenticates as `caller`.
    pub fn sign_in(&self, token: &str, caller: AuthContext) {
        lock(&self.callers).insert(token.to_string(), caller);
    }

    /// Ends the session of `token`: its calls become anonymous.
    pub fn sign_out(&self, token: &str) {
        lock(&self.callers).remove(token);
    }

    /// Makes `user` a member of `org` with `roles` (`owner`, `admin,member`, ...).
    pub fn add_member(&self, org: &OrganizationId, user: &UserId, roles: &str) {
        lock(&self.members).insert((org.clone(), user.clone()), MemberRoles::parse(roles));
    }

    /// `user` leaves `org`.
    pub fn remove_member(&self, org: &OrganizationId, user: &UserId) {
        lock(&self.members).remove(&(org.clone(), user.clone()));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait::async_trait]
impl AuthResolver for TestAuth {
    async fn resolve(&self, headers: &HeaderMap) -> Result<Option<AuthContext>, AuthError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        Ok(token.and_then(|token| lock(&self.callers).get(token).cloned()))
    }
}

#[async_trait::async_trait]
impl OrgMembers for TestAuth {
    async fn roles(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Option<MemberRoles>, AuthError> {
        Ok(lock(&self.members)
            .get(&(org.clone(), user.clone()))
            .cloned())
    }
}

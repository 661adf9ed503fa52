//! Who may call a procedure, checked per call: public procedures run for anyone; the others
//! need the [`AuthResolver`] to name a caller from the call's merged headers, and answer the
//! typed `Unauthorized` failure otherwise (slices.md §0.8). Organization-scoped procedures also
//! need the caller to be an active member of the session's active organization, resolved once
//! per call through the [`OrgMembers`] port.

use axum::http::{header, HeaderMap};

use super::caller::{Caller, OrgCaller};
use super::error::{NoError, RpcError, Unauthorized};
use crate::auth::{AuthContext, AuthResolver, OrgMembers};
use crate::entities::Organization;

/// Who may call a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone.
    Public,
    /// A signed-in caller.
    Authenticated,
    /// A member of the session's active organization.
    Organization,
}

impl Access {
    pub fn as_str(&self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Authenticated => "signed in",
            Access::Organization => "organization member",
        }
    }
}

/// Resolves the caller a procedure with `access` runs for: [`authenticate`], then, for
/// organization-scoped procedures, the membership of the active organization. No active
/// organization, no (active) membership, or no membership port: `Unauthorized("Organization
/// not found")`.
pub async fn resolve_caller(
    access: Access,
    resolver: Option<&dyn AuthResolver>,
    members: Option<&dyn OrgMembers>,
    headers: &HeaderMap,
) -> Result<Caller, RpcError<NoError>> {
    let Some(caller) = authenticate(access, resolver, headers).await? else {
        return Ok(Caller::Anonymous);
    };
    if access != Access::Organization {
        return Ok(Caller::User(caller));
    }
    let no_organization = || RpcError::unauthorized(Unauthorized::NO_ORGANIZATION);
    let Some(organization) = caller.organization else {
        return Err(no_organization());
    };
    let Some(members) = members else {
        tracing::error!(
            "no OrgMembers service: organization-scoped procedures refuse every caller"
        );
        return Err(no_organization());
    };
    let roles = members
        .roles(&organization.id, &caller.user.id)
        .await
        .map_err(RpcError::internal)?
        .ok_or_else(no_organization)?;
    Ok(Caller::Member(OrgCaller {
        user: caller.user,
        session: caller.session,
        organization,
        roles,
    }))
}

/// Resolves the caller of a call to a procedure with `access`.
///
/// Public procedures never consult the resolver (`Ok(None)`). Protected ones fail with
/// `Unauthorized` when there is no resolver ("Missing authorization header") or it names nobody
/// (the same message without credentials, "Invalid or expired credentials" with some); a
/// resolver fault becomes a generic defect (logged).
pub async fn authenticate(
    access: Access,
    resolver: Option<&dyn AuthResolver>,
    headers: &HeaderMap,
) -> Result<Option<AuthContext>, RpcError<NoError>> {
    if access == Access::Public {
        return Ok(None);
    }
    // Without a resolver nobody can be authenticated: the original's message, whatever was sent.
    let Some(resolver) = resolver else {
        return Err(RpcError::unauthorized(Unauthorized::MISSING_CREDENTIALS));
    };
    match resolver
        .resolve(headers)
        .await
        .map_err(RpcError::internal)?
    {
        Some(caller) => Ok(Some(caller)),
        None if carries_credentials(headers) => {
            Err(RpcError::unauthorized(Unauthorized::INVALID_CREDENTIALS))
        }
        None => Err(RpcError::unauthorized(Unauthorized::MISSING_CREDENTIALS)),
    }
}

/// The caller's active organization, or `Unauthorized("Organization not found")` for the
/// organization-scoped procedures of slices.md §0.8.
pub fn require_organization<E>(caller: &AuthContext) -> Result<&Organization, RpcError<E>> {
    caller
        .organization
        .as_ref()
        .ok_or_else(|| RpcError::unauthorized(Unauthorized::NO_ORGANIZATION))
}

/// Whether the headers hold anything a resolver could authenticate.
fn carries_credentials(headers: &HeaderMap) -> bool {
    [
        header::AUTHORIZATION.as_str(),
        header::COOKIE.as_str(),
        "x-api-key",
    ]
    .iter()
    .any(|name| {
        headers
            .get_all(*name)
            .iter()
            .any(|value| !value.as_bytes().iter().all(u8::is_ascii_whitespace))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthError;
    use axum::http::HeaderValue;

    /// A resolver that knows nobody.
    struct Nobody;

    #[async_trait::async_trait]
    impl AuthResolver for Nobody {
        async fn resolve(&self, _: &HeaderMap) -> Result<Option<AuthContext>, AuthError> {
            Ok(None)
        }
    }

    /// A resolver whose storage is down.
    struct Broken;

    #[async_trait::async_trait]
    impl AuthResolver for Broken {
        async fn resolve(&self, _: &HeaderMap) -> Result<Option<AuthContext>, AuthError> {
            Err(AuthError::backend("connection refused"))
        }
    }

    async fn message(resolver: Option<&dyn AuthResolver>, headers: &HeaderMap) -> String {
        match authenticate(Access::Authenticated, resolver, headers).await {
            Err(RpcError::Unauthorized(u)) => u.message,
            other => panic!("expected Unauthorized, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn public_procedures_skip_the_resolver_and_protected_ones_explain_the_refusal() {
        let mut headers = HeaderMap::new();
        let public = authenticate(Access::Public, Some(&Broken), &headers).await;
        assert!(public.unwrap().is_none());
        assert_eq!(
            message(None, &headers).await,
            Unauthorized::MISSING_CREDENTIALS
        );
        assert_eq!(
            message(Some(&Nobody), &headers).await,
            Unauthorized::MISSING_CREDENTIALS
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("  "));
        assert_eq!(
            message(Some(&Nobody), &headers).await,
            Unauthorized::MISSING_CREDENTIALS
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(
            message(Some(&Nobody), &headers).await,
            Unauthorized::INVALID_CREDENTIALS
        );
        assert_eq!(
            message(None, &headers).await,
            Unauthorized::MISSING_CREDENTIALS
        );
    }

    #[tokio::test]
    async fn a_resolver_fault_is_a_generic_defect() {
        let headers = HeaderMap::new();
        let outcome = authenticate(Access::Authenticated, Some(&Broken), &headers).await;
        assert!(matches!(outcome, Err(RpcError::Die(_))), "{outcome:?}");
    }
}

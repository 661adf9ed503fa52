//! Who may call a procedure, checked per call: public procedures run for anyone; the others
//! need the [`AuthResolver`] to name a caller from the call's merged headers, and answer the
//! typed `Unauthorized` failure otherwise (slices.md §0.8).

use axum::http::{header, HeaderMap};

use super::error::{NoError, RpcError, Unauthorized};
use crate::auth::{AuthContext, AuthResolver};
use crate::entities::Organization;

/// Whether a procedure needs an authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Public,
    Authenticated,
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

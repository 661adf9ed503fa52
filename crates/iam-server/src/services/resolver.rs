//! `AuthContextResolver`: the runtime's `AuthResolver` port implemented by the iam slice. It
//! reads the request's credentials exactly as the auth API does — the bearer token, then the
//! signed session cookie, then the `x-api-key` header — and resolves the first valid one to
//! `AuthContext { user, session, organization }`. An API-key caller gets the key's synthetic
//! session, whose active organization is the key's (see `ApiKeyService`); each resolution
//! spends one use of the key (remaining and per-key rate limit, as the plugin counts every
//! request). Missing, invalid, expired, disabled, exhausted or rate-limited credentials and
//! banned users are `Ok(None)`; only infrastructure faults are errors.

use std::sync::Arc;

use axum::http::HeaderMap;
use shared_server::auth::{AuthContext, AuthError, AuthResolver};

use crate::error::IamError;
use crate::http::client_info;
use crate::services::apikeys::{ApiKeyService, API_KEY_HEADER};
use crate::services::auth::AuthService;
use crate::services::credentials;

/// Resolves request headers to the caller (see the module documentation).
#[derive(Debug, Clone)]
pub struct AuthContextResolver {
    service: Arc<AuthService>,
    api_keys: Arc<ApiKeyService>,
}

fn storage_or_backend(error: IamError) -> AuthError {
    match error {
        IamError::Repo(repo) => AuthError::Storage(repo),
        other => AuthError::backend(other),
    }
}

impl AuthContextResolver {
    pub fn new(service: Arc<AuthService>, api_keys: Arc<ApiKeyService>) -> Self {
        Self { service, api_keys }
    }

    /// The caller behind an `x-api-key` header: `None` for any refused key.
    async fn resolve_api_key(&self, headers: &HeaderMap) -> Result<Option<AuthContext>, AuthError> {
        let Some(plain) = headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
        else {
            return Ok(None);
        };
        match self.api_keys.caller(plain, &client_info(headers)).await {
            Ok(caller) => {
                let now = self.service.now();
                let banned =
                    caller.user.banned && caller.user.ban_expires.is_none_or(|until| until > now);
                if banned {
                    return Ok(None);
                }
                Ok(Some(AuthContext {
                    user: caller.user,
                    session: caller.session,
                    organization: caller.organization,
                }))
            }
            Err(IamError::Repo(repo)) => Err(AuthError::Storage(repo)),
            Err(error @ (IamError::Api { .. } | IamError::KeyRateLimited { .. })) => {
                tracing::debug!(%error, "x-api-key refused");
                Ok(None)
            }
            Err(other) => Err(storage_or_backend(other)),
        }
    }
}

#[async_trait::async_trait]
impl AuthResolver for AuthContextResolver {
    async fn resolve(&self, headers: &HeaderMap) -> Result<Option<AuthContext>, AuthError> {
        if let Some(token) = credentials::session_token(headers, self.service.config()) {
            let resolved = self
                .service
                .resolve_token(&token)
                .await
                .map_err(storage_or_backend)?;
            if resolved.is_some() {
                return Ok(resolved);
            }
        }
        self.resolve_api_key(headers).await
    }
}

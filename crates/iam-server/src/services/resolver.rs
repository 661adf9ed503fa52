//! `AuthContextResolver`: the runtime's `AuthResolver` port implemented by the iam slice. It
//! reads the request's credential exactly as the auth API does (bearer token, then the signed
//! session cookie; API keys arrive with their feature) and resolves it to
//! `AuthContext { user, session, organization }`. Missing, invalid, expired or revoked
//! credentials are `Ok(None)`; only infrastructure faults are errors.

use std::sync::Arc;

use axum::http::HeaderMap;
use shared_server::auth::{AuthContext, AuthError, AuthResolver};

use crate::error::IamError;
use crate::services::auth::AuthService;
use crate::services::credentials;

/// Resolves request headers to the caller (see the module documentation).
#[derive(Debug, Clone)]
pub struct AuthContextResolver {
    service: Arc<AuthService>,
}

impl AuthContextResolver {
    pub fn new(service: Arc<AuthService>) -> Self {
        Self { service }
    }
}

#[async_trait::async_trait]
impl AuthResolver for AuthContextResolver {
    async fn resolve(&self, headers: &HeaderMap) -> Result<Option<AuthContext>, AuthError> {
        let Some(token) = credentials::session_token(headers, self.service.config()) else {
            return Ok(None);
        };
        self.service
            .resolve_token(&token)
            .await
            .map_err(|error| match error {
                IamError::Repo(repo) => AuthError::Storage(repo),
                other => AuthError::backend(other),
            })
    }
}

//! Resolving the caller once per request: the [`AuthResolver`] (session cookie, bearer token,
//! API key) runs and its `AuthContext` is stored in request extensions for handlers. It never
//! fails the request: anonymous callers simply have none, and a resolver fault is marked so
//! that protected routes answer 503 instead of a misleading 401.
//!
//! Applied to protected routes only (see `routes::router`); which headers count as credentials
//! is the resolver's business alone, so every request on those routes asks it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use shared_server::auth::AuthResolver;
use tower::{Layer, Service};

/// Set in request extensions when the auth resolver itself failed (e.g. the database is down).
#[derive(Debug, Clone, Copy)]
pub struct AuthUnavailable;

/// Applies [`ResolveCaller`].
#[derive(Clone)]
pub struct ResolveCallerLayer {
    resolver: Arc<dyn AuthResolver>,
}

impl ResolveCallerLayer {
    pub fn new(resolver: Arc<dyn AuthResolver>) -> Self {
        Self { resolver }
    }
}

impl<S> Layer<S> for ResolveCallerLayer {
    type Service = ResolveCaller<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResolveCaller {
            inner,
            resolver: Arc::clone(&self.resolver),
        }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub struct ResolveCaller<S> {
    inner: S,
    resolver: Arc<dyn AuthResolver>,
}

impl<S, B> Service<Request<B>> for ResolveCaller<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The resolver runs first, so the ready inner service moves into the future and a fresh
        // clone stays behind (tower's usual pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let resolver = Arc::clone(&self.resolver);
        Box::pin(async move {
            match resolver.resolve(request.headers()).await {
                Ok(Some(caller)) => {
                    request.extensions_mut().insert(caller);
                }
                Ok(None) => {}
                Err(error) => {
                    // An outage is logged once by the `Db`; other faults each time.
                    if error.is_unavailable() {
                        tracing::debug!(%error, "resolving the caller failed: database unavailable");
                    } else {
                        tracing::warn!(%error, "resolving the caller failed");
                    }
                    request.extensions_mut().insert(AuthUnavailable);
                }
            }
            inner.call(request).await
        })
    }
}

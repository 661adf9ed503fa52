//! Resolving the caller once per request: the [`AuthResolver`] (session cookie, bearer token,
//! API key) runs and its `AuthContext` is stored in request extensions for handlers. It never
//! fails the request: anonymous callers simply have none, and a resolver fault is marked so
//! that protected routes answer 503 instead of a misleading 401.
//!
//! A hand-written tower service rather than `from_fn`: a request that carries only headers which
//! never hold credentials (health probes, load balancers, anonymous API calls) goes straight to
//! the handler without asking the resolver, without cloning the inner service and without an
//! extra boxed future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::HeaderMap;
use shared_server::auth::AuthResolver;
use tower::{Layer, Service};

/// Set in request extensions when the auth resolver itself failed (e.g. the database is down).
#[derive(Debug, Clone, Copy)]
pub struct AuthUnavailable;

/// Whether a request may carry a credential: any header outside a list of standard headers that
/// never do (so a credential in `authorization`, `cookie`, an API-key header of any configured
/// name, or anything unknown always reaches the resolver).
pub fn may_carry_credentials(headers: &HeaderMap) -> bool {
    headers.keys().any(|name| {
        !matches!(
            name.as_str(),
            "host"
                | "user-agent"
                | "accept"
                | "accept-encoding"
                | "accept-language"
                | "connection"
                | "content-type"
                | "content-length"
                | "transfer-encoding"
                | "te"
                | "expect"
                | "origin"
                | "referer"
                | "cache-control"
                | "pragma"
                | "priority"
                | "range"
                | "if-match"
                | "if-none-match"
                | "if-modified-since"
                | "if-unmodified-since"
                | "x-request-id"
                | "traceparent"
                | "tracestate"
                | "b3"
                | "x-b3-traceid"
                | "x-b3-spanid"
                | "x-b3-parentspanid"
                | "x-b3-sampled"
                | "x-b3-flags"
                | "x-forwarded-for"
                | "x-forwarded-proto"
                | "x-forwarded-host"
                | "x-real-ip"
                | "forwarded"
                | "dnt"
                | "upgrade-insecure-requests"
                | "sec-fetch-site"
                | "sec-fetch-mode"
                | "sec-fetch-dest"
                | "sec-fetch-user"
                | "sec-ch-ua"
                | "sec-ch-ua-mobile"
                | "sec-ch-ua-platform"
                | "access-control-request-method"
                | "access-control-request-headers"
        )
    })
}

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
    type Future = futures::future::Either<
        S::Future,
        Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if !may_carry_credentials(request.headers()) {
            return futures::future::Either::Left(self.inner.call(request));
        }
        // The resolver runs first, so the ready inner service moves into the future and a fresh
        // clone stays behind (tower's usual pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let resolver = Arc::clone(&self.resolver);
        futures::future::Either::Right(Box::pin(async move {
            match resolver.resolve(request.headers()).await {
                Ok(Some(caller)) => {
                    request.extensions_mut().insert(caller);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "resolving the caller failed");
                    request.extensions_mut().insert(AuthUnavailable);
                }
            }
            inner.call(request).await
        }))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_credential_free_header_sets_skip_the_resolver() {
        let mut headers = HeaderMap::new();
        assert!(!may_carry_credentials(&headers));
        for name in ["host", "user-agent", "accept", "origin", "traceparent"] {
            headers.insert(name, HeaderValue::from_static("x"));
        }
        assert!(!may_carry_credentials(&headers));
        for name in ["authorization", "cookie", "x-api-key", "x-custom-key"] {
            let mut with = headers.clone();
            with.insert(name, HeaderValue::from_static("secret"));
            assert!(may_carry_credentials(&with), "{name}");
        }
    }
}

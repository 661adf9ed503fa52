//! The per-request part of the HTTP stack as ONE tower service: request id, span, log line,
//! metrics, CORS, security headers and the error envelope.
//!
//! They used to be five `axum::middleware::from_fn` layers; each of those, applied with
//! `Router::layer`, boxes the route again, clones a boxed service and boxes a future on every
//! request, which on small handlers cost about half of the throughput (`cargo xtask bench`).
//! Here the work done before the handler runs synchronously in `call`, the inner service is
//! called without cloning it, and one boxed future does the work after it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use tower::{Layer, Service};
use tracing::Instrument;

use super::cors::{self, CorsPolicy};
use super::envelope;
use super::observe::{self, RequestId, REQUEST_ID, UNMATCHED};
use super::security::{self, Hsts};
use crate::tooling::metrics::method_label;
use crate::tooling::HttpMetrics;

/// What the stack needs, shared by every route's copy of it.
#[derive(Debug)]
struct Shared {
    metrics: HttpMetrics,
    cors: CorsPolicy,
    hsts: Hsts,
}

/// Applies [`HttpStack`] (with `Router::layer`, so the matched route is known).
#[derive(Debug, Clone)]
pub struct HttpStackLayer {
    shared: Arc<Shared>,
}

impl HttpStackLayer {
    pub fn new(metrics: HttpMetrics, cors: CorsPolicy, hsts: Hsts) -> Self {
        Self {
            shared: Arc::new(Shared {
                metrics,
                cors,
                hsts,
            }),
        }
    }
}

impl<S> Layer<S> for HttpStackLayer {
    type Service = HttpStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpStack {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct HttpStack<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// Security headers (up to 4), CORS (up to 3) and the request id.
const HEADERS_ADDED: usize = 8;

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for HttpStack<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let shared = Arc::clone(&self.shared);
        let in_flight = shared.metrics.in_flight();
        let id = observe::request_id(request.headers());
        let allow = shared.cors.allow_origin(request.headers());
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();

        if method == Method::OPTIONS {
            // CORS preflight, on any path: answered here, no span and no log line.
            let mut response = cors::preflight(allow);
            let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
            shared
                .metrics
                .record(method_label(&method), route, 204, started.elapsed());
            response.headers_mut().insert(REQUEST_ID, id);
            drop(in_flight);
            return Box::pin(std::future::ready(Ok(response)));
        }

        let route_str = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
        let span = if observe::traced(&method, route_str) {
            observe::request_span(
                &method,
                route_str,
                request.uri().path(),
                request.headers(),
                &id,
            )
        } else {
            tracing::Span::none()
        };
        request.extensions_mut().insert(RequestId(id.clone()));
        let response = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(async move {
            let _in_flight = in_flight;
            let Ok(mut response) = if span.is_disabled() {
                response.await
            } else {
                response.instrument(span.clone()).await
            };
            if envelope::needs_envelope(&response) {
                response = envelope::into_envelope(response).await;
            }
            let headers = response.headers_mut();
            // Room for what is added below, so the map grows at most once.
            headers.reserve(HEADERS_ADDED);
            security::apply(headers, shared.hsts);
            cors::apply(headers, allow);
            headers.insert(REQUEST_ID, id);
            let status = response.status();
            let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
            let elapsed = started.elapsed();
            if observe::traced(&method, route) {
                observe::finish_span(
                    &span,
                    &method,
                    route,
                    status,
                    elapsed.as_secs_f64() * 1000.0,
                );
            }
            shared
                .metrics
                .record(method_label(&method), route, status.as_u16(), elapsed);
            Ok(response)
        })
    }
}

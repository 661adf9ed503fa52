//! The route table: public routes (health, readiness, signed object URLs) and the protected group
//! where slices mount their routes behind authentication.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use shared_server::storage::{object_routes, ObjectStore};
use shared_server::{Context, Db};

use axum::http::header;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{
    DefaultPredicate, NotForContentType, Predicate, SizeAbove,
};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use super::caller::{AuthUnavailable, ResolveCallerLayer};
use super::cors::CorsPolicy;
use super::envelope;
use super::error::ApiError;
use super::security::Hsts;
use super::stack::HttpStackLayer;
use crate::config::{AppConfig, AppEnv};
use crate::persistence::LocalObjects;
use crate::tooling::HttpMetrics;
use comms_server::repos::OutboxRepo;
use iam_server::AuthRoutes;
use shared_server::auth::{AuthContext, AuthResolver, OrgMembers};
use shared_server::files::{content_routes, ContentRouteState, UploadService};
use shared_server::repos::FileRepo;

/// What handlers of the runtime's own routes need.
#[derive(Clone)]
pub struct AppState {
    pub ctx: Context,
    pub readiness_timeout: Duration,
}

/// Routes added by the embedding program: public ones, ones behind authentication, and the RPC
/// groups of its own slice layers (served beside the runtime's table, `app::rpc_groups`, with the
/// same checks; the layers that provide them go in with `server_layer_with_slices`).
#[derive(Clone, Default)]
pub struct ExtraRoutes {
    pub public: Router,
    pub protected: Router,
    pub rpc_groups: Vec<shared_server::rpc::GroupEntry>,
}

/// The full route table with the middleware stack, outermost first: compression (not for RPC
/// NDJSON streams, nor bodies under 1 KiB), then one service doing request id + span + log +
/// metrics + CORS + security headers + error envelope ([`HttpStackLayer`]), then (not on signed
/// object uploads nor RPC endpoints, which have their own limits) body limit, timeout and panic
/// catching; on protected routes only, caller resolution and the authentication check.
///
/// Each group is applied with ONE `Router::layer` call: axum boxes every route again per call,
/// and each boxing costs a service clone and a boxed future on every request.
pub fn router(
    state: AppState,
    extra: ExtraRoutes,
    rpc_groups: shared_server::rpc::RpcRegistry,
) -> Result<Router, shared_server::BoxError> {
    let config = state.ctx.get::<AppConfig>()?;
    let metrics = state.ctx.get::<HttpMetrics>()?;
    let public = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/ready", get(ready))
        .route("/metrics", get(prometheus_metrics))
        .with_state(state.clone());
    let auth_routes = state.ctx.get::<AuthRoutes>()?;
    let mut app = public.merge(extra.public).merge(auth_routes.0.clone());
    // Only protected routes resolve the caller: the auth API reads its own credentials, and
    // resolving for every route would look sessions up twice on get-session and spend an API
    // key's use on requests that never needed it.
    let resolver = state.ctx.get::<dyn AuthResolver>()?;
    if extra.protected.has_routes() {
        let protected = extra
            .protected
            .route_layer(middleware::from_fn(require_authentication))
            .route_layer(ResolveCallerLayer::new(resolver.clone()));
        app = app.merge(protected);
    }
    // The shared slice's file content route authenticates by itself (slices.md §1.6).
    app = app.merge(content_routes(ContentRouteState {
        files: (*state.ctx.get::<FileRepo>()?).clone(),
        uploads: state.ctx.get::<UploadService>()?,
        resolver: resolver.clone(),
        members: state.ctx.get::<dyn OrgMembers>().ok(),
    }));
    let mut app = app.fallback(not_found).layer(
        ServiceBuilder::new()
            .layer(RequestBodyLimitLayer::new(config.http.body_limit_bytes))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                config.http.request_timeout,
            ))
            .layer(CatchPanicLayer::custom(envelope::panic_response)),
    );
    if let Some(local) = state.ctx.get::<LocalObjects>()?.0.clone() {
        app = app.merge(object_routes(local));
    }
    // RPC groups at /v1/<group>/rpc: own frame limit, long-lived streams and sockets.
    app = app.merge(crate::rpc::router(
        rpc_groups.groups().cloned(),
        state.ctx.clone(),
        config.rpc,
    ));
    Ok(app.layer(
        ServiceBuilder::new()
            .layer(CompressionLayer::new().compress_when(compress_when()))
            .layer(HttpStackLayer::new(
                (*metrics).clone(),
                CorsPolicy::new(config.trusted_origins.clone()),
                Hsts(config.env == AppEnv::Prod),
            )),
    ))
}

/// Bodies smaller than this are sent as they are: gzip's header and trailer alone are 18 bytes,
/// a deflate stream costs far more to set up than such a body costs to send, and small JSON
/// answers barely shrink.
const COMPRESS_MIN_BYTES: u16 = 1024;

/// Compression for what is worth it: tower-http's defaults (no images, gRPC or SSE) above
/// [`COMPRESS_MIN_BYTES`], and no NDJSON (RPC streams: compressing them only adds work to every
/// line).
fn compress_when() -> impl Predicate {
    SizeAbove::new(COMPRESS_MIN_BYTES)
        .and(DefaultPredicate::new())
        .and(NotForContentType::const_new("application/ndjson"))
}

/// Prometheus text exposition; pool gauges are sampled at scrape time.
async fn prometheus_metrics(State(state): State<AppState>) -> Response {
    let Ok(metrics) = state.ctx.get::<HttpMetrics>() else {
        return ApiError::internal("metrics service missing").into_response();
    };
    if let Ok(db) = state.ctx.get::<Db>() {
        metrics.record_pool(db.stats());
    }
    if let Ok(outbox) = state.ctx.get::<OutboxRepo>() {
        match outbox.counts_by_status().await {
            Ok(counts) => {
                for (status, count) in counts.pairs() {
                    ::metrics::gauge!("comms_outbox_messages", "status" => status)
                        .set(count as f64);
                }
            }
            Err(error) => tracing::warn!(%error, "outbox counts unavailable for /metrics"),
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

async fn health() -> &'static str {
    "OK"
}

/// 200 with each dependency's status, or 503 naming the one that fails.
async fn ready(State(state): State<AppState>) -> Response {
    let timeout = state.readiness_timeout;
    let db = state.ctx.get::<Db>().map_err(ApiError::internal);
    let store = state
        .ctx
        .get::<dyn ObjectStore>()
        .map_err(ApiError::internal);
    let (db, store) = match (db, store) {
        (Ok(db), Ok(store)) => (db, store),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let (database, object_store) = tokio::join!(
        // During a known outage `ping` fails at once: the background probe watches the
        // database, and a load balancer's probes get their answer without waiting.
        check(timeout, async {
            db.ping(timeout).await.map_err(|e| e.to_string())
        }),
        check(timeout, async {
            store.check().await.map_err(|e| e.to_string())
        }),
    );
    let failing: Vec<&str> = [("database", &database), ("objectStore", &object_store)]
        .iter()
        .filter(|(_, c)| c["status"] != "ok")
        .map(|(name, _)| *name)
        .collect();
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        // A known database outage has been logged once already (by the `Db`).
        if db.unreachable_for().is_some() && failing == ["database"] {
            tracing::debug!(failing = ?failing, "readiness check failed");
        } else {
            tracing::warn!(failing = ?failing, "readiness check failed");
        }
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if failing.is_empty() { "ok" } else { "unavailable" },
        "failing": failing,
        "checks": { "database": database, "objectStore": object_store },
    });
    (status, Json(body)).into_response()
}

async fn check(
    timeout: Duration,
    probe: impl std::future::Future<Output = Result<(), String>>,
) -> serde_json::Value {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, probe)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())));
    let latency_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(()) => json!({ "status": "ok", "latencyMs": latency_ms }),
        Err(error) => json!({ "status": "error", "latencyMs": latency_ms, "error": error }),
    }
}

async fn require_authentication(request: axum::extract::Request, next: Next) -> Response {
    if request.extensions().get::<AuthUnavailable>().is_some() {
        let mut response = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Authentication is temporarily unavailable; retry later",
        )
        .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static(shared_server::db::RETRY_AFTER_SECONDS),
        );
        return response;
    }
    if request.extensions().get::<AuthContext>().is_none() {
        return ApiError::unauthorized().into_response();
    }
    next.run(request).await
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

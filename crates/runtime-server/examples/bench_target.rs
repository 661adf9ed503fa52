//! The process `cargo xtask bench` measures the HTTP stack against: it exists so the full middleware
//! stack and a bare axum router serve the same two handlers in one process, on one tokio runtime,
//! and the difference between them is the cost of the stack alone.
//!
//! It starts (a) the full server through the library (`server_layer_with` + `ServerRuntime`,
//! configured by `AppConfig::load()`, so set `APP_API_PORT=0`, `APP_DATA_DIR` and
//! `APP_LOG_LEVEL=warn`) and (b) a bare `axum::Router` on another free `127.0.0.1` port, prints
//!
//! ```text
//! full http://127.0.0.1:<port>
//! bare http://127.0.0.1:<port>
//! ```
//!
//! on stdout, then serves until SIGINT/SIGTERM or end of stdin and disposes the runtime.
//! `cargo run --release -p runtime-server --example bench_target`.

use std::io::{Read, Write};

use axum::routing::get;
use axum::{Json, Router};
use runtime_server::{AppConfig, ExtraRoutes, HttpServer, ServerRuntime, ShutdownSignals};
use serde::Serialize;
use shared_server::layer::BoxError;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The small JSON answer both routers give on `/v1/bench/json`.
#[derive(Serialize)]
struct SmallJson {
    id: &'static str,
    name: &'static str,
    count: u32,
    tags: [&'static str; 3],
    active: bool,
}

async fn small_json() -> Json<SmallJson> {
    Json(SmallJson {
        id: "bench__0190a6f2-7c4e-7d3a-9b1e-2f6d8c0a4b51",
        name: "benchmark",
        count: 42,
        tags: ["alpha", "beta", "gamma"],
        active: true,
    })
}

/// The same answer as the runtime's own `/v1/health` handler.
async fn health() -> &'static str {
    "OK"
}

/// The bare baseline: the same handlers, no middleware.
fn bare_router() -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/bench/json", get(small_json))
}

/// Resolves when stdin reaches end-of-file (the parent closed the pipe or died).
fn stdin_closed() -> oneshot::Receiver<()> {
    let (done, closed) = oneshot::channel();
    std::thread::spawn(move || {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = done.send(());
    });
    closed
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut signals = ShutdownSignals::install()?;
    let extra = ExtraRoutes {
        public: Router::new().route("/v1/bench/json", get(small_json)),
        protected: Router::new(),
    };
    let runtime = ServerRuntime::new(runtime_server::server_layer_with(AppConfig::load()?, extra));
    let full_url = runtime
        .context()
        .await?
        .get::<HttpServer>()?
        .base_url
        .clone();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_url = format!("http://{}", listener.local_addr()?);
    let stop = CancellationToken::new();
    let bare = tokio::spawn({
        let stop = stop.clone();
        async move {
            axum::serve(listener, bare_router())
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        }
    });

    let ctx = runtime.context().await?;
    ladder::spawn_all(&ctx).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "full {full_url}")?;
    writeln!(stdout, "bare {bare_url}")?;
    stdout.flush()?;
    drop(stdout);

    tokio::select! {
        _ = signals.recv() => {}
        _ = stdin_closed() => {}
    }
    stop.cancel();
    bare.await??;
    runtime.dispose().await?;
    Ok(())
}

mod ladder {
    use super::*;
    use axum::http::StatusCode;
    use axum::middleware;
    use runtime_server::server::cors::{cors, CorsPolicy};
    use runtime_server::server::envelope;
    use runtime_server::server::observe::observe;
    use runtime_server::server::security::{security_headers, Hsts};
    use runtime_server::tooling::HttpMetrics;
    use shared_server::Context;
    use std::time::Duration;
    use tower_http::catch_panic::CatchPanicLayer;
    use tower_http::compression::CompressionLayer;
    use tower_http::limit::RequestBodyLimitLayer;
    use tower_http::timeout::TimeoutLayer;

    fn trio(r: Router) -> Router {
        r.layer(CatchPanicLayer::custom(envelope::panic_response))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(30),
            ))
            .layer(RequestBodyLimitLayer::new(2 * 1024 * 1024))
    }

    async fn uuid_only(
        request: axum::extract::Request,
        next: middleware::Next,
    ) -> axum::response::Response {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let mut response = next.run(request).await;
        response.headers_mut().insert(
            "x-request-id",
            axum::http::HeaderValue::from_str(&id).unwrap(),
        );
        response
    }

    async fn metrics_only(
        axum::extract::State(m): axum::extract::State<HttpMetrics>,
        request: axum::extract::Request,
        next: middleware::Next,
    ) -> axum::response::Response {
        let started = std::time::Instant::now();
        let _g = m.in_flight();
        let response = next.run(request).await;
        m.record(
            "GET",
            "/v1/health",
            response.status().as_u16(),
            started.elapsed(),
        );
        response
    }

    async fn noop(
        request: axum::extract::Request,
        next: middleware::Next,
    ) -> axum::response::Response {
        next.run(request).await
    }

    async fn serve(name: &str, app: Router) -> Result<(), BoxError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!(
            "ladder {name}={}",
            format!("http://{}", listener.local_addr()?)
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(())
    }

    pub async fn spawn_all(ctx: &Context) -> Result<(), BoxError> {
        let m = (*ctx.get::<HttpMetrics>()?).clone();
        let l1 = trio(bare_router());
        let l2 = l1
            .clone()
            .layer(middleware::from_fn(envelope::error_envelope));
        let l3 = l2.clone().layer(CompressionLayer::new());
        let l4 = l3.clone().layer(middleware::from_fn_with_state(
            Hsts(false),
            security_headers,
        ));
        let l5 = l4.clone().layer(middleware::from_fn_with_state(
            CorsPolicy::new(vec![]),
            cors,
        ));
        let l6 = l5
            .clone()
            .layer(middleware::from_fn_with_state(m.clone(), observe));
        serve("bare", bare_router()).await?;
        serve("L1_trio", l1).await?;
        serve("L2_+envelope", l2).await?;
        serve("L3_+compression", l3).await?;
        serve("L4_+security", l4).await?;
        serve("L5_+cors", l5).await?;
        serve("L6_+observe", l6).await?;
        serve(
            "only_noop_fromfn",
            bare_router().layer(middleware::from_fn(noop)),
        )
        .await?;
        serve(
            "only_compression",
            bare_router().layer(CompressionLayer::new()),
        )
        .await?;
        serve(
            "only_observe",
            bare_router().layer(middleware::from_fn_with_state(m.clone(), observe)),
        )
        .await?;
        serve(
            "only_uuid",
            bare_router().layer(middleware::from_fn(uuid_only)),
        )
        .await?;
        serve(
            "only_metrics",
            bare_router().layer(middleware::from_fn_with_state(m, metrics_only)),
        )
        .await?;
        Ok(())
    }
}

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
        ..ExtraRoutes::default()
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

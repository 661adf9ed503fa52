//! The Server layer: the HTTP router and listener launched as a layer (Effect's
//! `Layer.launch(Server.layer)`). Acquiring it binds and starts serving; releasing it stops
//! accepting, lets in-flight requests finish within the drain timeout, then returns.

pub mod caller;
pub mod cors;
pub mod envelope;
pub mod error;
pub mod observe;
pub mod routes;
pub mod security;
pub mod stack;

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt;
use shared_server::layer::{BoxError, Layer};
use shared_server::storage::ObjectStore;
use shared_server::Db;
use tokio_util::sync::CancellationToken;

use crate::config::AppConfig;
use crate::persistence::LocalObjects;
use crate::rpc::RpcShutdown;
use crate::tooling::HttpMetrics;
use iam_server::{AuthRoutes, IamConfig};
pub use routes::{AppState, ExtraRoutes};
use shared_server::auth::{AuthResolver, OrgMembers};
use shared_server::files::UploadService;
use shared_server::repos::FileRepo;
use shared_server::rpc::RpcRegistry;

/// The running HTTP server.
#[derive(Debug, Clone)]
pub struct HttpServer {
    pub local_addr: SocketAddr,
    /// The URL clients use: `APP_PUBLIC_URL`, or the listen address.
    pub base_url: String,
}

/// The Server layer with the runtime's own routes only.
pub fn layer() -> Layer {
    layer_with(ExtraRoutes::default())
}

/// The Server layer with routes of the embedding program added.
pub fn layer_with(extra: ExtraRoutes) -> Layer {
    let mut groups = crate::app::rpc_groups();
    groups.extend(extra.rpc_groups.iter().copied());
    let builder = groups
        .iter()
        .fold(Layer::named_leaf("HttpServer"), |builder, entry| {
            entry.require(builder)
        });
    builder
        .requires::<AppConfig>()
        .requires::<Db>()
        .requires::<dyn ObjectStore>()
        .requires::<LocalObjects>()
        .requires::<HttpMetrics>()
        .requires::<IamConfig>()
        .requires::<AuthRoutes>()
        .requires::<dyn AuthResolver>()
        // Organization-scoped procedures resolve the caller's membership through this port;
        // without it in the router's context every one of them answers "Organization not found".
        .requires::<dyn OrgMembers>()
        // GET /v1/shared/files/{fileId}/content (slices.md §1.6).
        .requires::<FileRepo>()
        .requires::<UploadService>()
        .service(move |ctx, scope| {
            let extra = extra.clone();
            let groups = groups.clone();
            async move {
                let registry = RpcRegistry::collect(&ctx, &groups)?;
                let config = ctx.get::<AppConfig>()?;
                let listener = tokio::net::TcpListener::bind((config.host, config.port))
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot listen on {}:{} ({e}); set APP_API_PORT to a free port",
                            config.host, config.port
                        )
                    })?;
                let local_addr = listener.local_addr()?;
                let base_url = config
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{local_addr}"));
                if let Some(local) = &ctx.get::<LocalObjects>()?.0 {
                    local.set_base_url(&base_url);
                }
                // Email links and the trusted origin default to the address we listen on.
                ctx.get::<IamConfig>()?.set_default_public_url(&base_url);
                // Upgraded RPC WebSockets are not requests the drain waits for: they are
                // closed (1001) when shutdown begins.
                let rpc_shutdown = RpcShutdown::new();
                let mut routes_ctx = ctx.clone();
                routes_ctx.insert(rpc_shutdown.clone());
                let state = AppState {
                    ctx: routes_ctx,
                    readiness_timeout: config.readiness_timeout,
                };
                for (path, (service, procedures)) in registry.table() {
                    tracing::info!(%path, service, procedures, "serving RPC group");
                }
                let app = routes::router(state, extra, registry)?;
                let stop = CancellationToken::new();
                let serving = tokio::spawn(serve(listener, app, stop.clone()));
                tracing::info!(address = %local_addr, url = %base_url, "listening");
                let drain = config.shutdown_drain_timeout;
                scope
                    .add_finalizer("HttpServer", move || async move {
                        rpc_shutdown.trigger();
                        drain_and_stop(stop, serving, drain).await
                    })
                    .await;
                Ok::<_, BoxError>(HttpServer {
                    local_addr,
                    base_url,
                })
            }
        })
}

/// Serves `app` until `stop`. Every connection gets `TCP_NODELAY`: streamed answers (NDJSON RPC)
/// end with a small chunk that Nagle's algorithm would otherwise hold back until the client's
/// delayed ACK, about 40 ms per call on a reused connection. Handlers see the peer address as
/// `ConnectInfo<SocketAddr>` (the auth API's rate limiter uses it when no IP header is trusted).
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { stop.cancelled().await })
    .await
}

async fn drain_and_stop(
    stop: CancellationToken,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    drain: Duration,
) -> Result<(), BoxError> {
    tracing::info!(
        drain_timeout_s = drain.as_secs(),
        "stopped accepting; draining in-flight requests"
    );
    stop.cancel();
    let started = std::time::Instant::now();
    let abort = serving.abort_handle();
    match tokio::time::timeout(drain, serving).await {
        Ok(Ok(Ok(()))) => {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "HTTP server drained"
            );
            Ok(())
        }
        Ok(Ok(Err(io))) => Err(Box::new(io)),
        Ok(Err(join)) => Err(format!("HTTP server task failed: {join}").into()),
        Err(_) => {
            abort.abort();
            Err(format!(
                "in-flight requests did not finish within {} s; connections were closed",
                drain.as_secs()
            )
            .into())
        }
    }
}

/// SIGINT and SIGTERM, registered when installed (so none is missed between start-up and wait).
pub struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    pub fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves on the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }

    /// Waits for the first signal; after it, a second one exits the process at once.
    pub async fn wait_then_arm_force_exit(mut self) {
        let name = self.recv().await;
        tracing::info!(
            signal = name,
            "shutdown requested; a second signal forces exit"
        );
        tokio::spawn(async move {
            let name = self.recv().await;
            eprintln!("{name} received again: exiting immediately");
            std::process::exit(130);
        });
    }
}

//! `runtime-server`: composes every slice with persistence and tooling into one `ServerRuntime`,
//! serves it over HTTP, and lets other programs embed it.

pub mod app;
pub mod config;
pub mod persistence;
/// The RPC transport lives in `shared_server::rpc::transport` (slices' tests use it without the
/// runtime); these are its paths here.
pub mod rpc {
    pub use shared_server::rpc::transport::{router, RpcLimits, RpcShutdown};
}
pub mod runtime;
pub mod server;
pub mod tooling;

pub use app::{runtime_layer, server_layer, server_layer_with, server_layer_with_slices};
pub use config::AppConfig;
pub use runtime::{Exit, RunError, RuntimeError, ServerRuntime};
pub use server::{ExtraRoutes, HttpServer, ShutdownSignals};

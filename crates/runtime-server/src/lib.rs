//! `runtime-server`: composes every slice with persistence and tooling into one `ServerRuntime`,
//! serves it over HTTP, and lets other programs embed it.

pub mod app;
pub mod config;
pub mod persistence;
pub mod rpc;
pub mod runtime;
pub mod server;
pub mod tooling;

pub use app::{runtime_layer, server_layer, server_layer_with};
pub use config::AppConfig;
pub use runtime::{Exit, RunError, RuntimeError, ServerRuntime};
pub use server::{ExtraRoutes, HttpServer, ShutdownSignals};

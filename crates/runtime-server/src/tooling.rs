//! The Tooling layer: logging (pretty or JSON, level from `APP_LOG_LEVEL` or `RUST_LOG`).
//!
//! It is the first layer built and the last released, so start-up and shutdown are logged.
//! OpenTelemetry export and metrics hang off this layer (issue 3).

use shared_server::layer::{BoxError, Layer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::{AppConfig, LogFormat};

/// Marker service: logging is installed. Holds the service name used in telemetry.
#[derive(Debug, Clone)]
pub struct Tooling {
    pub service_name: String,
}

/// Installs the global subscriber once per process (later calls keep the first one). Logs go to
/// stderr; stdout carries only the command's own output (e.g. the URL `serve` prints).
pub fn init_logging(config: &AppConfig) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| {
            let level = config.log_level.to_ascii_lowercase();
            EnvFilter::new(format!(
                "{level},sqlx=warn,hyper=warn,h2=warn,aws_smithy_runtime=warn,aws_config=warn,tower_http=warn"
            ))
        });
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.log_format {
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    .compact(),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
}

pub fn layer() -> Layer {
    Layer::named_leaf("Tooling")
        .requires::<AppConfig>()
        .service(|ctx, scope| async move {
            let config = ctx.get::<AppConfig>()?;
            init_logging(&config);
            if config.auth_secret_generated {
                tracing::warn!(data_dir = %config.data_dir.display(),
                    "BETTER_AUTH_SECRET is not set: using a generated development secret kept in the data folder; set it in production");
            }
            let service_name = config.service_name();
            tracing::info!(service = %service_name, env = config.env.as_str(), "starting");
            let name = service_name.clone();
            scope
                .add_finalizer("Tooling", move || async move {
                    tracing::info!(service = %name, "stopped");
                    Ok(())
                })
                .await;
            Ok::<_, BoxError>(Tooling { service_name })
        })
}

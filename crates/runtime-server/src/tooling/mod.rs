//! The Tooling layer: logging (pretty or JSON; `APP_LOG_LEVEL` or `RUST_LOG`), OpenTelemetry
//! export over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and metrics.
//!
//! It is the first layer built and the last released, so start-up and shutdown are logged and
//! traced, and pending spans are flushed on dispose. The global `tracing` subscriber is installed
//! once per process: a second runtime in the same process logs through the first one's.

pub mod metrics;
pub mod otel;
pub mod propagation;

use std::sync::Arc;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use shared_server::layer::{BoxError, Context, Layer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{AppConfig, LogFormat};
pub use metrics::HttpMetrics;

/// Marker service: logging is installed. Holds the service name used in telemetry.
#[derive(Debug, Clone)]
pub struct Tooling {
    pub service_name: String,
    /// Whether this runtime exports over OTLP.
    pub otlp: bool,
}

fn filter(config: &AppConfig) -> EnvFilter {
    shared_server::config::Vars::process()
        .get("RUST_LOG")
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| {
            let level = config.log_level.to_ascii_lowercase();
            EnvFilter::new(format!(
                "{level},sqlx=warn,hyper=warn,h2=warn,aws_smithy_runtime=warn,tower_http=warn,\
                 opentelemetry=warn,opentelemetry_sdk=warn,reqwest=warn"
            ))
        })
}

/// Installs the global subscriber (logs on stderr; stdout carries only the command's own output,
/// e.g. the URL `serve` prints) with the OTLP layers when `otel` is given. Returns false when a
/// subscriber was already installed in this process.
pub fn init_logging(config: &AppConfig, otel: Option<&otel::OtelProviders>) -> bool {
    let fmt = match config.log_format {
        // Colours only on a terminal: in a file or a log collector escape codes are noise, and
        // writing them cost ~6% of the request path at info level (perf, bench_target).
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .compact()
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    let traces = otel.map(|o| tracing_opentelemetry::layer().with_tracer(o.tracer()));
    let logs = otel.map(|o| OpenTelemetryTracingBridge::new(&o.logger_provider));
    tracing_subscriber::registry()
        .with(devtools())
        .with(fmt.with_filter(filter(config)))
        .with(traces.map(|t| t.with_filter(filter(config))))
        .with(logs.map(|l| l.with_filter(filter(config))))
        .try_init()
        .is_ok()
}

/// tokio-console's layer (feature `devtools`); it sees tokio's own spans, which the log filter
/// would hide, so it is installed beside the filtered layers.
#[cfg(feature = "devtools")]
fn devtools<S>() -> Option<impl tracing_subscriber::Layer<S>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    Some(console_subscriber::spawn())
}

#[cfg(not(feature = "devtools"))]
fn devtools() -> Option<tracing_subscriber::layer::Identity> {
    None
}

pub fn layer() -> Layer {
    Layer::named_leaf("Tooling")
        .requires::<AppConfig>()
        .provides::<Tooling>()
        .provides::<HttpMetrics>()
        .provides::<dyn shared_server::rpc::TraceJoin>()
        .build(|ctx, scope| async move {
            let config = ctx.get::<AppConfig>()?;
            let providers = match &config.otel {
                Some(otel_config) => Some(Arc::new(otel::build(otel_config)?)),
                None => None,
            };
            let installed = init_logging(&config, providers.as_deref());
            let otlp = installed && providers.is_some();
            if providers.is_some() && !installed {
                tracing::warn!("a tracing subscriber was already installed in this process; OTLP export is off for this runtime");
            }
            if config.auth_secret_generated {
                tracing::warn!(data_dir = %config.data_dir.display(),
                    "BETTER_AUTH_SECRET is not set: using a generated development secret kept in the data folder; set it in production");
            }
            let service_name = config.service_name();
            tracing::info!(service = %service_name, env = config.env.as_str(), otlp, "starting");
            let meter = providers
                .as_ref()
                .filter(|_| otlp)
                .map(|p| p.meter_provider.meter("runtime-server"));
            let metrics = HttpMetrics::new(meter);
            let upkeep_metrics = metrics.clone();
            let upkeep = tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    every.tick().await;
                    upkeep_metrics.run_upkeep();
                }
            });
            let name = service_name.clone();
            scope
                .add_finalizer("Tooling", move || async move {
                    upkeep.abort();
                    tracing::info!(service = %name, "stopped");
                    if let Some(providers) = providers {
                        // Flushing blocks on HTTP; keep it off the async workers.
                        tokio::task::spawn_blocking(move || providers.shutdown())
                            .await
                            .map_err(|e| Box::new(e) as BoxError)??;
                    }
                    Ok(())
                })
                .await;
            Ok::<_, BoxError>(
                Context::new()
                    .with(Tooling { service_name, otlp })
                    .with(metrics)
                    .with_arc::<dyn shared_server::rpc::TraceJoin>(std::sync::Arc::new(
                        propagation::OtelTraceJoin,
                    )),
            )
        })
}

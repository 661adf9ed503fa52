//! OpenTelemetry export over OTLP/HTTP (protobuf): traces (from `tracing` spans), logs (from
//! `tracing` events) and metrics, to `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/{traces,logs,metrics}`.
//!
//! The exporters use a blocking HTTP client on their own background threads, so they are built
//! and shut down off the async worker threads.

use std::collections::HashMap;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use crate::config::OtelConfig;

/// The three providers; flushed and shut down when the Tooling layer is released.
pub struct OtelProviders {
    pub tracer_provider: SdkTracerProvider,
    pub logger_provider: SdkLoggerProvider,
    pub meter_provider: SdkMeterProvider,
}

impl OtelProviders {
    pub fn tracer(&self) -> SdkTracer {
        self.tracer_provider.tracer("runtime-server")
    }

    /// Flushes pending spans, logs and metrics, then stops the exporters.
    pub fn shutdown(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        if let Err(e) = self.tracer_provider.shutdown() {
            errors.push(format!("traces: {e}"));
        }
        if let Err(e) = self.meter_provider.shutdown() {
            errors.push(format!("metrics: {e}"));
        }
        if let Err(e) = self.logger_provider.shutdown() {
            errors.push(format!("logs: {e}"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// Builds the providers on a plain thread (the blocking HTTP client must not be created on an
/// async worker thread).
pub fn build(config: &OtelConfig) -> Result<OtelProviders, String> {
    let config = config.clone();
    std::thread::spawn(move || build_blocking(&config))
        .join()
        .map_err(|_| "building the OTLP exporters panicked".to_string())?
}

fn build_blocking(config: &OtelConfig) -> Result<OtelProviders, String> {
    let headers: HashMap<String, String> = config
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect();
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    let url = |signal: &str| format!("{}/v1/{signal}", config.endpoint);

    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url("traces"))
        .with_timeout(config.export_timeout)
        .with_headers(headers.clone())
        .build()
        .map_err(|e| format!("OTLP span exporter: {e}"))?;
    let logs = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url("logs"))
        .with_timeout(config.export_timeout)
        .with_headers(headers.clone())
        .build()
        .map_err(|e| format!("OTLP log exporter: {e}"))?;
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url("metrics"))
        .with_timeout(config.export_timeout)
        .with_headers(headers)
        .build()
        .map_err(|e| format!("OTLP metric exporter: {e}"))?;

    Ok(OtelProviders {
        tracer_provider: SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource.clone())
            .build(),
        logger_provider: SdkLoggerProvider::builder()
            .with_batch_exporter(logs)
            .with_resource(resource.clone())
            .build(),
        meter_provider: SdkMeterProvider::builder()
            .with_reader(
                PeriodicReader::builder(metrics)
                    .with_interval(config.metrics_interval)
                    .build(),
            )
            .with_resource(resource)
            .build(),
    })
}

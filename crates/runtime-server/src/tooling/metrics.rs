//! Request and pool metrics: one place records them, to Prometheus (`/metrics`) always and to
//! OpenTelemetry (OTLP) when export is configured.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
use opentelemetry::KeyValue;

const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide Prometheus recorder (a `metrics` recorder can be installed only once).
fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("http_request_duration_seconds".into()), DURATION_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(error) => {
                    tracing::warn!(%error, "Prometheus recorder not installed; /metrics will be empty");
                    None
                }
            }
        })
        .as_ref()
}

struct OtelInstruments {
    requests: Counter<u64>,
    duration: Histogram<f64>,
    in_flight: UpDownCounter<i64>,
}

/// Records HTTP metrics; a runtime service (the Tooling layer provides it).
#[derive(Clone)]
pub struct HttpMetrics {
    otel: Option<Arc<OtelInstruments>>,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics")
            .field("otlp", &self.otel.is_some())
            .finish()
    }
}

impl HttpMetrics {
    pub fn new(meter: Option<Meter>) -> Self {
        let _ = prometheus();
        let otel = meter.map(|meter| {
            Arc::new(OtelInstruments {
                requests: meter.u64_counter("http.server.requests").build(),
                duration: meter
                    .f64_histogram("http.server.request.duration")
                    .with_unit("s")
                    .with_boundaries(DURATION_BUCKETS.to_vec())
                    .build(),
                in_flight: meter
                    .i64_up_down_counter("http.server.active_requests")
                    .build(),
            })
        });
        Self { otel }
    }

    /// Marks a request in flight until the returned guard is dropped (also on cancellation).
    pub fn in_flight(&self) -> InFlight {
        metrics::gauge!("http_requests_in_flight").increment(1.0);
        if let Some(otel) = &self.otel {
            otel.in_flight.add(1, &[]);
        }
        InFlight(self.clone())
    }

    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let status_text = status.to_string();
        let labels = [
            ("method", method.to_string()),
            ("route", route.to_string()),
            ("status", status_text.clone()),
        ];
        metrics::counter!("http_requests_total", &labels).increment(1);
        metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
        if let Some(otel) = &self.otel {
            let attributes = [
                KeyValue::new("http.request.method", method.to_string()),
                KeyValue::new("http.route", route.to_string()),
                KeyValue::new("http.response.status_code", i64::from(status)),
            ];
            otel.requests.add(1, &attributes);
            otel.duration.record(elapsed.as_secs_f64(), &attributes);
        }
    }

    /// Database pool usage, sampled when `/metrics` is scraped.
    pub fn record_pool(&self, stats: shared_server::db::PoolStats) {
        metrics::gauge!("db_pool_connections").set(f64::from(stats.size));
        metrics::gauge!("db_pool_idle_connections").set(f64::from(stats.idle));
        metrics::gauge!("db_pool_max_connections").set(f64::from(stats.max));
    }

    /// Drains recorded histogram samples into their buckets. Without it, samples pile up between
    /// scrapes (and forever when nothing scrapes), so the Tooling layer runs it periodically.
    pub fn run_upkeep(&self) {
        if let Some(handle) = prometheus() {
            handle.run_upkeep();
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        prometheus()
            .map(PrometheusHandle::render)
            .unwrap_or_default()
    }
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight(HttpMetrics);

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("http_requests_in_flight").decrement(1.0);
        if let Some(otel) = &self.0.otel {
            otel.in_flight.add(-1, &[]);
        }
    }
}

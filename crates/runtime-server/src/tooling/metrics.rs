//! Request and pool metrics: one place records them, to Prometheus (`/metrics`) always and to
//! OpenTelemetry (OTLP) when export is configured.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use axum::http::Method;

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

/// The handles of one `(method, route, status)` series, registered on its first request so that
/// later requests record without building label strings or looking the series up by name.
struct Series {
    requests: metrics::Counter,
    duration: metrics::Histogram,
    /// The OTLP attributes, when OTLP export is on.
    otel_attributes: Option<[KeyValue; 3]>,
}

/// Series by route, then by (method, status). Routes come from the route table (or
/// `unmatched`), methods are reduced to the standard ones plus `_OTHER`, statuses are 3 digits:
/// the set is bounded whatever clients send.
type SeriesMap = HashMap<Box<str>, HashMap<(&'static str, u16), Series>>;

struct Inner {
    otel: Option<OtelInstruments>,
    in_flight: metrics::Gauge,
    series: RwLock<SeriesMap>,
}

/// Records HTTP metrics; a runtime service (the Tooling layer provides it). Cloning is cheap.
#[derive(Clone)]
pub struct HttpMetrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics")
            .field("otlp", &self.inner.otel.is_some())
            .finish()
    }
}

/// The method label: the standard methods by name, anything else `_OTHER` (as the OpenTelemetry
/// HTTP semantic conventions say), so clients cannot create new series at will.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

impl HttpMetrics {
    pub fn new(meter: Option<Meter>) -> Self {
        let _ = prometheus();
        let otel = meter.map(|meter| OtelInstruments {
            requests: meter.u64_counter("http.server.requests").build(),
            duration: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            in_flight: meter
                .i64_up_down_counter("http.server.active_requests")
                .build(),
        });
        Self {
            inner: Arc::new(Inner {
                otel,
                in_flight: metrics::gauge!("http_requests_in_flight"),
                series: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// Marks a request in flight until the returned guard is dropped (also on cancellation).
    pub fn in_flight(&self) -> InFlight {
        self.inner.in_flight.increment(1.0);
        if let Some(otel) = &self.inner.otel {
            otel.in_flight.add(1, &[]);
        }
        InFlight(self.clone())
    }

    /// Counts one request and its duration in its `(method, route, status)` series.
    pub fn record(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let record = |series: &Series| {
            series.requests.increment(1);
            series.duration.record(seconds);
            if let (Some(otel), Some(attributes)) = (&self.inner.otel, &series.otel_attributes) {
                otel.requests.add(1, attributes);
                otel.duration.record(seconds, attributes);
            }
        };
        {
            let map = self
                .inner
                .series
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(series) = map.get(route).and_then(|m| m.get(&(method, status))) {
                record(series);
                return;
            }
        }
        let mut map = self
            .inner
            .series
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let series = map
            .entry(route.into())
            .or_default()
            .entry((method, status))
            .or_insert_with(|| self.register(method, route, status));
        record(series);
    }

    fn register(&self, method: &'static str, route: &str, status: u16) -> Series {
        let labels = [
            ("method", method.to_string()),
            ("route", route.to_string()),
            ("status", status.to_string()),
        ];
        Series {
            requests: metrics::counter!("http_requests_total", &labels),
            duration: metrics::histogram!("http_request_duration_seconds", &labels),
            otel_attributes: self.inner.otel.as_ref().map(|_| {
                [
                    KeyValue::new("http.request.method", method),
                    KeyValue::new("http.route", route.to_string()),
                    KeyValue::new("http.response.status_code", i64::from(status)),
                ]
            }),
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
        self.0.inner.in_flight.decrement(1.0);
        if let Some(otel) = &self.0.inner.otel {
            otel.in_flight.add(-1, &[]);
        }
    }
}

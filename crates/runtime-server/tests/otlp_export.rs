//! OpenTelemetry export against a real OTLP/HTTP receiver run in-process: it decodes the
//! protobuf messages the exporter sends. A request carrying `traceparent` must produce a span
//! named `http GET /v1/ready` with the semantic-convention attributes, parented to the caller's
//! span, and `dispose` must flush it. (Own test binary: the tracing subscriber is per process.)

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;
use runtime_server::{server_layer, HttpServer, ServerRuntime};

#[derive(Clone, Default)]
struct Received {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    logs: Arc<Mutex<Vec<ExportLogsServiceRequest>>>,
}

async fn receiver() -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            post(|State(r): State<Received>, body: Bytes| async move {
                r.traces
                    .lock()
                    .unwrap()
                    .push(ExportTraceServiceRequest::decode(body).expect("valid OTLP protobuf"));
                ""
            }),
        )
        .route(
            "/v1/logs",
            post(|State(r): State<Received>, body: Bytes| async move {
                r.logs
                    .lock()
                    .unwrap()
                    .push(ExportLogsServiceRequest::decode(body).expect("valid OTLP protobuf"));
                ""
            }),
        )
        .route("/v1/metrics", post(|| async { "" }))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()
}

fn text(value: Option<&AnyValue>) -> Option<String> {
    match value? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_reach_the_collector_with_the_callers_parent_and_dispose_flushes() {
    let (endpoint, received) = receiver().await;
    let data = common::DataDir::new();
    let config = common::config(
        &data,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("APP_NAME", "acme"),
            ("APP_LOG_LEVEL", "info"),
        ],
    );
    let runtime = ServerRuntime::new(server_layer(config));
    let base = runtime
        .context()
        .await
        .unwrap()
        .get::<HttpServer>()
        .unwrap()
        .base_url
        .clone();

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_span = "00f067aa0ba902b7";
    let response = reqwest::Client::new()
        .get(format!("{base}/v1/ready"))
        .header("traceparent", format!("00-{trace_id}-{parent_span}-01"))
        .header("user-agent", "otlp-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A malformed traceparent starts a new trace instead of failing the request.
    let fresh = reqwest::Client::new()
        .get(format!("{base}/v1/nope"))
        .header("traceparent", "00-not-a-trace-01")
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 404);

    assert!(
        received.traces.lock().unwrap().is_empty(),
        "spans are batched, not yet sent"
    );
    runtime.dispose().await.unwrap();

    let traces = received.traces.lock().unwrap().clone();
    let resource_spans: Vec<_> = traces
        .iter()
        .flat_map(|r| r.resource_spans.iter())
        .collect();
    let service = resource_spans
        .iter()
        .find_map(|rs| text(attribute(&rs.resource.as_ref()?.attributes, "service.name")))
        .expect("a service.name resource attribute");
    assert_eq!(service, "acme-server");
    let spans: Vec<_> = resource_spans
        .iter()
        .flat_map(|rs| rs.scope_spans.iter())
        .flat_map(|ss| ss.spans.iter())
        .collect();
    let ready = spans
        .iter()
        .find(|s| s.name == "http GET /v1/ready")
        .unwrap_or_else(|| {
            panic!(
                "no request span among {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(hex::encode(&ready.trace_id), trace_id);
    assert_eq!(hex::encode(&ready.parent_span_id), parent_span);
    assert_eq!(
        text(attribute(&ready.attributes, "http.request.method")).as_deref(),
        Some("GET")
    );
    assert_eq!(
        text(attribute(&ready.attributes, "http.route")).as_deref(),
        Some("/v1/ready")
    );
    assert_eq!(
        text(attribute(&ready.attributes, "url.path")).as_deref(),
        Some("/v1/ready")
    );
    assert_eq!(
        text(attribute(&ready.attributes, "http.response.status_code")).as_deref(),
        Some("200")
    );
    assert_eq!(
        text(attribute(&ready.attributes, "user_agent.original")).as_deref(),
        Some("otlp-test/1.0")
    );
    assert!(attribute(&ready.attributes, "request_id").is_some());

    let unmatched = spans
        .iter()
        .find(|s| s.name == "http GET unmatched")
        .expect("span of the 404");
    assert_ne!(
        hex::encode(&unmatched.trace_id),
        trace_id,
        "a malformed traceparent starts a new trace"
    );
    assert!(unmatched.parent_span_id.is_empty());

    let logs = received.logs.lock().unwrap().clone();
    let records: Vec<_> = logs
        .iter()
        .flat_map(|r| r.resource_logs.iter())
        .flat_map(|rl| rl.scope_logs.iter())
        .flat_map(|sl| sl.log_records.iter())
        .collect();
    assert!(!records.is_empty(), "log records are exported too");
}

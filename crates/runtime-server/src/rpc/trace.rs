//! The span of one call: `rpc.<Tag>` (the OpenTelemetry name; the `tracing` name is `rpc`, since
//! `tracing` names are static) with `rpc.method`, joined to the caller's trace when the Request
//! carries its ids (effect-rpc-protocol.md §7).

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::message::{CallerTrace, Request};

/// The span a call runs in, a child of `transport_span` (the HTTP request's span; none for
/// WebSocket calls) unless the Request names another parent.
pub(crate) fn call_span(transport_span: &Span, group: &str, request: &Request) -> Span {
    let name = format!("rpc.{}", request.tag);
    let span = tracing::info_span!(
        parent: transport_span,
        "rpc",
        otel.name = name.as_str(),
        otel.kind = "server",
        otel.status_code = Empty,
        rpc.system = "effect-rpc",
        rpc.service = group,
        rpc.method = request.tag.as_str(),
        rpc.request_id = request.id.as_str(),
        enduser.id = Empty,
        org.id = Empty,
    );
    if let Some(caller) = &request.trace {
        join_caller_trace(&span, transport_span, caller);
    }
    span
}

/// Makes the caller's span (`RpcClient.<tag>`) the parent, unless the transport span already
/// belongs to that trace (HTTP with `traceparent`): then the call stays the request's child.
fn join_caller_trace(span: &Span, transport_span: &Span, caller: &CallerTrace) {
    let (Ok(trace_id), Ok(span_id)) = (
        TraceId::from_hex(&caller.trace_id),
        SpanId::from_hex(&caller.span_id),
    ) else {
        return;
    };
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return;
    }
    if !transport_span.is_none()
        && transport_span.context().span().span_context().trace_id() == trace_id
    {
        return;
    }
    let flags = if caller.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let remote = SpanContext::new(trace_id, span_id, flags, true, TraceState::default());
    // Fails only without an OpenTelemetry layer, where there is nothing to join.
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::message::RequestId;
    use opentelemetry::trace::TracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    const CALLER_TRACE: &str = "932830843a478aa69449f0a010dce03e";

    fn request(trace: Option<CallerTrace>) -> Request {
        Request {
            id: RequestId::parse("4").unwrap(),
            tag: "countTo".into(),
            payload: None,
            headers: Vec::new(),
            trace,
        }
    }

    fn trace_id(span: &Span) -> String {
        span.context().span().span_context().trace_id().to_string()
    }

    #[test]
    fn calls_join_the_trace_named_by_the_request() {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let caller = CallerTrace {
                trace_id: CALLER_TRACE.into(),
                span_id: "a451f2a901f51545".into(),
                sampled: true,
            };
            let joined = call_span(&Span::none(), "test", &request(Some(caller)));
            assert_eq!(trace_id(&joined), CALLER_TRACE);

            // Without trace fields the call is the transport span's child.
            let http = tracing::info_span!("http");
            let child = call_span(&http, "test", &request(None));
            assert_eq!(trace_id(&child), trace_id(&http));
            assert_ne!(trace_id(&child), CALLER_TRACE);
        });
    }
}

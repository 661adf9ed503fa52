//! Joining the caller's trace: W3C `traceparent`/`tracestate` first, then B3 (single `b3` header
//! or the `X-B3-*` headers). A malformed header is ignored and a new trace starts.

use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The remote parent carried by `headers`, if any valid one is there.
pub fn remote_parent(headers: &HeaderMap) -> Option<opentelemetry::Context> {
    let w3c = TraceContextPropagator::new().extract(&Headers(headers));
    if w3c.span().span_context().is_valid() {
        return Some(w3c);
    }
    b3(headers).map(|span| opentelemetry::Context::new().with_remote_span_context(span))
}

fn b3(headers: &HeaderMap) -> Option<SpanContext> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (trace, span, sampled) = match text("b3") {
        Some(single) => {
            let mut parts = single.split('-');
            (parts.next()?, parts.next()?, parts.next())
        }
        None => (
            text("x-b3-traceid")?,
            text("x-b3-spanid")?,
            text("x-b3-sampled"),
        ),
    };
    // 64-bit B3 trace ids are left-padded to 128 bits.
    let trace = if trace.len() == 16 {
        format!("{:0>32}", trace)
    } else {
        trace.to_string()
    };
    let trace_id = TraceId::from_hex(&trace)
        .ok()
        .filter(|t| *t != TraceId::INVALID)?;
    let span_id = SpanId::from_hex(span)
        .ok()
        .filter(|s| *s != SpanId::INVALID)?;
    if trace.len() != 32 || span.len() != 16 {
        return None;
    }
    let flags = match sampled {
        Some("0") => TraceFlags::default(),
        _ => TraceFlags::SAMPLED,
    };
    Some(SpanContext::new(
        trace_id,
        span_id,
        flags,
        true,
        TraceState::default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use opentelemetry::trace::TracerProvider;
    use shared_server::rpc::{CallerTrace, TraceJoin};
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::layer::SubscriberExt;

    const CALLER_TRACE: &str = "932830843a478aa69449f0a010dce03e";

    fn trace_id(span: &tracing::Span) -> String {
        span.context().span().span_context().trace_id().to_string()
    }

    #[test]
    fn rpc_calls_join_the_trace_named_by_the_request() {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let caller = CallerTrace {
                trace_id: CALLER_TRACE.into(),
                span_id: "a451f2a901f51545".into(),
                sampled: true,
            };
            let call = tracing::info_span!("rpc");
            OtelTraceJoin.join(&call, &tracing::Span::none(), &caller);
            assert_eq!(trace_id(&call), CALLER_TRACE);

            // A call inside an HTTP request of the caller's trace stays the request's child.
            let http = tracing::info_span!("http");
            let child = tracing::info_span!(parent: &http, "rpc");
            let other = CallerTrace {
                trace_id: trace_id(&http),
                span_id: "a451f2a901f51545".into(),
                sampled: true,
            };
            OtelTraceJoin.join(&child, &http, &other);
            assert_eq!(trace_id(&child), trace_id(&http));
        });
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn ids(cx: &opentelemetry::Context) -> (String, String) {
        let span = cx.span();
        let sc = span.span_context();
        (sc.trace_id().to_string(), sc.span_id().to_string())
    }

    #[test]
    fn w3c_then_b3_and_malformed_is_ignored() {
        let w3c = remote_parent(&headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]))
        .unwrap();
        assert_eq!(
            ids(&w3c),
            (
                "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                "00f067aa0ba902b7".into()
            )
        );
        let single = remote_parent(&headers(&[(
            "b3",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
        )]))
        .unwrap();
        assert_eq!(ids(&single).1, "e457b5a2e4d86bd1");
        let multi = remote_parent(&headers(&[
            ("x-b3-traceid", "a3ce929d0e0e4736"),
            ("x-b3-spanid", "00f067aa0ba902b7"),
        ]))
        .unwrap();
        assert_eq!(ids(&multi).0, "0000000000000000a3ce929d0e0e4736");
        assert!(
            remote_parent(&headers(&[("traceparent", "00-zzzz-00f067aa0ba902b7-01")])).is_none()
        );
        assert!(remote_parent(&headers(&[("b3", "nonsense")])).is_none());
        assert!(remote_parent(&HeaderMap::new()).is_none());
    }
}

/// Joins RPC calls to the trace their Request names (`traceId`/`spanId`/`sampled`,
/// effect-rpc-protocol.md §7): the OpenTelemetry half of the kernel's RPC call span.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtelTraceJoin;

impl shared_server::rpc::TraceJoin for OtelTraceJoin {
    fn join(
        &self,
        span: &tracing::Span,
        transport_span: &tracing::Span,
        caller: &shared_server::rpc::CallerTrace,
    ) {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
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
}

//! The span of one call: `rpc.<Tag>` (the OpenTelemetry name; the `tracing` name is `rpc`, since
//! `tracing` names are static) with `rpc.method`, joined to the caller's trace when the Request
//! carries its ids (effect-rpc-protocol.md §7).
//!
//! Joining a remote trace needs OpenTelemetry, which the kernel does not link: the tooling layer
//! provides a [`TraceJoin`] in the context, and without one calls stay children of their
//! transport span.

use tracing::field::Empty;
use tracing::Span;

pub use super::message::CallerTrace;
use super::message::Request;

/// Makes a call's span a child of the caller's remote span (`RpcClient.<tag>`); provided by the
/// runtime's tooling layer (`runtime_server::tooling::OtelTraceJoin`).
pub trait TraceJoin: Send + Sync {
    /// Sets `span`'s parent to `caller`, unless `transport_span` already belongs to that trace
    /// (HTTP with `traceparent`): then the call stays the request's child.
    fn join(&self, span: &Span, transport_span: &Span, caller: &CallerTrace);
}

/// The span a call runs in, a child of `transport_span` (the HTTP request's span; none for
/// WebSocket calls) unless the Request names another parent.
pub(crate) fn call_span(
    transport_span: &Span,
    group: &str,
    request: &Request,
    joiner: Option<&dyn TraceJoin>,
) -> Span {
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
    if let (Some(caller), Some(joiner)) = (&request.trace, joiner) {
        joiner.join(&span, transport_span, caller);
    }
    span
}

//! Running one call, from its Request to its single Exit: authenticate from the merged headers,
//! invoke the handler, stream Chunks (waiting for each Ack over WebSocket), and turn the outcome,
//! a panic, or an interruption into the Exit Effect expects (effect-rpc-protocol.md §2, §5, §6).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use crate::layer::panic_message;
use crate::rpc::{
    resolve_caller, Access, Caller, Cause, Defect, Exit, Invocation, Procedure, RpcError,
    INTERNAL_ERROR,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use futures::{FutureExt, StreamExt};
use serde_json::Value;
use tokio::sync::Notify;
use tracing::{Instrument, Span};

use super::connection::{CallControl, Closed, Shared, Transport};
use super::message::{Request, RequestId, ServerMessage};
use super::trace::call_span;

/// Stream elements already produced are sent together, up to this many per Chunk.
const MAX_VALUES_PER_CHUNK: usize = 32;

/// Runs the call and sends its Exit (unless the connection is gone).
pub(crate) async fn run(
    conn: Arc<Shared>,
    request: Request,
    procedure: Procedure,
    control: CallControl,
) {
    let span = call_span(
        &conn.span,
        conn.endpoint.group.name(),
        &request,
        conn.endpoint.trace_join.as_deref(),
    );
    let Request {
        id,
        payload,
        headers,
        ..
    } = request;
    let outcome = async {
        let work = execute(&conn, &id, &procedure, payload, &headers, &control.acks);
        tokio::select! {
            biased;
            () = control.cancel.cancelled() => Err(conn.interruption()),
            outcome = AssertUnwindSafe(work).catch_unwind() => outcome.unwrap_or_else(|panic| {
                tracing::error!(panic = %panic_message(&*panic), "RPC handler panicked");
                Err(Cause::die(Defect::error("Error", INTERNAL_ERROR)))
            }),
        }
    }
    .instrument(span.clone())
    .await;
    conn.forget(&id);
    let exit = match outcome {
        Ok(value) => Exit::success(value),
        Err(cause) => {
            span.in_scope(|| log_failure(procedure.tag(), &cause));
            Exit::failure(cause)
        }
    };
    let exit = ServerMessage::Exit {
        request_id: id,
        exit,
    };
    let _ = conn.send_exit(exit, control.slot).await;
}

async fn execute(
    conn: &Shared,
    id: &RequestId,
    procedure: &Procedure,
    payload: Option<Value>,
    message_headers: &[(String, String)],
    acks: &Notify,
) -> Result<Option<Value>, Cause> {
    let caller = match procedure.access() {
        Access::Public => Caller::Anonymous,
        access => {
            let headers = merge_headers(&conn.transport_headers, message_headers);
            let resolver = conn.endpoint.resolver.as_deref();
            let members = conn.endpoint.members.as_deref();
            resolve_caller(access, resolver, members, &headers)
                .await
                .map_err(RpcError::into_cause)?
        }
    };
    let span = Span::current();
    match &caller {
        Caller::Anonymous => {}
        Caller::User(user) => {
            span.record("enduser.id", user.user.id.as_str());
            if let Some(organization) = &user.organization {
                span.record("org.id", organization.id.as_str());
            }
        }
        Caller::Member(member) => {
            span.record("enduser.id", member.user_id().as_str());
            span.record("org.id", member.org_id().as_str());
        }
    }
    match procedure.invoke(conn.endpoint.ctx.clone(), caller, payload) {
        Invocation::Unary(call) => call.await,
        Invocation::Stream(elements) => send_chunks(conn, id, elements, acks).await.map(|()| None),
    }
}

/// Sends the stream's elements as Chunks; over WebSocket, one Chunk in flight at a time.
async fn send_chunks(
    conn: &Shared,
    id: &RequestId,
    elements: futures::stream::BoxStream<'static, Result<Value, Cause>>,
    acks: &Notify,
) -> Result<(), Cause> {
    let mut batches = elements.ready_chunks(MAX_VALUES_PER_CHUNK);
    while let Some(batch) = batches.next().await {
        let mut values = Vec::with_capacity(batch.len());
        let mut failure = None;
        for element in batch {
            match element {
                Ok(value) => values.push(value),
                Err(cause) => {
                    failure = Some(cause);
                    break;
                }
            }
        }
        if !values.is_empty() {
            let chunk = ServerMessage::Chunk {
                request_id: id.clone(),
                values,
            };
            conn.send(chunk)
                .await
                .map_err(|Closed| conn.interruption())?;
            if conn.transport == Transport::WebSocket {
                acks.notified().await;
            }
        }
        if let Some(cause) = failure {
            return Err(cause);
        }
    }
    Ok(())
}

/// Transport headers first, then the message's own; on a clash the message wins (§6).
/// Malformed message headers are skipped.
fn merge_headers(transport: &HeaderMap, message: &[(String, String)]) -> HeaderMap {
    let mut merged = transport.clone();
    for (name, value) in message {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            merged.insert(name, value);
        }
    }
    merged
}

/// One log line per failed call, with `rpc.method`: typed failures at info, defects at warn,
/// interruptions at debug (the client asked for them).
fn log_failure(tag: &str, cause: &Cause) {
    match cause {
        Cause::Interrupt { .. } => tracing::debug!(rpc.method = tag, "RPC call interrupted"),
        Cause::Fail { .. } => {
            tracing::info!(rpc.method = tag, cause = %cause.summary(), "RPC call failed")
        }
        _ => {
            Span::current().record("otel.status_code", "ERROR");
            tracing::warn!(rpc.method = tag, cause = %cause.summary(), "RPC call failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_headers_win_over_transport_headers() {
        let mut transport = HeaderMap::new();
        transport.insert(
            "authorization",
            HeaderValue::from_static("Bearer transport"),
        );
        transport.insert("cookie", HeaderValue::from_static("a=1"));
        let merged = merge_headers(
            &transport,
            &[
                ("authorization".into(), "Bearer message".into()),
                ("bad header".into(), "x".into()),
            ],
        );
        assert_eq!(merged["authorization"], "Bearer message");
        assert_eq!(merged["cookie"], "a=1");
        assert_eq!(merged.len(), 2);
    }
}

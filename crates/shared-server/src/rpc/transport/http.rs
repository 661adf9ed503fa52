//! The HTTP transport (effect-rpc-protocol.md §4.1): each POST is its own connection. The body's
//! messages are processed as they arrive; the answer is always 200, NDJSON (streamed, ASCII-only,
//! one line per message) when the request's content type says `ndjson`, else one JSON array sent
//! when every request of the body has its Exit. A client that goes away interrupts its calls.

use std::convert::Infallible;
use std::sync::Arc;

use crate::rpc::Cause;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::mpsc;
use tracing::{Instrument, Span};

use super::codec::{self, Line, LineSplitter};
use super::connection::{CloseOnDrop, Connection, Endpoint, Replies, Transport, OUTBOX_CAPACITY};
use super::message::ServerMessage;

const NDJSON: &str = "application/ndjson";
const JSON: &str = "application/json";

/// Replies already produced are written together, up to about this many bytes per write.
const BATCH_BYTES: usize = 64 * 1024;

pub(crate) async fn serve_post(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("ndjson"));
    let max_frame_bytes = endpoint.limits.max_frame_bytes;
    let (outbox, replies) = mpsc::channel(OUTBOX_CAPACITY);
    let connection = Connection::open(endpoint, Transport::Http, headers, outbox, Span::current());
    let close_on_drop = CloseOnDrop(connection.closing());
    tokio::spawn(read_body(connection, body, ndjson, max_frame_bytes).in_current_span());
    if ndjson {
        ndjson_response(replies, close_on_drop)
    } else {
        json_response(replies, close_on_drop, max_frame_bytes).await
    }
}

/// Feeds the body to the connection; dropping the connection afterwards is the Eof.
async fn read_body(connection: Connection, body: Body, ndjson: bool, max_frame_bytes: usize) {
    let closing = connection.closing();
    let mut chunks = body.into_data_stream();
    let mut splitter = LineSplitter::new(max_frame_bytes);
    let mut json = JsonBody::new(max_frame_bytes);
    loop {
        let chunk = tokio::select! {
            chunk = chunks.next() => chunk,
            () = closing.closed() => return,
        };
        let bytes = match chunk {
            Some(Ok(bytes)) => bytes,
            Some(Err(error)) => {
                tracing::debug!(%error, "RPC request body failed");
                closing.close(Cause::interrupted_by_client());
                return;
            }
            None => break,
        };
        if ndjson {
            for line in splitter.push(&bytes) {
                if connection.receive(line).await.is_err() {
                    return;
                }
            }
        } else if !json.push(&bytes) {
            break; // Over the limit: answer now, the rest is not needed.
        }
    }
    let last = if ndjson {
        splitter.finish()
    } else {
        Some(json.finish())
    };
    if let Some(line) = last {
        let _ = connection.receive(line).await;
    }
}

/// A JSON body is one message: buffered up to the limit, then only counted.
struct JsonBody {
    max: usize,
    bytes: Vec<u8>,
    oversized: bool,
}

impl JsonBody {
    fn new(max: usize) -> Self {
        Self {
            max,
            bytes: Vec::new(),
            oversized: false,
        }
    }

    /// Whether the body still fits the limit after `chunk` (the first bytes are kept anyway, to
    /// find the request id).
    fn push(&mut self, chunk: &[u8]) -> bool {
        if self.bytes.len() + chunk.len() > self.max {
            self.oversized = true;
            let room = codec::SNIFFED_PREFIX_BYTES.saturating_sub(self.bytes.len());
            self.bytes
                .extend_from_slice(&chunk[..room.min(chunk.len())]);
            return false;
        }
        self.bytes.extend_from_slice(chunk);
        true
    }

    fn finish(self) -> Line {
        if self.oversized {
            Line::Oversized {
                bytes: self.max + 1,
                request_id: codec::sniff_request_id(&self.bytes),
            }
        } else {
            Line::Complete(self.bytes)
        }
    }
}

fn ndjson_response(replies: Replies, close_on_drop: CloseOnDrop) -> Response {
    let lines = futures::stream::unfold(
        (replies, close_on_drop),
        |(mut replies, close_on_drop)| async move {
            let first = replies.recv().await?;
            let mut body = Vec::new();
            codec::write_line(&mut body, &first.message, true);
            while body.len() < BATCH_BYTES {
                match replies.try_recv() {
                    Ok(reply) => codec::write_line(&mut body, &reply.message, true),
                    Err(_) => break,
                }
            }
            Some((
                Ok::<_, Infallible>(Bytes::from(body)),
                (replies, close_on_drop),
            ))
        },
    );
    with_content_type(NDJSON, Body::from_stream(lines))
}

/// Collects every reply into one array. Chunks past the frame limit are dropped and the calls
/// still running end with a `Die` saying why, so memory stays bounded.
async fn json_response(
    mut replies: Replies,
    close_on_drop: CloseOnDrop,
    max_frame_bytes: usize,
) -> Response {
    let mut messages = Vec::new();
    let mut total = 0usize;
    let mut overflowed = false;
    while let Some(reply) = replies.recv().await {
        let message = reply.message;
        let is_chunk = matches!(message, ServerMessage::Chunk { .. });
        if is_chunk && overflowed {
            continue;
        }
        let mut encoded = Vec::new();
        codec::write_json(&mut encoded, &message, false);
        if is_chunk && total + encoded.len() > max_frame_bytes {
            overflowed = true;
            close_on_drop.0.close(Cause::die(format!(
                "The response exceeds {max_frame_bytes} bytes, the limit of the JSON serialization; \
                 use NDJSON or WebSocket for large streams"
            )));
            continue;
        }
        total += encoded.len() + 1;
        messages.push(encoded);
    }
    drop(close_on_drop);
    with_content_type(JSON, Body::from(codec::json_array(&messages)))
}

fn with_content_type(content_type: &'static str, body: Body) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

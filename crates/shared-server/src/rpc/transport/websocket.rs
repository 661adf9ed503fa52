//! The WebSocket transport (effect-rpc-protocol.md §4.2, §4.3): one connection multiplexes any
//! number of calls. NDJSON lines may span frames and frames may hold several lines; replies go
//! out as text frames, several ready ones per frame. The upgrade request's headers count for
//! every call. A socket that shows no sign of life (no frame at all, the client's RPC `Ping`
//! included) gets a WebSocket ping after half the idle timeout and is closed after all of it.

use std::sync::Arc;

use crate::rpc::Cause;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{Instrument, Span};

use super::codec::{self, LineSplitter};
use super::connection::{
    Closing, Connection, Endpoint, Outgoing, Replies, Transport, OUTBOX_CAPACITY,
};
use super::limits::RpcLimits;

/// Replies already produced are sent in one frame, up to about this many bytes.
const BATCH_BYTES: usize = 64 * 1024;

/// Close codes (RFC 6455 §7.4.1).
const GOING_AWAY: u16 = 1001;
const POLICY_VIOLATION: u16 = 1008;
const MESSAGE_TOO_BIG: u16 = 1009;

pub(crate) async fn serve_upgrade(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let cap = endpoint.limits.websocket_message_cap();
    let span = tracing::debug_span!("rpc.websocket", rpc.service = endpoint.group.name());
    upgrade
        .max_message_size(cap)
        .max_frame_size(cap)
        .on_upgrade(move |socket| run(endpoint, headers, socket).instrument(span))
}

/// Why the reading side stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    ClientClosed,
    Idle,
    TooLarge,
    NotReading,
    Shutdown,
}

impl End {
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::ClientClosed => return None,
            End::Idle => (GOING_AWAY, "idle timeout"),
            End::TooLarge => (MESSAGE_TOO_BIG, "message too big"),
            End::NotReading => (POLICY_VIOLATION, "replies are not read"),
            End::Shutdown => (GOING_AWAY, "server shutting down"),
        };
        Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })
    }
}

/// What the reader asks the writer to send besides replies.
enum Control {
    Ping,
    Close(CloseFrame),
}

async fn run(endpoint: Arc<Endpoint>, headers: HeaderMap, socket: WebSocket) {
    let limits = endpoint.limits;
    let endpoint_shutdown = endpoint.shutdown.clone();
    let (sink, stream) = socket.split();
    let (outbox, replies) = mpsc::channel(OUTBOX_CAPACITY);
    let (control, commands) = mpsc::channel(4);
    // Calls without the caller's trace ids are root spans: the upgrade request is long over.
    let connection = Connection::open(
        endpoint,
        Transport::WebSocket,
        headers,
        outbox,
        Span::none(),
    );
    let closing = connection.closing();
    let writer = tokio::spawn(
        write_frames(
            sink,
            replies,
            commands,
            closing.clone(),
            connection.send_timeout(),
        )
        .in_current_span(),
    );
    let end = tokio::select! {
        end = read_frames(stream, &connection, &control, &limits) => end,
        () = endpoint_shutdown.cancelled() => End::Shutdown,
    };
    tracing::debug!(reason = ?end, "RPC WebSocket ends");
    closing.close(Cause::interrupted_by_shutdown());
    if let Some(frame) = end.close_frame() {
        let _ = control.try_send(Control::Close(frame));
    }
    drop(connection);
    drop(control);
    let _ = writer.await;
}

async fn read_frames(
    mut stream: SplitStream<WebSocket>,
    connection: &Connection,
    control: &mpsc::Sender<Control>,
    limits: &RpcLimits,
) -> End {
    let closing = connection.closing();
    let mut splitter = LineSplitter::new(limits.max_frame_bytes);
    let mut last_seen = Instant::now();
    let mut pinged = false;
    loop {
        let quiet_for = if pinged {
            limits.idle_timeout
        } else {
            limits.idle_timeout / 2
        };
        let frame = tokio::select! {
            frame = stream.next() => frame,
            () = tokio::time::sleep_until(last_seen + quiet_for) => {
                if pinged {
                    return End::Idle;
                }
                pinged = true;
                let _ = control.try_send(Control::Ping);
                continue;
            }
            () = closing.closed() => return End::NotReading,
        };
        last_seen = Instant::now();
        pinged = false;
        let message = match frame {
            None | Some(Ok(Message::Close(_))) => return End::ClientClosed,
            Some(Err(error)) => {
                tracing::debug!(%error, "RPC WebSocket read failed");
                return if error.to_string().contains("too long") {
                    End::TooLarge
                } else {
                    End::ClientClosed
                };
            }
            Some(Ok(message)) => message,
        };
        let bytes: &[u8] = match &message {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
            _ => continue, // control frames only count as signs of life
        };
        for line in splitter.push(bytes) {
            if connection.receive(line).await.is_err() {
                return End::NotReading;
            }
        }
    }
}

async fn write_frames(
    mut sink: SplitSink<WebSocket, Message>,
    mut replies: Replies,
    mut commands: mpsc::Receiver<Control>,
    closing: Arc<Closing>,
    send_timeout: std::time::Duration,
) {
    let mut commands_open = true;
    loop {
        let frame = tokio::select! {
            biased;
            command = commands.recv(), if commands_open => match command {
                Some(Control::Ping) => Message::Ping(Default::default()),
                Some(Control::Close(frame)) => {
                    let _ = tokio::time::timeout(send_timeout, sink.send(Message::Close(Some(frame)))).await;
                    return;
                }
                None => {
                    commands_open = false;
                    continue;
                }
            },
            reply = replies.recv() => match reply {
                Some(reply) => Message::Text(batch(reply, &mut replies)),
                None => return,
            },
        };
        match tokio::time::timeout(send_timeout, sink.send(frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(%error, "RPC WebSocket write failed");
                closing.close(Cause::interrupted_by_shutdown());
                return;
            }
            Err(_) => {
                tracing::warn!("RPC client is not reading its WebSocket; closing it");
                closing.close(Cause::interrupted_by_shutdown());
                return;
            }
        }
    }
}

/// `first` and the replies already waiting, as NDJSON lines in one text frame.
fn batch(first: Outgoing, replies: &mut Replies) -> Utf8Bytes {
    let mut lines = Vec::new();
    codec::write_line(&mut lines, &first.message, false);
    while lines.len() < BATCH_BYTES {
        match replies.try_recv() {
            Ok(reply) => codec::write_line(&mut lines, &reply.message, false),
            Err(_) => break,
        }
    }
    // serde_json writes UTF-8; the lossy path is never taken.
    match String::from_utf8(lines) {
        Ok(text) => Utf8Bytes::from(text),
        Err(error) => Utf8Bytes::from(String::from_utf8_lossy(error.as_bytes()).into_owned()),
    }
}

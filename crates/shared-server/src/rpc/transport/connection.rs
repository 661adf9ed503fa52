//! One RPC connection: a WebSocket, or one HTTP request (effect-rpc-protocol.md §0). It decodes
//! incoming lines, starts calls, routes `Ack` and `Interrupt` to them, answers `Ping`, and owns
//! the bounded outbox every reply goes through, so a client that does not read stalls its own
//! connection (and is then closed) instead of growing the server's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use crate::auth::{AuthResolver, OrgMembers};
use crate::rpc::{Cause, Defect, RpcGroup};
use crate::Context;
use axum::http::HeaderMap;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Span;

use super::call;
use super::codec::Line;
use super::limits::RpcLimits;
use super::message::{self, ClientMessage, Rejected, Request, RequestId, ServerMessage};
use super::trace::TraceJoin;

/// Replies waiting for the transport's writer, per connection.
pub(crate) const OUTBOX_CAPACITY: usize = 128;

/// A reply on its way to the transport's writer. An Exit carries its call's slot: the slot is
/// free once the writer took the Exit, so before the client can see it, and a call waiting to
/// queue its Exit still counts against the in-flight limit.
pub(crate) struct Outgoing {
    pub message: ServerMessage,
    _slot: Option<OwnedSemaphorePermit>,
}

pub(crate) type Replies = mpsc::Receiver<Outgoing>;

/// One group as served: its procedures, the services handlers get, and the limits.
pub(crate) struct Endpoint {
    pub group: RpcGroup,
    pub ctx: Context,
    pub resolver: Option<Arc<dyn AuthResolver>>,
    pub members: Option<Arc<dyn OrgMembers>>,
    pub trace_join: Option<Arc<dyn TraceJoin>>,
    pub limits: RpcLimits,
    /// Cancelled when the server shuts down: WebSockets close (see `RpcShutdown`).
    pub shutdown: CancellationToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Streams wait for one `Ack` per `Chunk`.
    WebSocket,
    /// No Acks ever come: streams rely on TCP flow control.
    Http,
}

/// The connection is closed or its client stopped reading: stop working for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

/// Ending a connection: its calls are interrupted with `cause`. Shared separately from the
/// outbox so that holding it does not keep the reply stream open.
#[derive(Debug, Default)]
pub(crate) struct Closing {
    token: CancellationToken,
    cause: OnceLock<Cause>,
}

impl Closing {
    /// Interrupts every call; the first cause given wins.
    pub(crate) fn close(&self, cause: Cause) {
        let _ = self.cause.set(cause);
        self.token.cancel();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.token.is_cancelled()
    }

    pub(crate) async fn closed(&self) {
        self.token.cancelled().await
    }
}

/// Interrupts the connection's calls when dropped: HTTP responses hold one, so a client that
/// goes away interrupts what it asked for.
pub(crate) struct CloseOnDrop(pub Arc<Closing>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close(Cause::interrupted_by_client());
    }
}

/// How the reader reaches a running call, and the call's in-flight slot.
pub(crate) struct CallControl {
    pub cancel: CancellationToken,
    pub acks: Arc<Notify>,
    pub slot: OwnedSemaphorePermit,
}

/// What the reader keeps of a running call.
struct CallHandle {
    cancel: CancellationToken,
    acks: Arc<Notify>,
}

/// State shared by the reader and the connection's calls. The outbox sender lives here: the
/// reply stream ends once the reader and every call have let go of it.
pub(crate) struct Shared {
    pub endpoint: Arc<Endpoint>,
    pub transport: Transport,
    pub transport_headers: HeaderMap,
    /// Parent of the call spans that do not carry the caller's trace (HTTP: the request span).
    pub span: Span,
    pub closing: Arc<Closing>,
    outbox: mpsc::Sender<Outgoing>,
    calls: Mutex<HashMap<RequestId, CallHandle>>,
    slots: Arc<Semaphore>,
}

impl Shared {
    /// Queues a reply, waiting at most the send timeout for room; a client that does not read
    /// for that long gets its connection closed.
    pub(crate) async fn send(&self, message: ServerMessage) -> Result<(), Closed> {
        self.queue(Outgoing {
            message,
            _slot: None,
        })
        .await
    }

    /// Queues a call's Exit, which frees its slot once the writer takes it.
    pub(crate) async fn send_exit(
        &self,
        message: ServerMessage,
        slot: OwnedSemaphorePermit,
    ) -> Result<(), Closed> {
        self.queue(Outgoing {
            message,
            _slot: Some(slot),
        })
        .await
    }

    async fn queue(&self, outgoing: Outgoing) -> Result<(), Closed> {
        let timeout = self.endpoint.limits.send_timeout;
        match tokio::time::timeout(timeout, self.outbox.send(outgoing)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Closed),
            Err(_) => {
                if !self.closing.is_closed() {
                    tracing::warn!(
                        send_timeout_s = timeout.as_secs_f64(),
                        "RPC client is not reading its replies; closing the connection"
                    );
                }
                self.closing.close(Cause::interrupted_by_shutdown());
                Err(Closed)
            }
        }
    }

    /// Why an interrupted call ended: the client's `Interrupt`, or the connection's end.
    pub(crate) fn interruption(&self) -> Cause {
        match self.closing.cause.get() {
            Some(cause) if self.closing.is_closed() => cause.clone(),
            _ => Cause::interrupted_by_client(),
        }
    }

    /// A call ended: Acks and Interrupts for its id are ignored from now on, and the id may be
    /// reused once its Exit is out.
    pub(crate) fn forget(&self, id: &RequestId) {
        self.calls().remove(id);
    }

    fn calls(&self) -> MutexGuard<'_, HashMap<RequestId, CallHandle>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The reader's handle on a connection.
pub(crate) struct Connection(Arc<Shared>);

impl Connection {
    pub(crate) fn open(
        endpoint: Arc<Endpoint>,
        transport: Transport,
        transport_headers: HeaderMap,
        outbox: mpsc::Sender<Outgoing>,
        span: Span,
    ) -> Self {
        let slots = endpoint.limits.max_in_flight.min(Semaphore::MAX_PERMITS);
        let slots = Arc::new(Semaphore::new(slots));
        Connection(Arc::new(Shared {
            endpoint,
            transport,
            transport_headers,
            span,
            closing: Arc::new(Closing::default()),
            outbox,
            calls: Mutex::new(HashMap::new()),
            slots,
        }))
    }

    pub(crate) fn closing(&self) -> Arc<Closing> {
        self.0.closing.clone()
    }

    pub(crate) fn send_timeout(&self) -> Duration {
        self.0.endpoint.limits.send_timeout
    }

    /// Processes one input line; `Err` when the connection can no longer answer.
    pub(crate) async fn receive(&self, line: Line) -> Result<(), Closed> {
        match line {
            Line::Complete(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(()),
            Line::Complete(bytes) => match message::decode(&bytes) {
                Ok(message) => self.handle(message).await,
                Err(Rejected::Defect(defect)) => self.defect(defect).await,
                Err(Rejected::Request { id, message }) => self.reject(id, message).await,
            },
            Line::Oversized { bytes, request_id } => {
                let limit = self.0.endpoint.limits.max_frame_bytes;
                tracing::debug!(bytes, limit, "RPC message over the frame limit");
                let text =
                    format!("Message exceeds the limit of {limit} bytes (APP_RPC_MAX_FRAME_BYTES)");
                match request_id {
                    Some(id) => self.reject(id, text).await,
                    None => self.defect(Defect::Message(text)).await,
                }
            }
        }
    }

    async fn handle(&self, message: ClientMessage) -> Result<(), Closed> {
        match message {
            ClientMessage::Request(request) => self.start(request).await,
            ClientMessage::Ack(id) => {
                if let Some(call) = self.0.calls().get(&id) {
                    call.acks.notify_one();
                }
                Ok(())
            }
            ClientMessage::Interrupt(id) => {
                if let Some(call) = self.0.calls().get(&id) {
                    call.cancel.cancel();
                }
                Ok(())
            }
            ClientMessage::Ping => self.0.send(ServerMessage::Pong).await,
            // Eof changes nothing on a WebSocket; on HTTP the end of the body is the Eof.
            ClientMessage::Eof | ClientMessage::Ignored => Ok(()),
        }
    }

    async fn start(&self, request: Request) -> Result<(), Closed> {
        let Some(procedure) = self.0.endpoint.group.procedure(&request.tag).cloned() else {
            // Per request rather than the reference's Defect, which would fail every call of
            // the client (effect-rpc-protocol.md §4.4 allows this).
            let text = format!("Unknown request tag: {}", message::truncate(&request.tag));
            return self.reject(request.id, text).await;
        };
        let limit = self.0.endpoint.limits.max_in_flight;
        let admitted = {
            let mut calls = self.0.calls();
            if calls.contains_key(&request.id) {
                Err(None)
            } else if let Ok(slot) = self.0.slots.clone().try_acquire_owned() {
                let control = CallControl {
                    cancel: self.0.closing.token.child_token(),
                    acks: Arc::new(Notify::new()),
                    slot,
                };
                let handle = CallHandle {
                    cancel: control.cancel.clone(),
                    acks: control.acks.clone(),
                };
                calls.insert(request.id.clone(), handle);
                Ok(control)
            } else {
                Err(Some(format!(
                    "Too many requests in flight on this connection (limit {limit}, APP_RPC_MAX_IN_FLIGHT)"
                )))
            }
        };
        match admitted {
            Ok(control) => {
                tokio::spawn(call::run(self.0.clone(), request, procedure, control));
                Ok(())
            }
            Err(Some(text)) => self.reject(request.id, text).await,
            // Undefined by the protocol; an Exit would end the running call on the client.
            Err(None) => {
                let text = format!("Duplicate request id: {}", request.id);
                self.defect(Defect::Message(text)).await
            }
        }
    }

    /// Answers a request that will not run with its Exit, a `Die` saying why (or with a Defect
    /// if that id is running, since an Exit would end the other call on the client).
    async fn reject(&self, id: RequestId, message: String) -> Result<(), Closed> {
        tracing::debug!(rpc.request_id = %id, reason = %message, "RPC request rejected");
        if self.0.calls().contains_key(&id) {
            return self.defect(Defect::Message(message)).await;
        }
        self.0
            .send(ServerMessage::failure(id, Cause::die(message)))
            .await
    }

    async fn defect(&self, defect: Defect) -> Result<(), Closed> {
        tracing::debug!(defect = %defect.message(), "RPC protocol error");
        self.0.send(ServerMessage::Defect { defect }).await
    }
}

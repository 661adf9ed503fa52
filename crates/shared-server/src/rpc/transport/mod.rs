//! The RPC transport: serves the slices' [`RpcGroup`]s in the Effect RPC wire protocol
//! (`shared/specs/effect-rpc-protocol.md`), so the original TypeScript clients call this server
//! unchanged. Each group answers at `/v1/<group>/rpc`:
//!
//! - `GET` + WebSocket upgrade: NDJSON frames, many concurrent calls per socket, stream
//!   back-pressure by `Ack`, cancellation by `Interrupt`, keep-alive by `Ping`/`Pong`;
//! - `POST` with a content type containing `ndjson`: NDJSON request body, streamed NDJSON reply;
//! - any other `POST`: one JSON message in, one JSON array of replies out.
//!
//! Calling `getHealth` by hand (what a benchmark needs):
//!
//! ```text
//! # HTTP / NDJSON (one POST per call; the reply is one line)
//! curl -s localhost:8080/v1/shared/rpc -H 'content-type: application/ndjson' \
//!   --data-binary $'{"_tag":"Request","id":"1","tag":"getHealth","headers":[]}\n'
//! {"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{"status":"ok"}}}
//!
//! # HTTP / JSON
//! curl -s localhost:8080/v1/shared/rpc -H 'content-type: application/json' \
//!   -d '{"_tag":"Request","id":"1","tag":"getHealth","headers":[]}'
//! [{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{"status":"ok"}}}]
//!
//! # WebSocket: send text frames, one line each, with ids unique among the calls in flight
//! > {"_tag":"Request","id":"1","tag":"getHealth","headers":[]}\n
//! < {"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{"status":"ok"}}}\n
//! ```
//!
//! Reading order: [`connection`] (one connection's state machine) → [`call`] (one call) →
//! [`http`] / [`websocket`] (the transports) → [`message`] / [`codec`] (the wire).

mod call;
mod codec;
mod connection;
mod http;
mod limits;
mod message;
pub mod trace;
mod websocket;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthResolver, OrgMembers};
use crate::rpc::RpcGroup;
use crate::Context;
use connection::Endpoint;
pub use limits::RpcLimits;
pub use trace::{CallerTrace, TraceJoin};

/// Ends every open RPC WebSocket when triggered (close code 1001, "server shutting down").
///
/// The HTTP server's graceful drain waits for requests, but an upgraded WebSocket is no longer a
/// request: without this, sockets would stay open until the process exits. Put one in the
/// context given to [`router`] and trigger it when shutdown begins; calls still running on those
/// sockets end as interrupted.
#[derive(Debug, Clone, Default)]
pub struct RpcShutdown(CancellationToken);

impl RpcShutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Closes every WebSocket of routers built with this signal.
    pub fn trigger(&self) {
        self.0.cancel();
    }

    pub(crate) fn token(&self) -> CancellationToken {
        self.0.clone()
    }
}

/// The routes of `groups`. Handlers receive `ctx` plus the services a group was bound to; the
/// [`AuthResolver`] in that context (if any) authenticates calls to protected procedures, and
/// without one they all fail with `Unauthorized`; [`OrgMembers`] resolves the membership of
/// organization-scoped calls, and a [`TraceJoin`] (if any) joins calls to their callers' traces.
pub fn router(
    groups: impl IntoIterator<Item = RpcGroup>,
    ctx: Context,
    limits: RpcLimits,
) -> Router {
    let mut router = Router::new();
    for group in groups {
        let mut services = ctx.clone();
        if let Some(bound) = group.context() {
            services.merge(bound);
        }
        let resolver = services.get::<dyn AuthResolver>().ok();
        let members = services.get::<dyn OrgMembers>().ok();
        let trace_join = services.get::<dyn TraceJoin>().ok();
        let shutdown = services
            .get::<RpcShutdown>()
            .map(|signal| signal.token())
            .unwrap_or_default();
        let path = group.path();
        let endpoint = Arc::new(Endpoint {
            group,
            ctx: services,
            resolver,
            members,
            trace_join,
            limits,
            shutdown,
        });
        let methods = get(websocket::serve_upgrade)
            .post(http::serve_post)
            .with_state(endpoint);
        router = router.route(&path, methods);
    }
    router
}

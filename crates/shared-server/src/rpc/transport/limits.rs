//! What one RPC connection may consume, configurable (`APP_RPC_*`): the limits are answered with
//! protocol errors on the offending request, not by dropping the connection.

use std::time::Duration;

/// Per-connection limits of the RPC transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcLimits {
    /// Largest message (one NDJSON line, or one HTTP JSON body) processed; a larger Request
    /// fails alone with a `Die` naming the limit. WebSocket messages over twice this size close
    /// the socket with 1009, as the reference does for oversized input.
    pub max_frame_bytes: usize,
    /// Calls running at once on one connection; the next Request fails with a `Die` until one
    /// ends.
    pub max_in_flight: usize,
    /// A WebSocket with no inbound traffic for half of this gets a WebSocket ping; after all of
    /// it, it is closed (1001). The real client sends an RPC `Ping` every 10 s.
    pub idle_timeout: Duration,
    /// How long a reply may wait for a client that does not read before the connection is
    /// closed (its calls interrupted).
    pub send_timeout: Duration,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 16 * 1024 * 1024,
            max_in_flight: 256,
            idle_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(30),
        }
    }
}

impl RpcLimits {
    /// The WebSocket layer's own cap on one message (and one fragment).
    pub(crate) fn websocket_message_cap(&self) -> usize {
        self.max_frame_bytes.saturating_mul(2).max(64 * 1024)
    }
}

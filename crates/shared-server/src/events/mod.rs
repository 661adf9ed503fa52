//! `EventHub` (slices.md §1.3): topic-based fan-out of server events to live streams
//! (`eventStream_connect`, §1.7). Topics are `user:<userId>` and `batch:<batchId>`; an event is
//! a JSON object with a `_tag` (`Files.Uploaded`, ...).
//!
//! - [`InProcessHub`]: fan-out inside one process (the default, and SQLite's only form);
//! - [`PgRelayHub`]: the same, plus a relay between instances through PostgreSQL
//!   `LISTEN/NOTIFY` on channel `shared_events`;
//! - [`stream`]: the batching, keep-alive stream `eventStream_connect` answers with.
//!
//! A subscription holds a bounded buffer of [`SUBSCRIBER_BUFFER`] events: a consumer that falls
//! further behind loses the oldest ones (logged at `warn` with the count). Dropping the
//! [`Subscription`] releases it; a topic without subscribers costs nothing.

mod in_process;
mod pg_relay;
pub mod stream;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::entities::{File, UserId};

pub use in_process::{InProcessHub, Received, Subscription};
pub use pg_relay::{compact_event, PgRelayHub, NOTIFY_CHANNEL, NOTIFY_PAYLOAD_LIMIT};
pub use stream::{event_stream, keep_alive, EventStreamTiming};

/// Events a subscriber may have waiting before the oldest are dropped (§1.7).
pub const SUBSCRIBER_BUFFER: usize = 1000;

/// `Files.Uploaded`'s tag.
pub const FILES_UPLOADED: &str = "Files.Uploaded";

/// The topic of one user's events: `user:<userId>`.
pub fn user_topic(user: &UserId) -> String {
    format!("user:{user}")
}

/// The topic of a knowledge batch's progress: `batch:<batchId>`.
pub fn batch_topic(batch_id: &str) -> String {
    format!("batch:{batch_id}")
}

/// `{"_tag": "Files.Uploaded", "file": File}`.
pub fn files_uploaded(file: &File) -> Json {
    serde_json::json!({"_tag": FILES_UPLOADED, "file": file})
}

/// The event hub port.
#[async_trait]
pub trait EventHub: Send + Sync + 'static {
    /// Delivers `event` to every current subscriber of `topic` (in this process and, for a
    /// relaying hub, in the others). Never fails the caller: relay faults are logged.
    async fn publish(&self, topic: &str, event: Json);

    /// Subscribes to `topic` from now on.
    fn subscribe(&self, topic: &str) -> Subscription;

    /// How many subscriptions of `topic` are alive in this process.
    fn subscriber_count(&self, topic: &str) -> usize;
}

//! [`PgRelayHub`]: the event hub of several instances on one PostgreSQL (slices.md §1.3).
//!
//! Publishing delivers to this process's subscribers at once and sends `NOTIFY shared_events`
//! with `{topic, event, origin}`; every instance `LISTEN`s on that channel and delivers what
//! other instances sent (its own notifications are skipped: they were delivered already).
//! PostgreSQL refuses payloads of 8000 bytes or more, so a larger event is relayed in its
//! compact form ([`compact_event`]: the tag and the ids of what it is about).
//!
//! The listener has its own connection. When that connection is lost (database restart,
//! terminated backend, network cut) sqlx's `PgListener` reconnects and listens again by itself;
//! notifications sent while it was away are not replayed (PostgreSQL keeps none for an absent
//! listener): streams on this instance miss the other instances' events of that gap, their own
//! instance's events still arrive, and keep-alives continue throughout.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value as Json};
use sqlx::postgres::{PgListener, PgPool};
use tokio_util::sync::CancellationToken;

use super::{EventHub, InProcessHub, Subscription};

/// The `LISTEN/NOTIFY` channel of server events.
pub const NOTIFY_CHANNEL: &str = "shared_events";

/// PostgreSQL's limit on a notification payload, in bytes (it refuses 8000 and more).
pub const NOTIFY_PAYLOAD_LIMIT: usize = 8000;

/// Pause before asking the listener again after a failed reconnection.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// The compact form of an event too large to relay: its `_tag`, its scalar fields, and of each
/// object field only its `id` (`{"_tag": "Files.Uploaded", "file": {"id": "shared_file__…"}}`).
pub fn compact_event(event: &Json) -> Json {
    let Some(fields) = event.as_object() else {
        return Json::Null;
    };
    let mut compact = Map::new();
    for (name, value) in fields {
        match value {
            Json::Object(inner) => {
                if let Some(id) = inner.get("id") {
                    compact.insert(name.clone(), json!({"id": id}));
                }
            }
            Json::Array(_) => {}
            scalar => {
                if scalar.as_str().is_none_or(|text| text.len() <= 256) {
                    compact.insert(name.clone(), scalar.clone());
                }
            }
        }
    }
    Json::Object(compact)
}

/// The relaying hub; [`PgRelayHub::start`] starts its listener.
pub struct PgRelayHub {
    local: InProcessHub,
    pool: PgPool,
    origin: String,
    stop: CancellationToken,
    listener: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for PgRelayHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRelayHub")
            .field("origin", &self.origin)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl PgRelayHub {
    /// Listens on [`NOTIFY_CHANNEL`] (failing when the database cannot be reached now) and
    /// relays from then on, until [`shutdown`](Self::shutdown).
    pub async fn start(pool: PgPool) -> Result<Arc<Self>, sqlx::Error> {
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        let hub = Arc::new(Self {
            local: InProcessHub::new(),
            pool,
            origin: uuid::Uuid::new_v4().simple().to_string(),
            stop: CancellationToken::new(),
            listener: tokio::sync::Mutex::new(None),
        });
        let task = tokio::spawn(listen(
            listener,
            hub.local.clone(),
            hub.origin.clone(),
            hub.stop.clone(),
        ));
        *hub.listener.lock().await = Some(task);
        Ok(hub)
    }

    /// Stops the listener and waits for it.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        if let Some(task) = self.listener.lock().await.take() {
            let _ = task.await;
        }
    }

    /// The notification payload of `event` on `topic`, compacted when too large; `None` when
    /// even the compact form does not fit.
    fn payload(&self, topic: &str, event: &Json) -> Option<String> {
        let full = json!({"topic": topic, "event": event, "origin": self.origin}).to_string();
        if full.len() < NOTIFY_PAYLOAD_LIMIT {
            return Some(full);
        }
        let compact = json!({"topic": topic, "event": compact_event(event), "origin": self.origin})
            .to_string();
        (compact.len() < NOTIFY_PAYLOAD_LIMIT).then_some(compact)
    }
}

#[async_trait]
impl EventHub for PgRelayHub {
    async fn publish(&self, topic: &str, event: Json) {
        let Some(payload) = self.payload(topic, &event) else {
            tracing::warn!(
                topic,
                "event too large to relay to other instances, even compacted"
            );
            self.local.deliver(topic, event);
            return;
        };
        self.local.deliver(topic, event);
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await;
        if let Err(error) = sent {
            tracing::warn!(topic, %error, "could not relay an event to other instances");
        }
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        self.local.subscribe(topic)
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        self.local.subscriber_count(topic)
    }
}

/// The listener loop: delivers other instances' notifications until `stop`.
async fn listen(
    mut listener: PgListener,
    local: InProcessHub,
    origin: String,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            _ = stop.cancelled() => return,
            next = listener.try_recv() => next,
        };
        match next {
            Ok(Some(notification)) => {
                let Ok(message) = serde_json::from_str::<Json>(notification.payload()) else {
                    tracing::warn!("ignoring a malformed notification on {NOTIFY_CHANNEL}");
                    continue;
                };
                if message["origin"].as_str() == Some(origin.as_str()) {
                    continue;
                }
                if let Some(topic) = message["topic"].as_str() {
                    local.deliver(topic, message["event"].clone());
                }
            }
            Ok(None) => tracing::warn!(
                "the event relay lost its PostgreSQL connection; reconnecting (events other \
                 instances publish meanwhile do not reach this instance's streams)"
            ),
            Err(error) => {
                tracing::warn!(%error, "the event relay cannot reach PostgreSQL; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(RECONNECT_PAUSE) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_events_keep_the_tag_scalars_and_ids() {
        let event = json!({
            "_tag": "Files.Uploaded",
            "file": {"id": "shared_file__1", "metadata": {"exif": "x".repeat(9000)}},
            "count": 3,
            "list": [1, 2],
        });
        assert_eq!(
            compact_event(&event),
            json!({"_tag": "Files.Uploaded", "file": {"id": "shared_file__1"}, "count": 3})
        );
    }
}

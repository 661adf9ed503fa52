//! The element stream of `eventStream_connect` (slices.md §1.7): domain events batched, up to 25
//! events or 50 ms after the first of a batch, whichever comes first, each batch one array; and
//! `[{"_tag": "Ka"}]` every 3 s regardless of traffic. The subscription lives inside the stream:
//! when the stream ends or is dropped (the client interrupted the call or the socket closed),
//! the subscription is released.

use std::time::Duration;

use futures::stream::{self, Stream};
use serde_json::{json, Value as Json};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::in_process::Received;
use super::Subscription;

/// The keep-alive event.
pub fn keep_alive() -> Json {
    json!({"_tag": "Ka"})
}

/// The batching and keep-alive rhythm (§1.7's values by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStreamTiming {
    pub batch_max: usize,
    pub batch_window: Duration,
    pub keep_alive: Duration,
}

impl Default for EventStreamTiming {
    fn default() -> Self {
        Self {
            batch_max: 25,
            batch_window: Duration::from_millis(50),
            keep_alive: Duration::from_secs(3),
        }
    }
}

struct State {
    subscription: Subscription,
    timing: EventStreamTiming,
    batch: Vec<Json>,
    deadline: Option<Instant>,
    keep_alive: Interval,
    ended: bool,
}

/// The stream of event arrays for `subscription`.
pub fn event_stream(
    subscription: Subscription,
    timing: EventStreamTiming,
) -> impl Stream<Item = Vec<Json>> + Send + 'static {
    let mut keep_alive =
        tokio::time::interval_at(Instant::now() + timing.keep_alive, timing.keep_alive);
    keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let state = State {
        subscription,
        timing,
        batch: Vec::new(),
        deadline: None,
        keep_alive,
        ended: false,
    };
    stream::unfold(state, |mut state| async move {
        let batch = next_batch(&mut state).await?;
        Some((batch, state))
    })
}

async fn next_batch(state: &mut State) -> Option<Vec<Json>> {
    if state.ended {
        return None;
    }
    loop {
        if state.batch.len() >= state.timing.batch_max {
            state.deadline = None;
            return Some(std::mem::take(&mut state.batch));
        }
        let deadline = state.deadline;
        tokio::select! {
            received = state.subscription.recv() => match received {
                Some(Received::Event(event)) => {
                    if state.batch.is_empty() {
                        state.deadline = Some(Instant::now() + state.timing.batch_window);
                    }
                    state.batch.push(event);
                }
                Some(Received::Dropped(dropped)) => tracing::warn!(
                    topic = state.subscription.topic(),
                    dropped,
                    "an event stream fell behind; its oldest events were dropped"
                ),
                None => {
                    state.ended = true;
                    return (!state.batch.is_empty()).then(|| std::mem::take(&mut state.batch));
                }
            },
            _ = sleep_until(deadline), if deadline.is_some() => {
                state.deadline = None;
                return Some(std::mem::take(&mut state.batch));
            }
            _ = state.keep_alive.tick() => return Some(vec![keep_alive()]),
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventHub, InProcessHub};
    use futures::StreamExt;

    #[tokio::test]
    async fn events_are_batched_by_count_and_by_time_with_keep_alives_between() {
        let hub = InProcessHub::new();
        let stream = event_stream(hub.subscribe("t"), EventStreamTiming::default());
        futures::pin_mut!(stream);

        for n in 0..30 {
            hub.publish("t", json!({"n": n})).await;
        }
        let first = stream.next().await.unwrap();
        assert_eq!(first.len(), 25, "a full batch goes at once");
        let started = Instant::now();
        let rest = stream.next().await.unwrap();
        assert_eq!(rest.len(), 5);
        assert_eq!(rest[0], json!({"n": 25}));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(50),
            "the rest after the window: {waited:?}"
        );
        assert!(waited < Duration::from_secs(2), "{waited:?}");

        let ka = stream.next().await.unwrap();
        assert_eq!(ka, vec![keep_alive()]);
        assert!(started.elapsed() >= Duration::from_millis(2900));
    }

    #[tokio::test]
    async fn dropping_the_stream_releases_the_subscription() {
        let hub = InProcessHub::new();
        let stream = event_stream(hub.subscribe("t"), EventStreamTiming::default());
        assert_eq!(hub.subscriber_count("t"), 1);
        drop(stream);
        assert_eq!(hub.subscriber_count("t"), 0);
    }
}

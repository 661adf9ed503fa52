//! In-process fan-out: each subscriber has its own queue of at most [`SUBSCRIBER_BUFFER`]
//! events; publishing appends to every queue of the topic, dropping a full queue's oldest event
//! (the subscriber is told how many it lost), so a slow consumer never slows the publisher or
//! the other subscribers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::sync::Notify;

use super::{EventHub, SUBSCRIBER_BUFFER};

/// One subscriber's bounded queue.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Notify,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<Json>,
    dropped: u64,
}

impl Queue {
    fn push(&self, event: Json) {
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.events.len() >= SUBSCRIBER_BUFFER {
                state.events.pop_front();
                state.dropped += 1;
            }
            state.events.push_back(event);
        }
        self.ready.notify_one();
    }

    fn pop(&self) -> Option<Received> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.dropped > 0 {
            return Some(Received::Dropped(std::mem::take(&mut state.dropped)));
        }
        state.events.pop_front().map(Received::Event)
    }
}

type Topics = HashMap<String, Vec<Arc<Queue>>>;

/// Fan-out inside this process.
#[derive(Clone, Default)]
pub struct InProcessHub {
    topics: Arc<Mutex<Topics>>,
}

impl std::fmt::Debug for InProcessHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessHub")
            .field("topics", &lock(&self.topics).len())
            .finish()
    }
}

fn lock(topics: &Mutex<Topics>) -> MutexGuard<'_, Topics> {
    topics
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl InProcessHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Delivers `event` to this process's subscribers of `topic`.
    pub fn deliver(&self, topic: &str, event: Json) {
        let queues: Vec<Arc<Queue>> = match lock(&self.topics).get(topic) {
            Some(queues) => queues.clone(),
            None => return,
        };
        if let Some((last, others)) = queues.split_last() {
            for queue in others {
                queue.push(event.clone());
            }
            last.push(event);
        }
    }

    /// How many topics have live subscribers.
    pub fn topic_count(&self) -> usize {
        lock(&self.topics).len()
    }
}

#[async_trait]
impl EventHub for InProcessHub {
    async fn publish(&self, topic: &str, event: Json) {
        self.deliver(topic, event);
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        let queue = Arc::new(Queue::default());
        lock(&self.topics)
            .entry(topic.to_owned())
            .or_default()
            .push(queue.clone());
        Subscription {
            topic: topic.to_owned(),
            queue,
            topics: self.topics.clone(),
        }
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        lock(&self.topics).get(topic).map_or(0, Vec::len)
    }
}

/// What one subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Event(Json),
    /// The subscriber fell behind and this many of the oldest events were dropped.
    Dropped(u64),
}

/// A live subscription to one topic; dropping it unsubscribes.
pub struct Subscription {
    topic: String,
    queue: Arc<Queue>,
    topics: Arc<Mutex<Topics>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .finish()
    }
}

impl Subscription {
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The next event, or how many were dropped since the last one. Waits for one; `None` is
    /// reserved for hubs that end their subscriptions (this one never does).
    pub async fn recv(&mut self) -> Option<Received> {
        loop {
            if let Some(received) = self.queue.pop() {
                return Some(received);
            }
            self.queue.ready.notified().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = lock(&self.topics);
        if let Some(queues) = topics.get_mut(&self.topic) {
            queues.retain(|queue| !Arc::ptr_eq(queue, &self.queue));
            if queues.is_empty() {
                topics.remove(&self.topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn events_reach_the_topic_subscribers_only() {
        let hub = InProcessHub::new();
        let mut ada = hub.subscribe("user:ada");
        let mut ada_too = hub.subscribe("user:ada");
        let mut bea = hub.subscribe("user:bea");
        hub.publish("user:ada", json!({"_tag": "X"})).await;
        assert_eq!(
            ada.recv().await,
            Some(Received::Event(json!({"_tag": "X"})))
        );
        assert_eq!(
            ada_too.recv().await,
            Some(Received::Event(json!({"_tag": "X"})))
        );
        hub.publish("user:bea", json!({"_tag": "Y"})).await;
        assert_eq!(
            bea.recv().await,
            Some(Received::Event(json!({"_tag": "Y"})))
        );
        assert_eq!(hub.subscriber_count("user:ada"), 2);
    }

    #[tokio::test]
    async fn a_slow_subscriber_loses_the_oldest_events_and_is_told() {
        let hub = InProcessHub::new();
        let mut slow = hub.subscribe("t");
        for n in 0..SUBSCRIBER_BUFFER + 5 {
            hub.publish("t", json!({"n": n})).await;
        }
        assert_eq!(slow.recv().await, Some(Received::Dropped(5)));
        assert_eq!(slow.recv().await, Some(Received::Event(json!({"n": 5}))));
    }

    #[tokio::test]
    async fn dropping_the_last_subscription_releases_the_topic() {
        let hub = InProcessHub::new();
        let first = hub.subscribe("t");
        let second = hub.subscribe("t");
        drop(first);
        assert_eq!(hub.subscriber_count("t"), 1);
        assert_eq!(hub.topic_count(), 1);
        drop(second);
        assert_eq!(hub.subscriber_count("t"), 0);
        assert_eq!(hub.topic_count(), 0);
        // Publishing to a topic nobody follows is a no-op.
        hub.publish("t", json!({})).await;
    }
}

//! `OutboxWorker`: delivers queued messages, one instance per server process.
//!
//! Each round it claims a batch of due rows under a lease (see `OutboxRepo::claim_due`), sends
//! them through the transport a few at a time, and records each outcome together with a
//! delivery-log line in one transaction, guarded by the lease:
//!
//! - success: `sent`, with the provider and its message id;
//! - transient error: back to `pending`, due after `min(base · 2^(attempts−1), max) ± 20 %`;
//! - permanent error, or the last attempt failing: `failed`, with the reason.
//!
//! A worker that dies mid-batch leaves its rows `sending`; once their lease expires any worker
//! claims them again (at-least-once delivery, with the same `Message-ID` every time). A graceful
//! stop lets in-flight sends finish for a grace period, then hands unfinished rows back. The
//! same loop deletes finished rows past their retention.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use shared_server::{Clock, Timestamp};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::{RetentionConfig, WorkerConfig};
use crate::entities::{DeliveryOutcome, NewDeliveryLogEntry, OutboxEmail, OutboxStatus};
use crate::error::CommsError;
use crate::host::hostname;
use crate::repos::{DeliveryLogRepo, OutboxRepo};
use crate::transport::{Delivery, EmailTransport, OutboundEmail, TransportError};

/// A lease is renewed before a send when less than the send timeout plus this is left.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Longest pause after repeated database errors.
const MAX_ERROR_PAUSE: Duration = Duration::from_secs(30);

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Rows whose lease another worker took over, or whose outcome could not be recorded
    /// (they are delivered again after the lease expires).
    pub lost: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retried,
    Failed,
    Lost,
}

/// Delivers the outbox; see the module documentation.
pub struct OutboxWorker {
    outbox: OutboxRepo,
    logs: DeliveryLogRepo,
    transport: Arc<dyn EmailTransport>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
    retention: RetentionConfig,
    owner: String,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker")
            .field("owner", &self.owner)
            .field("transport", &self.transport.name())
            .field("config", &self.config)
            .finish()
    }
}

impl OutboxWorker {
    /// A worker with a fresh instance id (`<hostname>:<pid>:<uuid>`); `wake` is what the
    /// mailer notifies after each send.
    pub fn new(
        outbox: OutboxRepo,
        logs: DeliveryLogRepo,
        transport: Arc<dyn EmailTransport>,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
        retention: RetentionConfig,
        wake: Arc<Notify>,
    ) -> Self {
        let owner = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            uuid::Uuid::now_v7()
        );
        Self {
            outbox,
            logs,
            transport,
            clock,
            config,
            retention,
            owner,
            wake,
        }
    }

    /// The lease owner this worker writes into claimed rows.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn transport(&self) -> &Arc<dyn EmailTransport> {
        &self.transport
    }

    /// Runs the next round now instead of after the poll interval.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One round: claims up to `batch_size` due rows and delivers them.
    pub async fn run_once(&self) -> Result<BatchReport, CommsError> {
        let now = self.clock.now();
        let rows = self
            .outbox
            .claim_due(&self.owner, now, self.config.batch_size, self.config.lease)
            .await?;
        let mut report = BatchReport {
            claimed: rows.len(),
            ..BatchReport::default()
        };
        if rows.is_empty() {
            return Ok(report);
        }
        let outcomes: Vec<Outcome> = futures::stream::iter(rows)
            .map(|row| self.deliver(row))
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Outcome::Sent => report.sent += 1,
                Outcome::Retried => report.retried += 1,
                Outcome::Failed => report.failed += 1,
                Outcome::Lost => report.lost += 1,
            }
        }
        tracing::debug!(owner = %self.owner, ?report, "outbox round");
        Ok(report)
    }

    /// Deletes sent rows older than the sent retention and failed/cancelled rows older than
    /// theirs; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, CommsError> {
        let now = self.clock.now();
        let mut deleted = self
            .outbox
            .purge(OutboxStatus::Sent, now.minus(self.retention.sent))
            .await?;
        for status in [OutboxStatus::Failed, OutboxStatus::Cancelled] {
            deleted += self
                .outbox
                .purge(status, now.minus(self.retention.failed))
                .await?;
        }
        if deleted > 0 {
            tracing::info!(deleted, "outbox retention: finished messages deleted");
        }
        Ok(deleted)
    }

    async fn deliver(&self, row: OutboxEmail) -> Outcome {
        let span = tracing::info_span!(
            "outbox.deliver",
            outbox_id = %row.id,
            attempt = row.attempts,
            transport = self.transport.name()
        );
        async move {
            if row.attempts > row.max_attempts {
                // A worker died during the last allowed attempt; the message may or may not
                // have left. Do not exceed the limit.
                let error = TransportError::transient(format!(
                    "attempt {} of {} was interrupted (the worker stopped); no attempts left",
                    row.attempts - 1,
                    row.max_attempts
                ));
                return self.finish(&row, Err(error), Duration::ZERO).await;
            }
            let email = match OutboundEmail::from_row(&row) {
                Ok(email) => email,
                Err(error) => return self.finish(&row, Err(error), Duration::ZERO).await,
            };
            if !self.keep_lease(&row).await {
                return Outcome::Lost;
            }
            let started = Instant::now();
            let result =
                match tokio::time::timeout(self.config.send_timeout, self.transport.send(&email))
                    .await
                {
                    Ok(result) => result,
                    Err(_) => Err(TransportError::transient(format!(
                        "no answer from the {} transport within {} s",
                        self.transport.name(),
                        self.config.send_timeout.as_secs()
                    ))),
                };
            self.finish(&row, result, started.elapsed()).await
        }
        .instrument(span)
        .await
    }

    /// Makes sure the lease outlasts the coming send; `false` when it was lost.
    async fn keep_lease(&self, row: &OutboxEmail) -> bool {
        let now = self.clock.now();
        let needed = now.plus(self.config.send_timeout + LEASE_MARGIN);
        if row.lease_until.is_some_and(|until| until >= needed) {
            return true;
        }
        match self
            .outbox
            .renew_lease(&self.owner, &row.id, now.plus(self.config.lease))
            .await
        {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(outbox_id = %row.id, "lease lost before sending; another worker has the message");
                false
            }
            Err(error) => {
                tracing::warn!(outbox_id = %row.id, %error, "cannot renew the lease; leaving the message to a later round");
                false
            }
        }
    }

    /// Records the outcome of an attempt and its log line in one transaction.
    async fn finish(
        &self,
        row: &OutboxEmail,
        result: Result<Delivery, TransportError>,
        took: Duration,
    ) -> Outcome {
        let (outcome, log_outcome, provider_message_id, error, retry_at) = match result {
            Ok(delivery) => (
                Outcome::Sent,
                DeliveryOutcome::Sent,
                delivery.provider_message_id,
                None,
                None,
            ),
            Err(error) if error.permanent || row.attempts >= row.max_attempts => (
                Outcome::Failed,
                DeliveryOutcome::Failed,
                None,
                Some(error.message),
                None,
            ),
            Err(error) => {
                let delay = backoff_delay(&self.config, row.attempts, jitter());
                (
                    Outcome::Retried,
                    DeliveryOutcome::Retry,
                    None,
                    Some(error.message),
                    Some(self.clock.now().plus(delay)),
                )
            }
        };
        let entry = NewDeliveryLogEntry {
            organization_id: row.organization_id.clone(),
            outbox_id: row.id.clone(),
            attempt: row.attempts,
            outcome: log_outcome,
            provider: self.transport.name().to_string(),
            provider_message_id: provider_message_id.clone(),
            error: error.as_deref().map(crate::repos::truncate_error),
            duration_ms: i32::try_from(took.as_millis()).unwrap_or(i32::MAX),
            worker: Some(self.owner.clone()),
        };
        let recorded = self
            .record(
                row,
                outcome,
                provider_message_id,
                error.clone(),
                retry_at,
                entry,
            )
            .await;
        match recorded {
            Ok(true) => {
                match outcome {
                    Outcome::Sent => {
                        tracing::info!(outbox_id = %row.id, attempt = row.attempts, "email sent")
                    }
                    Outcome::Retried => tracing::warn!(
                        outbox_id = %row.id,
                        attempt = row.attempts,
                        retry_at = %retry_at.map(|t| t.to_string()).unwrap_or_default(),
                        error = error.as_deref().unwrap_or_default(),
                        "email delivery failed; will retry"
                    ),
                    Outcome::Failed | Outcome::Lost => tracing::error!(
                        outbox_id = %row.id,
                        attempt = row.attempts,
                        error = error.as_deref().unwrap_or_default(),
                        "email delivery failed for good"
                    ),
                }
                outcome
            }
            Ok(false) => {
                tracing::warn!(outbox_id = %row.id, "lease lost during the send; the outcome was left to the worker that took over");
                Outcome::Lost
            }
            Err(error) => {
                tracing::error!(outbox_id = %row.id, %error, "cannot record the delivery outcome; the message will be retried after its lease expires");
                Outcome::Lost
            }
        }
    }

    async fn record(
        &self,
        row: &OutboxEmail,
        outcome: Outcome,
        provider_message_id: Option<String>,
        error: Option<String>,
        retry_at: Option<Timestamp>,
        entry: NewDeliveryLogEntry,
    ) -> Result<bool, CommsError> {
        let mut tx = self.outbox.db().begin().await?;
        let updated = {
            let mut conn = tx.conn();
            let error = error.unwrap_or_default();
            let updated = match (outcome, retry_at) {
                (Outcome::Sent, _) => {
                    self.outbox
                        .mark_sent(
                            &mut conn,
                            &self.owner,
                            &row.id,
                            self.transport.name(),
                            provider_message_id,
                        )
                        .await?
                }
                (Outcome::Retried, Some(at)) => {
                    self.outbox
                        .mark_retry(&mut conn, &self.owner, &row.id, at, &error)
                        .await?
                }
                _ => {
                    self.outbox
                        .mark_failed(&mut conn, &self.owner, &row.id, &error)
                        .await?
                }
            };
            if updated {
                self.logs.append(&mut conn, entry).await?;
            }
            updated
        };
        if updated {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(updated)
    }

    /// The delivery loop: rounds back to back while batches come back full, else one round per
    /// poll interval or wake-up; retention once per purge interval. Returns when `stop` fires
    /// (after the round in progress).
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        tracing::info!(owner = %self.owner, transport = self.transport.name(), "outbox worker started");
        let mut next_purge = Instant::now();
        let mut errors: u32 = 0;
        while !stop.is_cancelled() {
            if Instant::now() >= next_purge {
                if let Err(error) = self.purge_expired().await {
                    tracing::warn!(%error, "outbox retention failed; will try again later");
                }
                next_purge = Instant::now() + self.config.purge_interval;
            }
            let pause = match self.run_once().await {
                Ok(report) => {
                    errors = 0;
                    if report.claimed >= self.config.batch_size as usize {
                        continue;
                    }
                    self.config.poll_interval
                }
                Err(error) => {
                    errors = errors.saturating_add(1);
                    let pause = (self.config.poll_interval * 2u32.saturating_pow(errors.min(10)))
                        .min(MAX_ERROR_PAUSE);
                    // A database outage is logged once by the `Db` (issue 20); its rounds
                    // are only debug noise.
                    if matches!(&error, CommsError::Repo(repo) if repo.is_unavailable()) {
                        tracing::debug!(%error, retry_in_ms = pause.as_millis() as u64, "outbox worker round failed: database unavailable");
                    } else {
                        tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "outbox worker round failed");
                    }
                    pause
                }
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!(owner = %self.owner, "outbox worker stopped");
    }

    /// Spawns [`OutboxWorker::run`]; stop it with [`OutboxWorkerHandle::shutdown`].
    pub fn start(self: Arc<Self>) -> OutboxWorkerHandle {
        let stop = CancellationToken::new();
        let task = tokio::spawn(self.clone().run(stop.clone()));
        OutboxWorkerHandle {
            worker: self,
            stop,
            task: Mutex::new(Some(task)),
        }
    }
}

/// A running worker.
#[derive(Debug)]
pub struct OutboxWorkerHandle {
    worker: Arc<OutboxWorker>,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl OutboxWorkerHandle {
    pub fn worker(&self) -> &Arc<OutboxWorker> {
        &self.worker
    }

    /// Stops claiming, lets in-flight sends finish for the grace period (then abandons them),
    /// and hands every row this worker still holds back to the queue. Idempotent.
    pub async fn shutdown(&self) -> Result<(), CommsError> {
        self.stop.cancel();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(mut task) = task else {
            return Ok(());
        };
        let grace = self.worker.config.shutdown_grace;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "in-flight emails did not finish in time; their leases are released"
            );
        }
        let released = self
            .worker
            .outbox
            .release_leases(&self.worker.owner)
            .await?;
        if released > 0 {
            tracing::info!(released, "unfinished emails handed back to the outbox");
        }
        Ok(())
    }
}

/// The delay before attempt `attempts + 1`: `min(base · 2^(attempts−1), max)`, spread by
/// `jitter_unit` (in −1..=1) times the configured jitter fraction.
pub fn backoff_delay(config: &WorkerConfig, attempts: i32, jitter_unit: f64) -> Duration {
    let exponent = (attempts.max(1) - 1).min(30);
    let raw = config.backoff_base.as_secs_f64() * 2f64.powi(exponent);
    let capped = raw.min(config.backoff_max.as_secs_f64());
    let spread = 1.0 + config.backoff_jitter * jitter_unit.clamp(-1.0, 1.0);
    Duration::from_secs_f64((capped * spread).max(0.0))
}

/// A random number in −1..=1.
fn jitter() -> f64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[..8]);
    (u64::from_le_bytes(n) as f64 / u64::MAX as f64) * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let config = WorkerConfig::default();
        let secs = |attempts, jitter| backoff_delay(&config, attempts, jitter).as_secs_f64();
        assert_eq!(secs(1, 0.0), 30.0);
        assert_eq!(secs(2, 0.0), 60.0);
        assert_eq!(secs(4, 0.0), 240.0);
        assert_eq!(secs(20, 0.0), 3600.0, "capped at one hour");
        assert!((secs(1, 1.0) - 36.0).abs() < 1e-9 && (secs(1, -1.0) - 24.0).abs() < 1e-9);
        for _ in 0..100 {
            let j = jitter();
            assert!((-1.0..=1.0).contains(&j));
        }
    }
}

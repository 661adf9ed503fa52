//! `IamCleanup` (slices.md §2.2): the hourly housekeeping job. It deletes verification values
//! past their expiry and sessions that expired more than a day ago (recently expired ones are
//! kept a while so get-session can still clear their cookies). Deletes are idempotent, so the
//! job is safe with several instances running.

use std::sync::Arc;
use std::time::Duration;

use shared_server::repos::SessionRepo;
use shared_server::{Clock, Db};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::IamError;
use crate::repos::VerificationRepo;

/// How long after expiry a session row is kept.
pub const EXPIRED_SESSION_GRACE: Duration = Duration::from_secs(24 * 3600);

/// What one run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub verifications: u64,
    pub sessions: u64,
}

/// The housekeeping job.
#[derive(Clone)]
pub struct IamCleanup {
    db: Db,
    verifications: VerificationRepo,
    sessions: SessionRepo,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for IamCleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamCleanup").finish_non_exhaustive()
    }
}

/// A started job; [`CleanupHandle::stop`] ends it.
#[derive(Debug)]
pub struct CleanupHandle {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl CleanupHandle {
    /// Stops the job and waits for a run in progress to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl IamCleanup {
    pub fn new(
        db: Db,
        verifications: VerificationRepo,
        sessions: SessionRepo,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            db,
            verifications,
            sessions,
            clock,
        }
    }

    /// One pass: expired verifications, and sessions expired for longer than the grace.
    pub async fn run_once(&self) -> Result<CleanupReport, IamError> {
        let now = self.clock.now();
        let verifications = self.verifications.delete_expired(&self.db, now).await?;
        let sessions = self
            .sessions
            .delete_expired(&self.db, now.minus(EXPIRED_SESSION_GRACE))
            .await?;
        Ok(CleanupReport {
            verifications,
            sessions,
        })
    }

    /// Runs after `first_delay`, then every `interval`, until stopped. Failures are logged and
    /// the next run tries again.
    pub fn start(self, first_delay: Duration, interval: Duration) -> CleanupHandle {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut wait = first_delay;
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                match self.run_once().await {
                    Ok(report) => tracing::info!(
                        verifications = report.verifications,
                        sessions = report.sessions,
                        "iam cleanup"
                    ),
                    Err(error) => {
                        tracing::warn!(%error, "iam cleanup failed; retrying at the next run")
                    }
                }
                wait = interval;
            }
        });
        CleanupHandle {
            stop: Some(stop),
            task,
        }
    }
}

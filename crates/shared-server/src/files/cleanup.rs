//! Job `UploadSessionCleanup` (slices.md §1.3): deletes expired upload sessions 10 s after start
//! and then every 5 minutes, and the objects uploaded for them: an upload abandoned before
//! `files_completeUpload` must not leave paid storage behind. Safe with many instances: each
//! expired row is deleted by exactly one of them (`DELETE … RETURNING`), which then deletes
//! its object; object deletions that fail are logged with the key.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::procedures::delete_objects;
use crate::repos::UploadSessionRepo;
use crate::storage::ObjectStore;
use crate::{Clock, RepoError};

/// Delay before the first run.
pub const CLEANUP_FIRST_RUN: Duration = Duration::from_secs(10);
/// Interval between runs.
pub const CLEANUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Sessions taken per statement.
const BATCH: u32 = 500;

/// The clean-up job.
#[derive(Clone)]
pub struct UploadSessionCleanup {
    uploads: UploadSessionRepo,
    store: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for UploadSessionCleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadSessionCleanup")
            .finish_non_exhaustive()
    }
}

/// A running job; [`shutdown`](CleanupHandle::shutdown) stops it.
#[derive(Debug)]
pub struct CleanupHandle {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl CleanupHandle {
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

impl UploadSessionCleanup {
    pub fn new(
        uploads: UploadSessionRepo,
        store: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            uploads,
            store,
            clock,
        }
    }

    /// One run: deletes every session expired now, then their objects; returns how many.
    pub async fn run_once(&self) -> Result<u64, RepoError> {
        let now = self.clock.now();
        let mut deleted = 0;
        loop {
            let keys = self
                .uploads
                .take_expired(self.uploads.db(), now, BATCH)
                .await?;
            deleted += keys.len() as u64;
            delete_objects(self.store.as_ref(), &keys).await;
            if keys.len() < BATCH as usize {
                return Ok(deleted);
            }
        }
    }

    /// Runs after `first_run`, then every `interval`, until the handle is shut down.
    pub fn start(self, first_run: Duration, interval: Duration) -> CleanupHandle {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut next = tokio::time::Instant::now() + first_run;
            loop {
                tokio::select! {
                    _ = stopped.cancelled() => return,
                    _ = tokio::time::sleep_until(next) => {}
                }
                match self.run_once().await {
                    Ok(0) => tracing::debug!("upload session clean-up: nothing expired"),
                    Ok(deleted) => {
                        tracing::info!(
                            deleted,
                            "upload session clean-up: expired sessions and their objects deleted"
                        )
                    }
                    Err(error) => {
                        tracing::warn!(%error, "upload session clean-up failed; retrying at the next run")
                    }
                }
                next = tokio::time::Instant::now() + interval;
            }
        });
        CleanupHandle { stop, task }
    }
}

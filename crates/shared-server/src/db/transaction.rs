//! `Db::transaction`: run a unit of work atomically, retrying the whole transaction when the
//! database reports a transient conflict (SQLite busy/snapshot, PostgreSQL serialization failure
//! or deadlock) up to 3 times with jitter before surfacing the error (slices.md §0.7).

use std::time::Duration;

use futures::future::BoxFuture;

use super::{Db, RepoError, Tx};

/// Attempts in total: the first try and three retries.
const ATTEMPTS: u32 = 4;

impl Db {
    /// Runs `work` in a transaction and commits when it returns `Ok`; rolls back on `Err`.
    ///
    /// `work` may run more than once (on a retryable conflict), so it must not have effects
    /// outside the transaction.
    ///
    /// ```ignore
    /// let user = db.transaction(|tx| Box::pin(async move {
    ///     users.insert(tx, new_user, "app").await
    /// })).await?;
    /// ```
    pub async fn transaction<T, F>(&self, mut work: F) -> Result<T, RepoError>
    where
        T: Send,
        F: for<'t> FnMut(&'t mut Tx) -> BoxFuture<'t, Result<T, RepoError>> + Send,
    {
        let mut attempt = 1;
        loop {
            let mut tx = self.begin().await?;
            let outcome = match work(&mut tx).await {
                Ok(value) => tx.commit().await.map(|()| value).map_err(RepoError::from),
                Err(error) => {
                    let _ = tx.rollback().await;
                    Err(error)
                }
            };
            match outcome {
                Err(error) if error.is_retryable() && attempt < ATTEMPTS => {
                    let pause = backoff(attempt);
                    tracing::debug!(attempt, pause_ms = pause.as_millis() as u64, %error, "transaction conflict; retrying");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// 10 ms, 20 ms, 40 ms … plus up to as much again of random jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 10u64 << (attempt - 1).min(6);
    let jitter = (uuid::Uuid::new_v4().as_u128() % u128::from(base + 1)) as u64;
    Duration::from_millis(base + jitter)
}

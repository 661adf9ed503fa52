//! What the process knows about the database's reachability (issue 20; README "Faults and what
//! you see"): during an outage, every request that needs the database would otherwise wait the
//! full pool-acquire timeout and then fail as an internal error.
//!
//! - An acquire that fails for a connectivity reason, or is still waiting after
//!   [`SLOW_ACQUIRE`], makes the `Db` *suspect* the database: one background check opens a
//!   connection of its own (not through the pool, so a merely busy pool is not mistaken for an
//!   outage) within [`PROBE_TIMEOUT`].
//! - If that fails, the database is *known-unreachable*: one log line names the outage, pending
//!   and new acquires fail at once with [`DatabaseUnreachable`] (which [`is_unavailable`]
//!   recognizes, so callers answer 503 / the RPC transient interrupt), and the check repeats
//!   every [`PROBE_INTERVAL`] until a connection succeeds; one more line says it is back.
//!
//! PostgreSQL only: an embedded SQLite file has no network to lose.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection};
use tokio::sync::watch;

use super::{Db, Pool};

/// An acquire still waiting after this long makes the database suspect.
pub const SLOW_ACQUIRE: Duration = Duration::from_millis(250);
/// How long the check's own connection attempt (connect + `SELECT 1`) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause between checks while the database is known-unreachable.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// The `Retry-After` (seconds) of answers refused during an outage: about when the next probes
/// will have run.
pub const RETRY_AFTER_SECONDS: &str = "1";
/// After a check found the database reachable, suspicions are ignored for this long (a busy
/// pool makes every acquire slow; one check per second is enough to notice an outage).
const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// The error an acquire fails with while the database is known-unreachable (wrapped in
/// `sqlx::Error::Io` so every existing `?` keeps working; see [`is_unavailable`]).
#[derive(Debug, Clone)]
pub struct DatabaseUnreachable {
    pub target: String,
    pub down_for: Duration,
}

impl fmt::Display for DatabaseUnreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is unreachable (for {} ms); not waiting for it until a probe reaches it again",
            self.target,
            self.down_for.as_millis()
        )
    }
}

impl std::error::Error for DatabaseUnreachable {}

/// Whether `error` means the database cannot be used right now (unreachable, connection lost,
/// pool exhausted or closed, server shutting down): a retry later may succeed, so callers answer
/// 503 with `Retry-After` (HTTP) or the transient interrupt (RPC), not an internal error.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    is_connectivity(error) || matches!(error, sqlx::Error::PoolClosed)
}

/// Connectivity failures: what makes the database suspect.
fn is_connectivity(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => true,
        // PostgreSQL class 08 (connection exception), 57P01-57P03 (shutting down, starting up).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// The outage state one `Db` and its clones share.
pub(super) struct DbHealth {
    /// `Some(since)` while the database is known-unreachable.
    outage: watch::Sender<Option<Instant>>,
    /// A check (and, during an outage, the probe loop) is running.
    checking: AtomicBool,
    /// When a check last found the database reachable.
    last_ok: Mutex<Option<Instant>>,
}

impl Default for DbHealth {
    fn default() -> Self {
        Self {
            outage: watch::Sender::new(None),
            checking: AtomicBool::new(false),
            last_ok: Mutex::new(None),
        }
    }
}

impl Db {
    /// How long the database has been known-unreachable, or `None` when it is not.
    pub fn unreachable_for(&self) -> Option<Duration> {
        (*self.health.outage.borrow()).map(|since| since.elapsed())
    }

    fn unreachable_error(&self, since: Instant) -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            DatabaseUnreachable {
                target: self.target.clone(),
                down_for: since.elapsed(),
            },
        ))
    }

    /// Runs one pool acquire (or begin) under the health state: refused at once during a known
    /// outage, ended early when an outage is confirmed while it waits, and reported when it
    /// fails for a connectivity reason.
    pub(super) async fn watched<T>(
        &self,
        acquire: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        let mut outage = self.health.outage.subscribe();
        if let Some(since) = *outage.borrow_and_update() {
            return Err(self.unreachable_error(since));
        }
        tokio::pin!(acquire);
        let outcome = tokio::select! {
            biased;
            outcome = &mut acquire => outcome,
            () = tokio::time::sleep(SLOW_ACQUIRE) => {
                self.suspect("acquiring a connection is slow");
                tokio::select! {
                    biased;
                    outcome = &mut acquire => outcome,
                    Ok(since) = outage.wait_for(Option::is_some) => {
                        let since = since.expect("waited for Some");
                        return Err(self.unreachable_error(since));
                    }
                }
            }
        };
        if let Err(error) = &outcome {
            if is_connectivity(error) {
                self.suspect(&error.to_string());
            }
        }
        outcome
    }

    /// Starts the background check unless one is running or one just found the database fine.
    /// SQLite is never suspected: an embedded file has no network to lose, and a slow acquire
    /// there is a busy writer, not an outage.
    pub(super) fn suspect(&self, reason: &str) {
        if self.backend() == super::Backend::Sqlite {
            return;
        }
        let recently_ok = self
            .health
            .last_ok
            .lock()
            .expect("health lock")
            .is_some_and(|at| at.elapsed() < RECHECK_AFTER);
        if recently_ok || self.health.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.health.checking.store(false, Ordering::Release);
            return;
        };
        let db = self.clone();
        let reason = reason.to_string();
        runtime.spawn(async move {
            db.check_and_probe(reason).await;
            db.health.checking.store(false, Ordering::Release);
        });
    }

    /// Confirms an outage with a connection of its own; while it lasts, retries every
    /// [`PROBE_INTERVAL`]. Logs the outage once and the recovery once.
    async fn check_and_probe(&self, reason: String) {
        let first = match self.connect_directly().await {
            Ok(()) => {
                *self.health.last_ok.lock().expect("health lock") = Some(Instant::now());
                tracing::debug!(database = %self.target, %reason, "database check passed");
                return;
            }
            Err(error) => error,
        };
        let since = Instant::now();
        self.health.outage.send_replace(Some(since));
        tracing::error!(
            database = %self.target,
            error = %first,
            trigger = %reason,
            "database unreachable: requests that need it are refused at once (503) until a probe reaches it"
        );
        loop {
            tokio::time::sleep(PROBE_INTERVAL).await;
            if self.is_closed() {
                return;
            }
            if self.connect_directly().await.is_ok() {
                *self.health.last_ok.lock().expect("health lock") = Some(Instant::now());
                self.health.outage.send_replace(None);
                tracing::warn!(
                    database = %self.target,
                    down_ms = since.elapsed().as_millis() as u64,
                    "database reachable again"
                );
                return;
            }
        }
    }

    /// A fresh connection (outside the pool) and a `SELECT 1`, within [`PROBE_TIMEOUT`].
    async fn connect_directly(&self) -> Result<(), String> {
        let attempt = async {
            match &self.pool {
                // Never suspected (see `suspect`).
                Pool::Sqlite(_) => Ok(()),
                Pool::Postgres(pool) => {
                    let mut conn = pool.connect_options().connect().await?;
                    sqlx::query("SELECT 1").execute(&mut conn).await?;
                    conn.close().await
                }
            }
        };
        match tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())),
        }
    }
}

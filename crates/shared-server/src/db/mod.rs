//! The database port: one `Db` pool per process over SQLite (the embedded default) or PostgreSQL,
//! chosen by `DATABASE_URL`.
//!
//! Repositories are written once: SQL uses `$1`-style placeholders (both backends accept them)
//! and portable types, and [`on_conn!`](crate::on_conn) dispatches a body to the concrete
//! connection type, so each backend gets statically typed sqlx code without duplication. Each
//! repository method runs where its [`Exec`] says: the pool or the caller's transaction.

mod columns;
mod connect;
mod error;
mod exec;
mod health;
mod macros;
pub mod migrate;
pub mod repo;
mod transaction;
mod value;

use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

pub use columns::Columns;
pub use connect::{redact_url, sqlite_path, DbConfig};
pub use error::{DbError, RepoError};
pub use exec::{Exec, HeldConn};
pub use health::{is_unavailable, DatabaseUnreachable, RETRY_AFTER_SECONDS};
pub use value::SqlValue;

/// Which database engine a `Db` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The process's database pool. Cloning shares the pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// The URL without credentials, for logs and errors.
    target: String,
    /// Whether the database is known to be unreachable (shared by clones).
    health: Arc<health::DbHealth>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("target", &self.target).finish()
    }
}

/// Pool usage, for metrics and readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl Db {
    /// Connects with bounded retries and backoff (see [`DbConfig`]); for SQLite, refuses a file
    /// that is not a database or belongs to another application, leaving it untouched.
    pub async fn connect(config: &DbConfig) -> Result<Db, DbError> {
        connect::connect(config).await
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The database location without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(pool) => Some(pool),
            Pool::Postgres(_) => None,
        }
    }

    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }

    /// A pooled connection; use [`PooledConn::conn`] with [`on_conn!`](crate::on_conn).
    ///
    /// While the database is known-unreachable this fails at once with [`DatabaseUnreachable`]
    /// (see [`is_unavailable`]) instead of waiting the acquire timeout.
    pub async fn acquire(&self) -> Result<PooledConn, sqlx::Error> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => PooledConn::Sqlite(self.watched(pool.acquire()).await?),
            Pool::Postgres(pool) => PooledConn::Postgres(self.watched(pool.acquire()).await?),
        })
    }

    /// Starts a transaction; dropped without `commit` it rolls back. Fails at once like
    /// [`acquire`](Self::acquire) during a known outage.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(self.watched(pool.begin()).await?),
            Pool::Postgres(pool) => Tx::Postgres(self.watched(pool.begin()).await?),
        })
    }

    /// A round trip to the database, bounded by `timeout`; during a known outage it fails at
    /// once (the background probe is what watches the database then).
    pub async fn ping(&self, timeout: Duration) -> Result<(), DbError> {
        let probe = async {
            let mut pooled = self.acquire().await?;
            crate::on_conn!(pooled.conn(), |c| sqlx::query("SELECT 1")
                .execute(&mut *c)
                .await
                .map(|_| ()))
        };
        let failed = |message: String| DbError::Query {
            target: self.target.clone(),
            message,
        };
        match tokio::time::timeout(timeout, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(failed(source.to_string())),
            Err(_) => {
                self.suspect("a ping got no answer");
                Err(failed(format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                )))
            }
        }
    }

    pub fn stats(&self) -> PoolStats {
        let (size, idle, max) = match &self.pool {
            Pool::Sqlite(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
            Pool::Postgres(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
        };
        PoolStats { size, idle, max }
    }

    /// Waits for connections in use to return, then closes them all.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    pub fn is_closed(&self) -> bool {
        match &self.pool {
            Pool::Sqlite(pool) => pool.is_closed(),
            Pool::Postgres(pool) => pool.is_closed(),
        }
    }
}

/// A borrowed connection of either backend (what an [`Exec::Conn`] holds).
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// The same connection, lent for a shorter time.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// A connection checked out of the pool.
pub enum PooledConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl PooledConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Sqlite(c) => Conn::Sqlite(c),
            PooledConn::Postgres(c) => Conn::Postgres(c),
        }
    }

    /// Closes the connection when it is dropped instead of returning it to the pool: for
    /// connections whose session state (an advisory lock, an open transaction) must not outlive
    /// their user, even when the user is cancelled.
    pub fn close_on_drop(&mut self) {
        match self {
            PooledConn::Sqlite(c) => c.close_on_drop(),
            PooledConn::Postgres(c) => c.close_on_drop(),
        }
    }
}

/// A transaction of either backend.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// Runs `$body` with `$c` bound to the concrete `&mut SqliteConnection` or `&mut PgConnection`
/// behind a [`Conn`]. The body is compiled once per backend, so sqlx types check statically.
///
/// ```ignore
/// let n: i64 = on_conn!(conn, |c| sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut *c).await)?;
/// ```
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}

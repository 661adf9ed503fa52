//! Opening the pool: URL parsing, SQLite safety checks (never touch a foreign or corrupt file),
//! and a start-up probe with bounded retries and exponential backoff.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use super::{Db, DbError, Pool};

/// Pool settings; see the README's configuration table for the variables that set them.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
    pub idle_timeout: Option<Duration>,
    /// Attempts of the start-up probe before giving up.
    pub connect_attempts: u32,
    /// First backoff between attempts; doubles up to 5 s.
    pub connect_backoff: Duration,
    /// How long SQLite waits on a locked database before failing with `SQLITE_BUSY`.
    pub sqlite_busy_timeout: Duration,
}

impl DbConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(600)),
            connect_attempts: 5,
            connect_backoff: Duration::from_millis(200),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

pub(super) async fn connect(config: &DbConfig) -> Result<Db, DbError> {
    let url = config.url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        connect_postgres(config, url).await
    } else if url.starts_with("sqlite:") {
        connect_sqlite(config, url).await
    } else {
        Err(DbError::InvalidUrl {
            url: redact_url(url),
            reason: "expected sqlite://<path> or postgres://user:password@host:port/database"
                .into(),
        })
    }
}

async fn connect_postgres(config: &DbConfig, url: &str) -> Result<Db, DbError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| DbError::InvalidUrl {
            url: redact_url(url),
            reason: e.to_string(),
        })?
        .application_name("runtime-server")
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    let target = format!(
        "PostgreSQL at {}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    );
    let pool_options = PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(config.idle_timeout);
    let pool = with_retries(config, &target, || async {
        pool_options.clone().connect_with(options.clone()).await
    })
    .await?;
    Ok(Db {
        pool: Pool::Postgres(pool),
        target,
        health: Default::default(),
    })
}

async fn connect_sqlite(config: &DbConfig, url: &str) -> Result<Db, DbError> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| DbError::InvalidUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    let path = options.get_filename().to_path_buf();
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if !in_memory {
        check_existing_sqlite_file(&path).await?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| DbError::Unreachable {
                target: format!("SQLite at {}", path.display()),
                attempts: 1,
                message: format!("cannot create directory {}: {e}", parent.display()),
            })?;
        }
    }
    let target = format!("SQLite at {}", path.display());
    let options = options
        .create_if_missing(true)
        .journal_mode(if in_memory {
            SqliteJournalMode::Memory
        } else {
            SqliteJournalMode::Wal
        })
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(config.sqlite_busy_timeout)
        .foreign_keys(true)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    // An in-memory database lives in one connection; a pool of several would see several DBs.
    let max = if in_memory { 1 } else { config.max_connections };
    // No ping before each checkout (sqlx's default): it detects network connections that died
    // while idle, which a SQLite file cannot do, and costs a round trip to the connection's
    // worker thread on every query.
    let pool_options = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .max_connections(max)
        .min_connections(config.min_connections.min(max))
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(if in_memory { None } else { config.idle_timeout });
    let pool = with_retries(config, &target, || async {
        pool_options.clone().connect_with(options.clone()).await
    })
    .await?;
    Ok(Db {
        pool: Pool::Sqlite(pool),
        target,
        health: Default::default(),
    })
}

/// Opens an existing file read-only and refuses it when it is not a SQLite database or holds
/// another application's tables. Nothing is written to the file here.
async fn check_existing_sqlite_file(path: &Path) -> Result<(), DbError> {
    if !path.exists()
        || std::fs::metadata(path)
            .map(|m| m.len() == 0)
            .unwrap_or(false)
    {
        return Ok(());
    }
    let display = path.display().to_string();
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let not_a_db = |e: sqlx::Error| DbError::NotADatabase {
        path: display.clone(),
        message: e.to_string(),
    };
    let mut conn = options.connect().await.map_err(not_a_db)?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(not_a_db)?;
    let _ = conn.close().await;
    if !tables.is_empty() && !tables.iter().any(|t| t == "_migrations") {
        let mut listed: Vec<_> = tables.iter().take(5).cloned().collect();
        if tables.len() > 5 {
            listed.push(format!("and {} more", tables.len() - 5));
        }
        return Err(DbError::ForeignDatabase {
            path: display,
            tables: listed.join(", "),
        });
    }
    Ok(())
}

async fn with_retries<T, F, Fut>(
    config: &DbConfig,
    target: &str,
    mut attempt: F,
) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let attempts = config.connect_attempts.max(1);
    let mut backoff = config.connect_backoff;
    for n in 1..=attempts {
        let started = std::time::Instant::now();
        match attempt().await {
            Ok(value) => {
                tracing::info!(database = %target, attempt = n, elapsed_ms = started.elapsed().as_millis() as u64, "database connected");
                return Ok(value);
            }
            Err(error) if n < attempts && is_transient(&error) => {
                tracing::warn!(database = %target, attempt = n, of = attempts, retry_in_ms = backoff.as_millis() as u64,
                    error = %error, "database not reachable yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                return Err(DbError::Unreachable {
                    target: target.to_string(),
                    attempts: n,
                    message: error.to_string(),
                })
            }
        }
    }
    unreachable!("the loop returns on the last attempt")
}

/// Network trouble and timeouts are worth retrying; bad credentials or a missing database are not.
/// Neither is a SQLite file another process is setting up at the same moment (`SQLITE_BUSY`:
/// switching a new file to WAL needs a lock the busy handler does not always wait for).
fn is_transient(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)
    ) || matches!(error, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("57P03" | "5" | "517")))
}

/// The URL with any password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "<unparseable url>".to_string(),
    }
}

/// The SQLite file a `sqlite:` URL points to, if any.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    SqliteConnectOptions::from_str(url)
        .ok()
        .map(|o| o.get_filename().to_path_buf())
}

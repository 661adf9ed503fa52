//! The migration runner: each slice ships its migrations (per dialect where SQL differs); the
//! runner applies them in dependency order, records each with a checksum in `_migrations`, and
//! refuses to run against a database whose applied migrations differ from the code's.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use super::{Backend, Conn, Db};
use crate::on_conn;
use crate::time::Timestamp;

/// One schema change, written for both backends (often the same text).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    pub fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    pub fn checksum(&self, backend: Backend) -> String {
        hex::encode(Sha256::digest(self.sql(backend).as_bytes()))
    }
}

/// A slice's migrations and the slices whose tables they reference.
#[derive(Debug, Clone, Copy)]
pub struct SliceMigrations {
    pub slice: &'static str,
    pub depends_on: &'static [&'static str],
    pub migrations: &'static [Migration],
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "migration {slice}/{version} `{name}` was changed after it was applied (checksum {applied} in the \
         database, {code} in this build); restore the original migration and add a new one instead"
    )]
    Changed {
        slice: String,
        version: u32,
        name: String,
        applied: String,
        code: String,
    },
    #[error(
        "the database has migration {slice}/{version} `{name}` applied, which this build does not know; \
         it was migrated by a newer or different build"
    )]
    Unknown {
        slice: String,
        version: u32,
        name: String,
    },
    #[error("slice `{slice}` depends on `{dependency}`, which is not in the migration set")]
    MissingDependency { slice: String, dependency: String },
    #[error("migration dependencies form a cycle among: {slices}")]
    Cycle { slices: String },
    #[error("migration {slice}/{version} `{name}` failed: {message}")]
    Failed {
        slice: String,
        version: u32,
        name: String,
        message: String,
    },
    #[error("migration bookkeeping failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a run applied.
#[derive(Debug, Clone, Default)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub already_applied: usize,
}

/// Per-migration state, for `doctor` and `migrate --status`.
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    pub slice: &'static str,
    pub version: u32,
    pub name: &'static str,
    pub applied_at: Option<Timestamp>,
}

/// Orders slices so that every slice comes after its dependencies (stable otherwise).
pub fn order<'a>(
    slices: &[&'a SliceMigrations],
) -> Result<Vec<&'a SliceMigrations>, MigrationError> {
    let names: HashSet<_> = slices.iter().map(|s| s.slice).collect();
    for slice in slices {
        if let Some(dep) = slice.depends_on.iter().find(|d| !names.contains(*d)) {
            return Err(MigrationError::MissingDependency {
                slice: slice.slice.to_string(),
                dependency: dep.to_string(),
            });
        }
    }
    let mut ordered: Vec<&SliceMigrations> = Vec::new();
    let mut placed = HashSet::new();
    while ordered.len() < slices.len() {
        let ready: Vec<_> = slices
            .iter()
            .filter(|s| {
                !placed.contains(s.slice) && s.depends_on.iter().all(|d| placed.contains(d))
            })
            .copied()
            .collect();
        if ready.is_empty() {
            let stuck: Vec<_> = slices
                .iter()
                .filter(|s| !placed.contains(s.slice))
                .map(|s| s.slice)
                .collect();
            return Err(MigrationError::Cycle {
                slices: stuck.join(", "),
            });
        }
        for slice in ready {
            placed.insert(slice.slice);
            ordered.push(slice);
        }
    }
    Ok(ordered)
}

type Applied = BTreeMap<(String, u32), (String, String, Timestamp)>;

/// Applies every pending migration, after checking that the applied ones match the code.
///
/// Returns a boxed `Send` future: callers run it inside layers and tasks, and naming the bound
/// here sidesteps a compiler limitation with higher-ranked lifetimes in nested async code.
pub fn run<'a>(
    db: &'a Db,
    slices: &'a [&'static SliceMigrations],
) -> BoxFuture<'a, Result<MigrationReport, MigrationError>> {
    Box::pin(run_inner(db, slices))
}

async fn run_inner(
    db: &Db,
    slices: &[&'static SliceMigrations],
) -> Result<MigrationReport, MigrationError> {
    let ordered = order(slices)?;
    let backend = db.backend();
    let mut pooled = db.acquire().await?;
    if backend == Backend::Postgres {
        // The advisory lock belongs to this session: if the run is cancelled or unlocking fails,
        // closing the connection (instead of pooling it) is what releases the lock.
        pooled.close_on_drop();
    }
    let mut conn = pooled.conn();
    // The lock comes first: creating the bookkeeping table races as much as the migrations do.
    let lock = MigrationLock::take(&mut conn).await?;
    let result = async {
        ensure_table(&mut conn).await?;
        apply_pending(&mut conn, backend, &ordered, lock).await
    }
    .await;
    let released = lock.release(&mut conn, result.is_ok()).await;
    let report = result?;
    released?;
    Ok(report)
}

async fn apply_pending(
    conn: &mut Conn<'_>,
    backend: Backend,
    ordered: &[&SliceMigrations],
    lock: MigrationLock,
) -> Result<MigrationReport, MigrationError> {
    let applied = read_applied(conn).await?;
    verify(&applied, ordered, backend)?;
    let mut report = MigrationReport::default();
    for slice in ordered {
        let mut migrations: Vec<_> = slice.migrations.iter().collect();
        migrations.sort_by_key(|m| m.version);
        for migration in migrations {
            if applied.contains_key(&(slice.slice.to_string(), migration.version)) {
                report.already_applied += 1;
                continue;
            }
            let started = Instant::now();
            apply_one(conn, backend, slice.slice, migration, lock).await?;
            tracing::info!(
                slice = slice.slice,
                version = migration.version,
                name = migration.name,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "migration applied"
            );
            report.applied.push(format!(
                "{}/{:04}_{}",
                slice.slice, migration.version, migration.name
            ));
        }
    }
    Ok(report)
}

/// Lists every migration of the code with its applied time; fails like `run` on a mismatch.
pub fn status<'a>(
    db: &'a Db,
    slices: &'a [&'static SliceMigrations],
) -> BoxFuture<'a, Result<Vec<MigrationStatus>, MigrationError>> {
    Box::pin(status_inner(db, slices))
}

async fn status_inner(
    db: &Db,
    slices: &[&'static SliceMigrations],
) -> Result<Vec<MigrationStatus>, MigrationError> {
    let ordered = order(slices)?;
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let applied = if table_exists(&mut conn).await? {
        read_applied(&mut conn).await?
    } else {
        Applied::new()
    };
    verify(&applied, &ordered, db.backend())?;
    let mut out = Vec::new();
    for slice in ordered {
        for m in slice.migrations {
            out.push(MigrationStatus {
                slice: slice.slice,
                version: m.version,
                name: m.name,
                applied_at: applied
                    .get(&(slice.slice.to_string(), m.version))
                    .map(|(_, _, at)| *at),
            });
        }
    }
    Ok(out)
}

fn verify(
    applied: &Applied,
    ordered: &[&SliceMigrations],
    backend: Backend,
) -> Result<(), MigrationError> {
    for ((slice, version), (name, checksum, _)) in applied {
        let known = ordered
            .iter()
            .find(|s| s.slice == slice)
            .and_then(|s| s.migrations.iter().find(|m| m.version == *version));
        match known {
            None => {
                return Err(MigrationError::Unknown {
                    slice: slice.clone(),
                    version: *version,
                    name: name.clone(),
                })
            }
            Some(m) if m.checksum(backend) != *checksum => {
                return Err(MigrationError::Changed {
                    slice: slice.clone(),
                    version: *version,
                    name: name.clone(),
                    applied: short(checksum),
                    code: short(&m.checksum(backend)),
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn short(checksum: &str) -> String {
    checksum.chars().take(12).collect()
}

async fn ensure_table(conn: &mut Conn<'_>) -> Result<(), sqlx::Error> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "CREATE TABLE IF NOT EXISTS _migrations (
                slice TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                checksum TEXT NOT NULL,
                applied_at TEXT NOT NULL,
                PRIMARY KEY (slice, version)
            )"
        }
        Backend::Postgres => {
            "CREATE TABLE IF NOT EXISTS _migrations (
                slice TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                checksum TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (slice, version)
            )"
        }
    };
    on_conn!(conn, |c| sqlx::query(sql)
        .execute(&mut **c)
        .await
        .map(|_| ()))?;
    Ok(())
}

async fn table_exists(conn: &mut Conn<'_>) -> Result<bool, sqlx::Error> {
    let found: Option<String> = match conn {
        Conn::Sqlite(c) => {
            sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_migrations'",
            )
            .fetch_optional(&mut **c)
            .await?
        }
        Conn::Postgres(c) => {
            sqlx::query_scalar("SELECT to_regclass('_migrations')::text")
                .fetch_one(&mut **c)
                .await?
        }
    };
    Ok(found.is_some())
}

/// The advisory lock key of the migration runner (any constant; it only has to be the same in
/// every instance of this build).
const ADVISORY_LOCK_KEY: i64 = 7_239_012_345;

/// How often a SQLite runner retries a database another process is writing to (on top of the
/// connection's busy timeout).
const SQLITE_LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// Serializes runners, so that any number of instances starting at once on one database apply
/// and record each migration exactly once; the others wait, then find nothing left to do.
///
/// - PostgreSQL: a session advisory lock on the runner's connection; each migration then commits
///   in its own transaction.
/// - SQLite: `BEGIN IMMEDIATE`, the database's write lock, which every process opening the file
///   respects; the whole run is that one transaction (SQLite has no lock that outlives a
///   transaction), so a failing migration also rolls back the ones before it in the same run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MigrationLock {
    PostgresAdvisory,
    SqliteWriteTransaction,
}

impl MigrationLock {
    async fn take(conn: &mut Conn<'_>) -> Result<Self, sqlx::Error> {
        match conn {
            Conn::Postgres(c) => {
                let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(ADVISORY_LOCK_KEY)
                    .fetch_one(&mut **c)
                    .await?;
                if !free {
                    tracing::info!("another instance is migrating the database; waiting for it");
                    sqlx::query("SELECT pg_advisory_lock($1)")
                        .bind(ADVISORY_LOCK_KEY)
                        .execute(&mut **c)
                        .await?;
                }
                Ok(MigrationLock::PostgresAdvisory)
            }
            Conn::Sqlite(c) => {
                let mut logged = false;
                loop {
                    match sqlx::query("BEGIN IMMEDIATE").execute(&mut **c).await {
                        Ok(_) => return Ok(MigrationLock::SqliteWriteTransaction),
                        // Busy beyond the busy timeout: another process is still migrating.
                        Err(sqlx::Error::Database(e))
                            if matches!(e.code().as_deref(), Some("5" | "517")) =>
                        {
                            if !logged {
                                tracing::info!(
                                    "another process is writing the database; waiting to migrate"
                                );
                                logged = true;
                            }
                            tokio::time::sleep(SQLITE_LOCK_RETRY).await;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// Releases the lock: unlocks (PostgreSQL), or commits the run (`succeeded`) or rolls it
    /// back (SQLite).
    async fn release(self, conn: &mut Conn<'_>, succeeded: bool) -> Result<(), sqlx::Error> {
        match conn {
            Conn::Postgres(c) => {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(ADVISORY_LOCK_KEY)
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let end = if succeeded { "COMMIT" } else { "ROLLBACK" };
                sqlx::query(end).execute(&mut **c).await?;
            }
        }
        Ok(())
    }

    /// Whether each migration needs its own transaction (otherwise the lock is one).
    fn migrations_commit_alone(self) -> bool {
        self == MigrationLock::PostgresAdvisory
    }
}

async fn read_applied(conn: &mut Conn<'_>) -> Result<Applied, sqlx::Error> {
    let rows: Vec<(String, i32, String, String, Timestamp)> = on_conn!(conn, |c| {
        sqlx::query_as("SELECT slice, version, name, checksum, applied_at FROM _migrations")
            .fetch_all(&mut **c)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(slice, version, name, checksum, at)| ((slice, version as u32), (name, checksum, at)))
        .collect())
}

async fn apply_one(
    conn: &mut Conn<'_>,
    backend: Backend,
    slice: &str,
    migration: &Migration,
    lock: MigrationLock,
) -> Result<(), MigrationError> {
    let failed = |e: sqlx::Error| MigrationError::Failed {
        slice: slice.to_string(),
        version: migration.version,
        name: migration.name.to_string(),
        message: e.to_string(),
    };
    let sql = migration.sql(backend);
    let record = "INSERT INTO _migrations (slice, version, name, checksum, applied_at) VALUES ($1, $2, $3, $4, $5)";
    let checksum = migration.checksum(backend);
    let now = Timestamp::now();
    // Schema change and bookkeeping commit together (both engines have transactional DDL):
    // in a transaction of their own, or in the run's (SQLite's lock).
    // BEGIN/COMMIT are issued directly: sqlx's `Transaction` deref trips a compiler limitation
    // (higher-ranked `Send`) inside futures that must be `Send`.
    let own_transaction = lock.migrations_commit_alone();
    let outcome: Result<(), sqlx::Error> = on_conn!(conn, |c| {
        if own_transaction {
            sqlx::query("BEGIN").execute(&mut **c).await?;
        }
        // A plain string runs through the simple-query protocol: several statements are fine.
        let mut applied = sqlx::Executor::execute(&mut **c, sql).await.map(|_| ());
        if applied.is_ok() {
            applied = sqlx::query(record)
                .bind(slice.to_string())
                .bind(migration.version as i32)
                .bind(migration.name.to_string())
                .bind(checksum.clone())
                .bind(now)
                .execute(&mut **c)
                .await
                .map(|_| ());
        }
        match applied {
            Ok(()) if own_transaction => sqlx::query("COMMIT").execute(&mut **c).await.map(|_| ()),
            Ok(()) => Ok(()),
            Err(error) => {
                if own_transaction {
                    let _ = sqlx::query("ROLLBACK").execute(&mut **c).await;
                }
                Err(error)
            }
        }
    });
    outcome.map_err(failed)
}

/// Compile-time guard: the runner's futures must be `Send` (they run inside layers and tasks).
#[cfg(test)]
mod send_probe {
    fn assert_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    fn probe(db: &super::Db, c: &mut super::Conn<'_>) {
        assert_send(super::ensure_table(c));
        assert_send(super::table_exists(c));
        assert_send(super::MigrationLock::take(c));
        assert_send(super::read_applied(c));
        assert_send(super::apply_one(
            c,
            super::Backend::Sqlite,
            "x",
            &super::Migration {
                version: 1,
                name: "",
                sqlite: "",
                postgres: "",
            },
            super::MigrationLock::SqliteWriteTransaction,
        ));
        assert_send(super::run(db, &[]));
    }
}

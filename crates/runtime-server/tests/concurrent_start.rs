//! Replicas started together (issue 20): four `runtime-server` processes launched at the same
//! moment on one empty database, twenty times, on PostgreSQL and on one SQLite file. Every
//! instance must come up and answer `/v1/ready` with 200, and each migration must be recorded
//! exactly once.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use shared_server::db::{Backend, Db, DbConfig};
use shared_server::testing;

const INSTANCES: usize = 4;
const TRIES: usize = 20;
const SECRET: &str = "concurrent-start-test-secret-0123456789abcdef";

/// One instance that came up: its process and URL.
struct Instance {
    child: Child,
    url: String,
}

/// What one instance did at start-up: its URL, or everything it printed before exiting.
type Started = Result<Instance, String>;

/// Starts one process once every sibling is ready to start, and reads its first stdout line.
fn start_instance(database_url: &str, data: &Path, go: &Barrier) -> Started {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runtime-server"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_API_PORT", "0")
        .env("APP_DATA_DIR", data)
        .env("APP_LOG_LEVEL", "warn")
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("DATABASE_URL", database_url)
        .env("COMMS_OUTBOX_WORKER", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    go.wait();
    let mut child = command.spawn().expect("spawn runtime-server");
    let mut first = String::new();
    let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut first);
    match first.strip_prefix("runtime-server listening on ") {
        Some(url) => Ok(Instance {
            child,
            url: url.trim().to_string(),
        }),
        None => {
            let _ = child.wait();
            let mut stderr = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            Err(format!("{first}{stderr}"))
        }
    }
}

fn stop(mut instance: Instance) {
    let _ = Command::new("kill")
        .args(["-TERM", &instance.child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if instance.child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = instance.child.kill();
}

/// `(slice, version) -> times recorded`.
async fn recorded(db: &Db) -> BTreeMap<(String, i32), i64> {
    let sql = "SELECT slice, version, COUNT(*) FROM _migrations GROUP BY slice, version";
    let rows: Vec<(String, i32, i64)> = match db.backend() {
        Backend::Sqlite => sqlx::query_as(sql)
            .fetch_all(db.sqlite_pool().unwrap())
            .await
            .unwrap(),
        Backend::Postgres => sqlx::query_as(sql)
            .fetch_all(db.postgres_pool().unwrap())
            .await
            .unwrap(),
    };
    rows.into_iter().map(|(s, v, n)| ((s, v), n)).collect()
}

/// Starts [`INSTANCES`] processes at once on `database_url`; returns the failures (stderr of
/// each instance that did not come up or was not ready).
async fn start_together(database_url: &str) -> Vec<String> {
    let go = Arc::new(Barrier::new(INSTANCES));
    let dirs: Vec<_> = (0..INSTANCES).map(|_| common::DataDir::new()).collect();
    let starts: Vec<_> = dirs
        .iter()
        .map(|dir| {
            let (url, dir, go) = (database_url.to_string(), dir.0.clone(), go.clone());
            tokio::task::spawn_blocking(move || start_instance(&url, &dir, &go))
        })
        .collect();
    let mut failures = Vec::new();
    let client = reqwest::Client::new();
    let mut running = Vec::new();
    for start in starts {
        match start.await.expect("start task") {
            Ok(instance) => {
                let ready = client
                    .get(format!("{}/v1/ready", instance.url))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match ready {
                    Ok(r) if r.status() == 200 => {}
                    other => {
                        failures.push(format!("{}: /v1/ready answered {other:?}", instance.url))
                    }
                }
                running.push(instance);
            }
            Err(output) => failures.push(output),
        }
    }
    tokio::task::spawn_blocking(move || running.into_iter().for_each(stop))
        .await
        .unwrap();
    drop(dirs);
    failures
}

/// Starts the instances on `database_url`, then checks `_migrations`; returns how many
/// instances failed.
async fn check(database_url: &str, try_no: usize) -> usize {
    let failures = start_together(database_url).await;
    let db = Db::connect(&DbConfig::new(database_url)).await.unwrap();
    let backend = db.backend();
    for failure in &failures {
        eprintln!("{backend:?} try {try_no}: an instance failed: {failure}");
    }
    let recorded = recorded(&db).await;
    db.close().await;
    let expected: usize = runtime_server::app::migrations()
        .iter()
        .map(|s| s.migrations.len())
        .sum();
    assert_eq!(recorded.len(), expected, "{backend:?}: {recorded:?}");
    assert!(
        recorded.values().all(|n| *n == 1),
        "{backend:?} try {try_no}: each migration recorded once: {recorded:?}"
    );
    failures.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_instances_start_at_once_on_an_empty_postgres_database() {
    let mut failed = 0;
    let started = Instant::now();
    for try_no in 1..=TRIES {
        let Some(test) = testing::postgres().await else {
            return;
        };
        test.db.close().await;
        failed += check(&test.url, try_no).await;
    }
    eprintln!(
        "PostgreSQL: {TRIES} tries of {INSTANCES} instances at once: {failed} failed ({:?})",
        started.elapsed()
    );
    assert_eq!(failed, 0, "every instance comes up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_instances_start_at_once_on_one_sqlite_file() {
    let mut failed = 0;
    let started = Instant::now();
    for try_no in 1..=TRIES {
        let dir = common::DataDir::new();
        let url = format!("sqlite://{}/shared.db", dir.path().display());
        failed += check(&url, try_no).await;
    }
    eprintln!(
        "SQLite: {TRIES} tries of {INSTANCES} instances at once: {failed} failed ({:?})",
        started.elapsed()
    );
    assert_eq!(failed, 0, "every instance comes up");
}

//! Several instances migrating one database at the same moment (issue 20): every runner
//! succeeds, and each migration is applied by exactly one of them and recorded exactly once, on
//! an empty database and on one that an older build migrated. Each runner has its own pool, as
//! separate processes would (the process-level test is runtime-server's `concurrent_start`).

use std::collections::BTreeMap;

use shared_server::db::migrate::{self, Migration, MigrationReport, SliceMigrations};
use shared_server::db::{Backend, Db, DbConfig};
use shared_server::migrations::SHARED_MIGRATIONS;
use shared_server::testing::{postgres, sqlite, TestDb};

const RUNNERS: usize = 4;
const TRIES: usize = 20;

/// A slice with several migrations, so that runners overlap across many statements.
static ALPHA_ALL: [Migration; 3] = [
    Migration {
        version: 1,
        name: "alpha_items",
        sqlite: "CREATE TABLE alpha_item (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
        postgres: "CREATE TABLE alpha_item (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
    },
    Migration {
        version: 2,
        name: "alpha_item_name_idx",
        sqlite: "CREATE INDEX alpha_item_name_idx ON alpha_item (name)",
        postgres: "CREATE INDEX alpha_item_name_idx ON alpha_item (name)",
    },
    Migration {
        version: 3,
        name: "alpha_tags",
        sqlite: "CREATE TABLE alpha_tag (item_id TEXT NOT NULL REFERENCES alpha_item (id), tag TEXT NOT NULL);
                 ALTER TABLE alpha_item ADD COLUMN note TEXT",
        postgres: "CREATE TABLE alpha_tag (item_id TEXT NOT NULL REFERENCES alpha_item (id), tag TEXT NOT NULL);
                   ALTER TABLE alpha_item ADD COLUMN note TEXT",
    },
];

static ALPHA: SliceMigrations = SliceMigrations {
    slice: "alpha",
    depends_on: &["shared"],
    migrations: &ALPHA_ALL,
};

/// What an older build knew: the first alpha migration only.
static ALPHA_OLD: SliceMigrations = SliceMigrations {
    slice: "alpha",
    depends_on: &["shared"],
    migrations: std::slice::from_ref(&ALPHA_ALL[0]),
};

static BETA: SliceMigrations = SliceMigrations {
    slice: "beta",
    depends_on: &["alpha"],
    migrations: &[Migration {
        version: 1,
        name: "beta_notes",
        sqlite:
            "CREATE TABLE beta_note (id TEXT PRIMARY KEY, item_id TEXT REFERENCES alpha_item (id))",
        postgres:
            "CREATE TABLE beta_note (id TEXT PRIMARY KEY, item_id TEXT REFERENCES alpha_item (id))",
    }],
};

const CURRENT: [&SliceMigrations; 3] = [&SHARED_MIGRATIONS, &ALPHA, &BETA];

fn names(slices: &[&SliceMigrations]) -> Vec<String> {
    slices
        .iter()
        .flat_map(|s| {
            s.migrations
                .iter()
                .map(|m| format!("{}/{:04}_{}", s.slice, m.version, m.name))
        })
        .collect()
}

/// `RUNNERS` runners at once, each with its own pool on `url`, released together.
async fn migrate_at_once(url: &str) -> Vec<Result<MigrationReport, String>> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(RUNNERS));
    let runners: Vec<_> = (0..RUNNERS)
        .map(|_| {
            let url = url.to_string();
            let start = start.clone();
            tokio::spawn(async move {
                let mut config = DbConfig::new(&url);
                config.max_connections = 2;
                let db = Db::connect(&config).await.map_err(|e| e.to_string())?;
                start.wait().await;
                let outcome = migrate::run(&db, &CURRENT).await.map_err(|e| e.to_string());
                db.close().await;
                outcome
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for runner in runners {
        outcomes.push(runner.await.expect("runner task"));
    }
    outcomes
}

/// `(slice, version) -> times recorded` in `_migrations`.
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

/// Runs the runners on `test` (already holding what `older` applied) and checks the outcome;
/// returns the number of runners that failed.
async fn check_concurrent_run(test: &TestDb, older: &[&SliceMigrations], try_no: usize) -> usize {
    let backend = test.backend();
    let outcomes = migrate_at_once(&test.url).await;
    let failures: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    if !failures.is_empty() {
        eprintln!("{backend:?} try {try_no}: {failures:?}");
        return failures.len();
    }
    let pending: Vec<String> = {
        let done = names(older);
        names(&CURRENT)
            .into_iter()
            .filter(|n| !done.contains(n))
            .collect()
    };
    let mut applied: Vec<String> = outcomes
        .iter()
        .flat_map(|o| o.as_ref().unwrap().applied.clone())
        .collect();
    applied.sort();
    let mut expected = pending.clone();
    expected.sort();
    assert_eq!(
        applied, expected,
        "{backend:?} try {try_no}: each pending migration applied by exactly one runner"
    );
    let recorded = recorded(&test.db).await;
    assert_eq!(
        recorded.len(),
        names(&CURRENT).len(),
        "{backend:?}: {recorded:?}"
    );
    assert!(
        recorded.values().all(|n| *n == 1),
        "{backend:?} try {try_no}: each migration recorded once: {recorded:?}"
    );
    0
}

async fn run_tries(
    mut fresh: impl AsyncFnMut() -> Option<TestDb>,
    older: &[&'static SliceMigrations],
) {
    let mut failed_runners = 0;
    let mut backend = None;
    for try_no in 1..=TRIES {
        let Some(test) = fresh().await else { return };
        backend = Some(test.backend());
        if !older.is_empty() {
            migrate::run(&test.db, older)
                .await
                .expect("the older build migrates");
        }
        failed_runners += check_concurrent_run(&test, older, try_no).await;
    }
    eprintln!(
        "{backend:?}: {TRIES} tries of {RUNNERS} concurrent runners, {failed_runners} runner(s) failed"
    );
    assert_eq!(failed_runners, 0, "{backend:?}: every runner succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_runners_at_once_on_an_empty_postgres_database() {
    run_tries(postgres, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_runners_at_once_on_an_older_postgres_database() {
    run_tries(postgres, &[&SHARED_MIGRATIONS, &ALPHA_OLD]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_runners_at_once_on_an_empty_sqlite_file() {
    run_tries(async || Some(sqlite().await), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_runners_at_once_on_an_older_sqlite_file() {
    run_tries(
        async || Some(sqlite().await),
        &[&SHARED_MIGRATIONS, &ALPHA_OLD],
    )
    .await;
}

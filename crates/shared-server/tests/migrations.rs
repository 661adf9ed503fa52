//! The shared slice's migrations through the runner, on every backend: they apply once, the
//! runner refuses changed or unknown migrations, and it never touches a SQLite file that is not
//! ours (corrupt or another application's).

use std::collections::BTreeSet;

use shared_server::db::migrate::{self, Migration, MigrationError, SliceMigrations};
use shared_server::db::{Backend, Db, DbConfig, DbError};
use shared_server::migrations::SHARED_MIGRATIONS;
use shared_server::testing::all_backends;

const SHARED_TABLES: [&str; 7] = [
    "shared_file",
    "shared_folder",
    "shared_organization",
    "shared_session",
    "shared_team",
    "shared_upload_session",
    "shared_user",
];

async fn table_names(db: &Db) -> BTreeSet<String> {
    let names: Vec<String> = match db.backend() {
        Backend::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(db.sqlite_pool().unwrap())
        .await
        .unwrap(),
        Backend::Postgres => {
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                .fetch_all(db.postgres_pool().unwrap())
                .await
                .unwrap()
        }
    };
    names.into_iter().collect()
}

async fn index_names(db: &Db) -> BTreeSet<String> {
    let names: Vec<String> = match db.backend() {
        Backend::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(db.sqlite_pool().unwrap())
        .await
        .unwrap(),
        // Unique constraints also own an index of their name on PostgreSQL: list plain indexes
        // only, like SQLite (whose constraint indexes are `sqlite_autoindex_*`).
        Backend::Postgres => sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        )
        .fetch_all(db.postgres_pool().unwrap())
        .await
        .unwrap(),
    };
    names
        .into_iter()
        .filter(|n| n.starts_with("shared_"))
        .collect()
}

#[tokio::test]
async fn shared_migrations_apply_once() {
    for test in all_backends().await {
        let backend = test.backend();
        let first = migrate::run(&test.db, &[&SHARED_MIGRATIONS]).await.unwrap();
        assert_eq!(
            first.applied,
            vec!["shared/0001_shared_tables".to_string()],
            "{backend:?}"
        );
        assert_eq!(first.already_applied, 0);

        let tables = table_names(&test.db).await;
        for table in SHARED_TABLES {
            assert!(
                tables.contains(table),
                "{backend:?}: {table} missing from {tables:?}"
            );
        }

        let second = migrate::run(&test.db, &[&SHARED_MIGRATIONS]).await.unwrap();
        assert!(
            second.applied.is_empty(),
            "{backend:?}: {:?}",
            second.applied
        );
        assert_eq!(second.already_applied, 1);

        let status = migrate::status(&test.db, &[&SHARED_MIGRATIONS])
            .await
            .unwrap();
        assert_eq!(status.len(), 1);
        assert!(status[0].applied_at.is_some());
    }
}

#[tokio::test]
async fn both_backends_get_the_same_index_names() {
    let expected: BTreeSet<String> = [
        "shared_user_role_idx",
        "shared_organization_owner_user_id_idx",
        "shared_organization_owner_personal_uq",
        "shared_session_user_id_expires_at_idx",
        "shared_session_expires_at_idx",
        "shared_session_active_organization_id_idx",
        "shared_folder_organization_id_user_id_idx",
        "shared_file_organization_id_user_id_folder_id_idx",
        "shared_file_organization_id_created_at_idx",
        "shared_file_folder_id_idx",
        "shared_upload_session_organization_id_user_id_idx",
        "shared_upload_session_expires_at_idx",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for test in all_backends().await {
        migrate::run(&test.db, &[&SHARED_MIGRATIONS]).await.unwrap();
        assert_eq!(
            index_names(&test.db).await,
            expected,
            "{:?}",
            test.backend()
        );
    }
}

/// The shared slice as a build that edited migration 1 after it shipped would declare it.
const CHANGED: SliceMigrations = SliceMigrations {
    slice: "shared",
    depends_on: &[],
    migrations: &[Migration {
        version: 1,
        name: "shared_tables",
        sqlite: "CREATE TABLE changed_by_hand (id INTEGER)",
        postgres: "CREATE TABLE changed_by_hand (id INTEGER)",
    }],
};

#[tokio::test]
async fn a_changed_migration_is_refused() {
    for test in all_backends().await {
        let backend = test.backend();
        migrate::run(&test.db, &[&SHARED_MIGRATIONS]).await.unwrap();
        let error = migrate::run(&test.db, &[&CHANGED]).await.unwrap_err();
        match error {
            MigrationError::Changed { slice, version, .. } => {
                assert_eq!((slice.as_str(), version), ("shared", 1), "{backend:?}");
            }
            other => panic!("{backend:?}: expected Changed, got {other:?}"),
        }
        assert!(
            !table_names(&test.db).await.contains("changed_by_hand"),
            "{backend:?}"
        );
    }
}

/// A newer build's shared slice: migration 1 as shipped plus a migration 2.
const NEWER: SliceMigrations = SliceMigrations {
    slice: "shared",
    depends_on: &[],
    migrations: &[
        SHARED_MIGRATIONS.migrations[0],
        Migration {
            version: 2,
            name: "from_the_future",
            sqlite: "CREATE TABLE shared_future (id INTEGER)",
            postgres: "CREATE TABLE shared_future (id INTEGER)",
        },
    ],
};

#[tokio::test]
async fn an_applied_migration_unknown_to_the_code_is_refused() {
    for test in all_backends().await {
        let backend = test.backend();
        let report = migrate::run(&test.db, &[&NEWER]).await.unwrap();
        assert_eq!(report.applied.len(), 2, "{backend:?}");
        let error = migrate::run(&test.db, &[&SHARED_MIGRATIONS])
            .await
            .unwrap_err();
        match error {
            MigrationError::Unknown {
                slice,
                version,
                name,
            } => {
                assert_eq!(
                    (slice.as_str(), version, name.as_str()),
                    ("shared", 2, "from_the_future")
                );
            }
            other => panic!("{backend:?}: expected Unknown, got {other:?}"),
        }
    }
}

fn temp_sqlite_file() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let url = format!("sqlite://{}", path.display());
    (dir, path, url)
}

#[tokio::test]
async fn a_corrupt_sqlite_file_is_refused_and_left_untouched() {
    let (_dir, path, url) = temp_sqlite_file();
    // Deterministic pseudo-random bytes (xorshift): not a SQLite header.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..8192)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    assert!(!bytes.starts_with(b"SQLite format 3"));
    std::fs::write(&path, &bytes).unwrap();

    let error = Db::connect(&DbConfig::new(&url)).await.unwrap_err();
    assert!(matches!(error, DbError::NotADatabase { .. }), "{error:?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file was modified"
    );
}

#[tokio::test]
async fn a_foreign_sqlite_database_is_refused_and_left_untouched() {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    use sqlx::{ConnectOptions, Connection};

    let (_dir, path, url) = temp_sqlite_file();
    let mut other_app = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await
        .unwrap();
    sqlx::query("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        .execute(&mut other_app)
        .await
        .unwrap();
    sqlx::query("INSERT INTO customers (name) VALUES ('Ada')")
        .execute(&mut other_app)
        .await
        .unwrap();
    other_app.close().await.unwrap();
    let before = std::fs::read(&path).unwrap();

    let error = Db::connect(&DbConfig::new(&url)).await.unwrap_err();
    match &error {
        DbError::ForeignDatabase { tables, .. } => {
            assert!(tables.contains("customers"), "{tables}")
        }
        other => panic!("expected ForeignDatabase, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file was modified"
    );
    let siblings: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        siblings,
        vec!["app.db".to_string()],
        "no -wal/-shm files were created"
    );
}

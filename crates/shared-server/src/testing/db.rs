//! Test support shared by every crate's database tests: a fresh database per test on SQLite and,
//! when `TEST_POSTGRES_URL` is set (`cargo xtask test` sets it), on PostgreSQL too.
//!
//! Without `TEST_POSTGRES_URL` the PostgreSQL half is skipped with a loud note, so
//! `cargo test -p <crate>` works on its own; under `CI=true` a missing URL is an error.

use std::path::PathBuf;
use std::str::FromStr;

use crate::db::{Backend, Db, DbConfig};

/// A database created for one test; the SQLite file is removed on drop. PostgreSQL test
/// databases live in the throwaway cluster that `cargo xtask test` deletes afterwards.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    dir: Option<PathBuf>,
}

impl TestDb {
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// A second pool on the same database (what another server instance would have); the
    /// database is not removed when this one is dropped.
    pub async fn open_again(&self) -> TestDb {
        let mut config = DbConfig::new(&self.url);
        config.max_connections = 5;
        let db = Db::connect(&config)
            .await
            .expect("open the test database again");
        TestDb {
            db,
            url: self.url.clone(),
            dir: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh, empty SQLite database in a temporary file.
pub async fn sqlite() -> TestDb {
    let dir = std::env::temp_dir().join(format!("rt-test-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir for a test database");
    let url = format!("sqlite://{}/test.db", dir.display());
    let db = Db::connect(&DbConfig::new(&url))
        .await
        .expect("open a SQLite test database");
    TestDb {
        db,
        url,
        dir: Some(dir),
    }
}

/// A fresh, empty PostgreSQL database, or `None` when `TEST_POSTGRES_URL` is not set.
pub async fn postgres() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "TEST_POSTGRES_URL is not set under CI=true: run the suite with `cargo xtask test`"
            );
        }
        eprintln!(
            "NOTE: TEST_POSTGRES_URL is not set: PostgreSQL tests are SKIPPED. \
             Run `cargo xtask test` to run them against a throwaway PostgreSQL."
        );
        return None;
    };
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut admin = DbConfig::new(&admin_url);
    admin.max_connections = 1;
    let admin = Db::connect(&admin)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    let pool = admin
        .postgres_pool()
        .expect("TEST_POSTGRES_URL must be a postgres:// URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(pool)
        .await
        .expect("create a PostgreSQL test database");
    admin.close().await;
    let mut url = url::Url::from_str(&admin_url).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let mut config = DbConfig::new(&url);
    config.max_connections = 5;
    let db = Db::connect(&config)
        .await
        .expect("open the PostgreSQL test database");
    Some(TestDb { db, url, dir: None })
}

/// One fresh database per available backend: SQLite always, PostgreSQL when configured.
pub async fn all_backends() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres().await);
    dbs
}

//! `Db::transaction`: commit, rollback, and the retry of transient conflicts, on every backend.

use std::sync::Arc;

use shared_server::db::{Backend, Db, RepoError};
use shared_server::on_conn;
use shared_server::testing::all_backends;

async fn exec(db: &Db, sql: &'static str) {
    let mut pooled = db.acquire().await.unwrap();
    on_conn!(pooled.conn(), |c| sqlx::query(sql)
        .execute(&mut *c)
        .await
        .map(|_| ()))
    .unwrap();
}

async fn counter(db: &Db) -> i64 {
    let mut pooled = db.acquire().await.unwrap();
    on_conn!(pooled.conn(), |c| sqlx::query_scalar(
        "SELECT value FROM counter"
    )
    .fetch_one(&mut *c)
    .await)
    .unwrap()
}

/// Reads the counter, then writes it + 1: a read-then-write that conflicts under concurrency.
async fn increment(db: &Db) -> Result<(), RepoError> {
    db.transaction(|tx| {
        Box::pin(async move {
            let mut conn = tx.conn();
            if conn.backend() == Backend::Postgres {
                on_conn!(&mut conn, |c| sqlx::query(
                    "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"
                )
                .execute(&mut **c)
                .await
                .map(|_| ()))?;
            }
            let value: i64 = on_conn!(&mut conn, |c| sqlx::query_scalar(
                "SELECT value FROM counter"
            )
            .fetch_one(&mut **c)
            .await)?;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            on_conn!(&mut conn, |c| sqlx::query("UPDATE counter SET value = $1")
                .bind(value + 1)
                .execute(&mut **c)
                .await
                .map(|_| ()))?;
            Ok(())
        })
    })
    .await
}

#[tokio::test]
async fn commits_on_ok_and_rolls_back_on_err() {
    for test in all_backends().await {
        let db = &test.db;
        exec(db, "CREATE TABLE counter (value BIGINT NOT NULL)").await;
        exec(db, "INSERT INTO counter (value) VALUES (0)").await;
        increment(db).await.unwrap();
        assert_eq!(counter(db).await, 1);

        let failed = db
            .transaction(|tx| {
                Box::pin(async move {
                    on_conn!(tx.conn(), |c| sqlx::query("UPDATE counter SET value = 100")
                        .execute(&mut *c)
                        .await
                        .map(|_| ()))?;
                    Err::<(), _>(RepoError::Invalid {
                        message: "changed my mind".into(),
                    })
                })
            })
            .await;
        assert!(matches!(failed, Err(RepoError::Invalid { .. })));
        assert_eq!(
            counter(db).await,
            1,
            "{:?}: the failed transaction rolled back",
            test.backend()
        );
    }
}

#[tokio::test]
async fn concurrent_read_then_write_conflicts_are_retried() {
    for test in all_backends().await {
        let db = Arc::new(test.db.clone());
        exec(&db, "CREATE TABLE counter (value BIGINT NOT NULL)").await;
        exec(&db, "INSERT INTO counter (value) VALUES (0)").await;
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { increment(&db).await })
            })
            .collect();
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("{:?}: {e}", test.backend()));
        }
        assert_eq!(
            counter(&db).await,
            3,
            "{:?}: no lost update",
            test.backend()
        );
    }
}

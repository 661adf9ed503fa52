//! The `Db`'s outage state (issue 20), through a TCP proxy to PostgreSQL that the test cuts: a
//! failed or slow acquire makes the database known-unreachable, later acquires fail at once with
//! an error `is_unavailable` recognizes, and a probe clears the state once the database answers
//! again. A pool that is merely exhausted is not an outage. PostgreSQL only: an embedded SQLite
//! file has no network to lose.

use std::time::{Duration, Instant};

use shared_server::db::{is_unavailable, Db, DbConfig};
use shared_server::testing::{postgres, CutProxy};

async fn connect(url: &str, acquire_timeout: Duration, max_connections: u32) -> Db {
    let mut config = DbConfig::new(url);
    config.acquire_timeout = acquire_timeout;
    config.max_connections = max_connections;
    Db::connect(&config)
        .await
        .expect("connect through the proxy")
}

async fn select_one(db: &Db) -> Result<(), sqlx::Error> {
    let mut pooled = db.acquire().await?;
    shared_server::on_conn!(pooled.conn(), |c| sqlx::query("SELECT 1")
        .execute(&mut *c)
        .await
        .map(|_| ()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_known_quickly_refused_at_once_and_cleared_by_the_probe() {
    let Some(test) = postgres().await else { return };
    let proxy = CutProxy::start(&test.url).await.unwrap();
    let db = connect(&proxy.url(), Duration::from_secs(5), 4).await;
    select_one(&db).await.expect("healthy through the proxy");
    assert_eq!(db.unreachable_for(), None);

    proxy.cut();
    // The first acquire finds out: it does not wait the 5 s acquire timeout.
    let started = Instant::now();
    let first = select_one(&db).await.expect_err("the database is gone");
    let first_took = started.elapsed();
    assert!(is_unavailable(&first), "{first}");
    assert!(
        first_took < Duration::from_secs(2),
        "first failure after {first_took:?}"
    );
    // Then it is known, and every acquire is refused at once.
    let deadline = Instant::now() + Duration::from_secs(2);
    while db.unreachable_for().is_none() {
        assert!(Instant::now() < deadline, "the outage becomes known");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..20 {
        let started = Instant::now();
        let refused = db.begin().await.err().expect("refused during the outage");
        assert!(started.elapsed() < Duration::from_millis(50));
        assert!(is_unavailable(&refused), "{refused}");
        assert!(refused.to_string().contains("unreachable"), "{refused}");
    }
    assert!(db.ping(Duration::from_secs(2)).await.is_err());

    proxy.restore();
    let restored = Instant::now();
    while db.unreachable_for().is_some() {
        assert!(
            restored.elapsed() < Duration::from_secs(3),
            "the probe notices the database is back"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    select_one(&db)
        .await
        .expect("works again without a new pool");
    db.close().await;
    test.db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_is_not_an_outage() {
    let Some(test) = postgres().await else { return };
    let db = connect(&test.url, Duration::from_millis(600), 1).await;
    let held = db.acquire().await.unwrap();
    let waited = db.acquire().await.err().expect("no connection is free");
    assert!(matches!(waited, sqlx::Error::PoolTimedOut), "{waited}");
    // The slow acquire made the database suspect; the check connected fine.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(db.unreachable_for(), None, "a busy pool is not an outage");
    drop(held);
    select_one(&db).await.unwrap();
    db.close().await;
    test.db.close().await;
}

//! Embedding the runtime in your own program: extend it with your own service (a small job queue
//! backed by the runtime's database, with a worker the layer starts and its finalizer stops) and
//! run work in it.
//!
//! `cargo run -p runtime-server --example job_queue`

use std::sync::Arc;
use std::time::Duration;

use runtime_server::{runtime_layer, AppConfig, ServerRuntime};
use shared_server::layer::{BoxError, Layer};
use shared_server::{on_conn, Db};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Your service: enqueue jobs; a worker processes them in the background.
struct JobQueue {
    db: Db,
    wake: Arc<Notify>,
}

impl JobQueue {
    async fn enqueue(&self, payload: &str) -> Result<(), sqlx::Error> {
        let mut pooled = self.db.acquire().await?;
        let payload = payload.to_string();
        on_conn!(pooled.conn(), |c| {
            sqlx::query("INSERT INTO example_jobs (payload, done) VALUES ($1, FALSE)")
                .bind(payload)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        self.wake.notify_one();
        Ok(())
    }

    async fn done_count(&self) -> Result<i64, sqlx::Error> {
        let mut pooled = self.db.acquire().await?;
        on_conn!(pooled.conn(), |c| {
            sqlx::query_scalar("SELECT COUNT(*) FROM example_jobs WHERE done")
                .fetch_one(&mut *c)
                .await
        })
    }
}

/// Processes pending jobs until `stop` fires.
async fn work(db: Db, wake: Arc<Notify>, stop: CancellationToken) {
    loop {
        let processed = async {
            let mut pooled = db.acquire().await?;
            on_conn!(pooled.conn(), |c| {
                sqlx::query("UPDATE example_jobs SET done = TRUE WHERE NOT done")
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected())
            })
        }
        .await;
        match processed {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "processed jobs"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "job worker"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = wake.notified() => {},
            _ = tokio::time::sleep(Duration::from_secs(1)) => {},
        }
    }
}

/// The job queue layer: needs the runtime's `Db`, provides `JobQueue`, owns a worker task.
fn job_queue_layer() -> Layer {
    Layer::named_leaf("JobQueue")
        .requires::<Db>()
        .service(|ctx, scope| async move {
            let db = ctx.get::<Db>()?;
            let mut pooled = db.acquire().await?;
            on_conn!(pooled.conn(), |c| {
                sqlx::query("CREATE TABLE IF NOT EXISTS example_jobs (payload TEXT NOT NULL, done BOOLEAN NOT NULL)")
                    .execute(&mut *c)
                    .await
                    .map(|_| ())
            })?;
            drop(pooled);
            let wake = Arc::new(Notify::new());
            let stop = CancellationToken::new();
            let worker = tokio::spawn(work((*db).clone(), wake.clone(), stop.clone()));
            scope
                .add_finalizer("stop job worker", move || async move {
                    stop.cancel();
                    worker.await.map_err(|e| Box::new(e) as BoxError)
                })
                .await;
            Ok::<_, BoxError>(JobQueue {
                db: (*db).clone(),
                wake,
            })
        })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let config = AppConfig::load()?;
    // Your layer on top of the whole runtime; `provide_merge` keeps the runtime's services too.
    let runtime = ServerRuntime::new(job_queue_layer().provide_merge(&runtime_layer(config)));

    runtime
        .run("jobs.enqueue_batch", |ctx| async move {
            let queue = ctx.get::<JobQueue>()?;
            for n in 0..3 {
                queue.enqueue(&format!("send report {n}")).await?;
            }
            Ok::<_, BoxError>(())
        })
        .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let done = runtime
        .run("jobs.count", |ctx| async move {
            Ok::<_, BoxError>(ctx.get::<JobQueue>()?.done_count().await?)
        })
        .await?;
    println!("jobs done: {done}");
    // Releases in reverse: the worker stops before the database pool closes.
    runtime.dispose().await?;
    Ok(())
}

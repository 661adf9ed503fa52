//! The persistence layer: database pool (with migrations applied), object storage and clock,
//! built from `AppConfig` (slices.md §9, "persistence").

pub mod s3;

use std::sync::Arc;

use shared_server::db::migrate::{self, MigrationReport, SliceMigrations};
use shared_server::layer::{BoxError, Context, Layer};
use shared_server::storage::{LocalObjectStore, ObjectStore};
use shared_server::{Clock, Db, SystemClock};

use crate::config::{AppConfig, ObjectStoreConfig};

/// The local object store when it is the configured backend: the server mounts its signed-URL
/// routes and tells it the public base URL once the listener is bound.
#[derive(Clone, Default)]
pub struct LocalObjects(pub Option<Arc<LocalObjectStore>>);

/// The outcome of the start-up migration run.
#[derive(Debug, Clone)]
pub struct AppliedMigrations(pub MigrationReport);

/// `Db`: the pool, closed by the layer's finalizer.
pub fn database_layer() -> Layer {
    Layer::named_leaf("Database")
        .requires::<AppConfig>()
        .service(|ctx, scope| async move {
            let config = ctx.get::<AppConfig>()?;
            let db = Db::connect(&config.database).await?;
            let closing = db.clone();
            scope
                .add_finalizer("close database pool", move || async move {
                    closing.close().await;
                    tracing::info!(database = %closing.target(), "database pool closed");
                    Ok(())
                })
                .await;
            Ok::<_, BoxError>(db)
        })
}

/// Applies every slice's pending migrations in dependency order before any slice starts.
pub fn migrations_layer(slices: Vec<&'static SliceMigrations>) -> Layer {
    let slices = Arc::new(slices);
    Layer::named_leaf("Migrations")
        .requires::<Db>()
        .service(move |ctx, _| {
            let slices = slices.clone();
            async move {
                let db = ctx.get::<Db>()?;
                let report = migrate::run(&db, &slices).await?;
                tracing::info!(
                    applied = report.applied.len(),
                    already_applied = report.already_applied,
                    "database schema up to date"
                );
                Ok::<_, BoxError>(AppliedMigrations(report))
            }
        })
}

/// `dyn ObjectStore`: the local filesystem (default) or S3.
pub fn object_store_layer() -> Layer {
    Layer::named_leaf("ObjectStore")
        .requires::<AppConfig>()
        .provides::<dyn ObjectStore>()
        .provides::<LocalObjects>()
        .build(|ctx, _| async move {
            let config = ctx.get::<AppConfig>()?;
            let mut out = Context::new();
            match &config.object_store {
                ObjectStoreConfig::Local { root } => {
                    let base_url = config
                        .public_url
                        .clone()
                        .unwrap_or_else(|| format!("http://{}:{}", config.host, config.port));
                    let store = Arc::new(LocalObjectStore::new(
                        root.clone(),
                        config.auth_secret.expose().as_bytes().to_vec(),
                        base_url,
                    )?);
                    tracing::info!(root = %root.display(), "object store: local filesystem");
                    out.insert_arc::<dyn ObjectStore>(store.clone());
                    out.insert(LocalObjects(Some(store)));
                }
                ObjectStoreConfig::S3(s3_config) => {
                    let store = s3::S3ObjectStore::new(s3_config.clone())?;
                    tracing::info!(bucket = %s3_config.bucket, endpoint = ?s3_config.endpoint, "object store: S3");
                    out.insert_arc::<dyn ObjectStore>(Arc::new(store));
                    out.insert(LocalObjects(None));
                }
            }
            Ok::<_, BoxError>(out)
        })
}

/// `dyn Clock`: the system clock (tests replace this layer with a `FixedClock`).
pub fn clock_layer() -> Layer {
    Layer::shared::<dyn Clock>("Clock", Arc::new(SystemClock))
}

/// Persistence = (Migrations + Database) + ObjectStore + Clock.
pub fn layer(migrations: Vec<&'static SliceMigrations>) -> Layer {
    Layer::merge_all([
        migrations_layer(migrations).provide_merge(&database_layer()),
        object_store_layer(),
        clock_layer(),
    ])
    .named("Persistence")
}

//! The shared slice's layer (`shared_server::layer()`): the repositories of the shared tables,
//! over the runtime's `Db` and `Clock`, the upload service over the `ObjectStore` and its
//! `UploadSessionCleanup` job (stopped when the layer is released), the
//! `EventHub` (relayed through `LISTEN/NOTIFY` on PostgreSQL, in-process on SQLite; slices.md
//! §1.3), and the slice's RPC group (`shared`, §1.7) as [`SharedRpc`]. (It lives here because
//! `layer/` holds the layer model.)
//!
//! The upload settings are a required [`UploadConfig`] service: the runtime reads `UPLOAD_*`
//! from the environment; tests provide [`UploadConfig::development`].

use std::sync::Arc;

use crate::events::{EventHub, InProcessHub, PgRelayHub};
use crate::files::{
    UploadConfig, UploadService, UploadSessionCleanup, CLEANUP_FIRST_RUN, CLEANUP_INTERVAL,
};
use crate::layer::{BoxError, Context, Layer};
use crate::repos::{
    FileRepo, FolderRepo, OrganizationRepo, SessionRepo, TeamRepo, UploadSessionRepo, UserRepo,
};
use crate::rpc::{shared_group, SharedRpc, SharedState};
use crate::storage::ObjectStore;
use crate::{Clock, Db};

pub fn layer() -> Layer {
    Layer::named_leaf("shared")
        .requires::<Db>()
        .requires::<dyn Clock>()
        .requires::<dyn ObjectStore>()
        .requires::<UploadConfig>()
        .provides::<UserRepo>()
        .provides::<OrganizationRepo>()
        .provides::<TeamRepo>()
        .provides::<SessionRepo>()
        .provides::<FileRepo>()
        .provides::<FolderRepo>()
        .provides::<UploadSessionRepo>()
        .provides::<dyn EventHub>()
        .provides::<UploadService>()
        .provides::<UploadSessionCleanup>()
        .provides::<SharedRpc>()
        .build(|ctx, scope| async move {
            let db = (*ctx.get::<Db>()?).clone();
            let clock = ctx.get::<dyn Clock>()?;
            let store = ctx.get::<dyn ObjectStore>()?;
            let config = ctx.get::<UploadConfig>()?;
            let events: Arc<dyn EventHub> = match db.postgres_pool() {
                Some(pool) => {
                    let relay = PgRelayHub::start(pool.clone()).await?;
                    let stopping = relay.clone();
                    scope
                        .add_finalizer("stop the event relay", move || async move {
                            stopping.shutdown().await;
                            Ok(())
                        })
                        .await;
                    relay
                }
                None => Arc::new(InProcessHub::new()),
            };
            let files = FileRepo::new(db.clone(), clock.clone());
            let folders = FolderRepo::new(db.clone(), clock.clone());
            let teams = TeamRepo::new(db.clone(), clock.clone());
            let uploads = UploadSessionRepo::new(db.clone(), clock.clone());
            let cleanup = UploadSessionCleanup::new(uploads.clone(), store.clone(), clock.clone());
            let job = cleanup.clone().start(CLEANUP_FIRST_RUN, CLEANUP_INTERVAL);
            scope
                .add_finalizer("stop the upload session clean-up", move || async move {
                    job.shutdown().await;
                    Ok(())
                })
                .await;
            let upload_service = Arc::new(UploadService::new(
                config,
                db.clone(),
                clock.clone(),
                store,
                events.clone(),
                files.clone(),
                folders.clone(),
                teams.clone(),
                uploads.clone(),
            ));
            let state = SharedState {
                uploads: upload_service.clone(),
                files: files.clone(),
                folders: folders.clone(),
                events: events.clone(),
            };
            let services = Context::new()
                .with(UserRepo::new(db.clone(), clock.clone()))
                .with(OrganizationRepo::new(db.clone(), clock.clone()))
                .with(teams)
                .with(SessionRepo::new(db, clock))
                .with(files)
                .with(folders)
                .with(uploads)
                .with_arc(upload_service)
                .with(cleanup)
                .with_arc::<dyn EventHub>(events)
                .with(SharedRpc(shared_group(state)));
            Ok::<_, BoxError>(services)
        })
}

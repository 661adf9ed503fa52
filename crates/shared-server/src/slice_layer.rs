//! The shared slice's layer (`shared_server::layer()`): the repositories of the shared tables,
//! over the runtime's `Db` and `Clock`. (It lives here because `layer/` holds the layer model.)
//!
//! It also provides the slice's RPC group (`shared`) as [`SharedRpc`].
//! The upload service, event hub, files procedures and cleanup job of slices.md §1.3 arrive
//! with the issues that use them; this layer provides only what exists.

use crate::layer::{BoxError, Context, Layer};
use crate::repos::{
    FileRepo, FolderRepo, OrganizationRepo, SessionRepo, TeamRepo, UploadSessionRepo, UserRepo,
};
use crate::rpc::{shared_group, SharedRpc, SharedState};
use crate::{Clock, Db};

pub fn layer() -> Layer {
    Layer::named_leaf("shared")
        .requires::<Db>()
        .requires::<dyn Clock>()
        .provides::<UserRepo>()
        .provides::<OrganizationRepo>()
        .provides::<TeamRepo>()
        .provides::<SessionRepo>()
        .provides::<FileRepo>()
        .provides::<FolderRepo>()
        .provides::<UploadSessionRepo>()
        .provides::<SharedRpc>()
        .build(|ctx, _| async move {
            let db = (*ctx.get::<Db>()?).clone();
            let clock = ctx.get::<dyn Clock>()?;
            let services = Context::new()
                .with(UserRepo::new(db.clone(), clock.clone()))
                .with(OrganizationRepo::new(db.clone(), clock.clone()))
                .with(TeamRepo::new(db.clone(), clock.clone()))
                .with(SessionRepo::new(db.clone(), clock.clone()))
                .with(FileRepo::new(db.clone(), clock.clone()))
                .with(FolderRepo::new(db.clone(), clock.clone()))
                .with(UploadSessionRepo::new(db, clock));
            let rpc = SharedRpc(shared_group(SharedState::default()));
            Ok::<_, BoxError>(services.with(rpc))
        })
}

//! The composition: every slice merged with persistence and tooling into the runtime layer, and
//! the Server layer on top. Mirrors the original system:
//! `Authentication (iam + email + data access) + Persistence (db + object storage) + Tooling`.

use documents_server::DocumentsRpc;
use shared_server::db::migrate::SliceMigrations;
use shared_server::layer::Layer;
use shared_server::rpc::{GroupEntry, SharedRpc};

use crate::config::AppConfig;
use crate::server::{self, ExtraRoutes};
use crate::{persistence, tooling};

/// Every slice's migrations; the runner orders them by their declared dependencies.
pub fn migrations() -> Vec<&'static SliceMigrations> {
    vec![
        &shared_server::migrations::SHARED_MIGRATIONS,
        &documents_server::DOCUMENTS_MIGRATIONS,
        &comms_server::COMMS_MIGRATIONS,
        &iam_server::IAM_MIGRATIONS,
    ]
}

/// Every RPC group the server serves, one line per slice: each is served at `/v1/<name>/rpc`
/// (the group's name: `shared` -> `/v1/shared/rpc`). Two groups with one name, or a tag declared
/// twice, stop start-up naming both (`RpcRegistry`); a listed group no layer provides is a
/// missing requirement of the Server layer.
pub fn rpc_groups() -> Vec<GroupEntry> {
    vec![
        GroupEntry::of::<SharedRpc>(),    // /v1/shared/rpc     slices.md §1.7
        GroupEntry::of::<DocumentsRpc>(), // /v1/documents/rpc  slices.md §3.5
    ]
}

/// The slices' layers in the order of their requirements (slices.md §9): shared first; then
/// documents and comms (siblings, built concurrently); then iam and knowledge, which use their
/// services; calendar and customization need only persistence and build beside the rest.
pub fn slices_layer() -> Layer {
    let shared = shared_server::layer();
    let second =
        Layer::merge_all([documents_server::layer(), comms_server::layer()]).provide_merge(&shared);
    let third =
        Layer::merge_all([iam_server::layer(), knowledge_server::layer()]).provide_merge(&second);
    Layer::merge_all([
        third,
        calendar_server::layer(),
        customization_server::layer(),
    ])
    .named("Slices")
}

/// Everything but the HTTP listener: for embedding (CLI jobs, workers, your own axum app).
/// Build order: config, tooling, persistence, slices; release runs in reverse, tooling last.
pub fn runtime_layer(config: AppConfig) -> Layer {
    let slice_configs = Layer::merge_all([
        Layer::value("CommsConfig", config.comms.clone()),
        Layer::shared("IamConfig", config.iam.clone()),
        Layer::value("UploadConfig", config.uploads.clone()),
    ]);
    slices_layer()
        .provide_merge(&persistence::layer(migrations()))
        .provide_merge(&tooling::layer())
        .provide_merge(&Layer::merge_all([
            Layer::value("AppConfig", config),
            slice_configs,
        ]))
        .named("Runtime")
}

/// The runtime plus the HTTP server (what `runtime-server serve` runs).
pub fn server_layer(config: AppConfig) -> Layer {
    server_layer_with(config, ExtraRoutes::default())
}

/// The runtime plus the HTTP server with extra routes of the embedding program.
pub fn server_layer_with(config: AppConfig, extra: ExtraRoutes) -> Layer {
    server::layer_with(extra)
        .provide_merge(&runtime_layer(config))
        .named("Server")
}

/// [`server_layer_with`] plus the embedding program's own slice layers (built on the runtime's
/// services); the groups they provide are served when `extra.rpc_groups` lists them.
pub fn server_layer_with_slices(config: AppConfig, extra: ExtraRoutes, slices: Layer) -> Layer {
    server::layer_with(extra)
        .provide_merge(&slices.provide_merge(&runtime_layer(config)))
        .named("Server")
}

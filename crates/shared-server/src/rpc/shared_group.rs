//! The `shared` RPC group at `/v1/shared/rpc` (slices.md §1.7), declared on the typed kit:
//! `getHealth` and the `files_*` procedures (handlers in [`crate::files::procedures`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::failure::ProcedureError;
use super::group::RpcGroup;
use crate::files::procedures as files;
use crate::files::UploadService;
use crate::repos::{FileRepo, FolderRepo};

/// `getHealth`'s success: `{"status":"ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// What the shared group's handlers receive; the shared slice layer builds it once.
#[derive(Debug, Clone)]
pub struct SharedState {
    pub uploads: Arc<UploadService>,
    pub files: FileRepo,
    pub folders: FolderRepo,
}

crate::slice_rpc!(
    /// The shared slice's group, as a service of its own so that every slice's group adds up
    /// (runtime-server's group table lists each one).
    SharedRpc
);

/// The group table of slices.md §1.7.
pub fn shared_group(state: SharedState) -> RpcGroup {
    RpcGroup::with_state("shared", state)
        .public("getHealth", get_health)
        .org("files_initiateUpload", files::initiate_upload)
        .org("files_completeUpload", files::complete_upload)
        .org_stream("files_list", files::list)
        .org("files_createFolder", files::create_folder)
        .org("files_deleteFiles", files::delete_files)
        .org("files_deleteFolders", files::delete_folders)
        .org("files_getFilesByKeys", files::get_files_by_keys)
        .org("files_moveFiles", files::move_files)
        .build()
}

/// The `shared` group with `getHealth` alone: for transport tests that serve no database.
pub fn health_group() -> RpcGroup {
    RpcGroup::with_state("shared", ())
        .public("getHealth", get_health)
        .build()
}

/// `getHealth` (public) -> `{status: "ok"}`: answers as long as the process serves requests (no
/// dependency is checked: that is `/v1/ready`'s job).
pub async fn get_health<S>(_: Arc<S>, _: (), _: ()) -> Result<Health, ProcedureError> {
    Ok(Health {
        status: "ok".into(),
    })
}

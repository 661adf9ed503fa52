//! The `shared` RPC group at `/v1/shared/rpc` (slices.md §1.7), declared on the typed kit:
//! `getHealth`, the `files_*` procedures (handlers in [`crate::files::procedures`]) and
//! `eventStream_connect` (over [`crate::events`]).

use std::sync::Arc;

use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::failure::ProcedureError;
use super::group::RpcGroup;
use crate::auth::AuthContext;
use crate::events::{event_stream, user_topic, EventHub, EventStreamTiming};
use crate::files::procedures as files;
use crate::files::UploadService;
use crate::repos::{FileRepo, FolderRepo};

/// `getHealth`'s success: `{"status":"ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// What the shared group's handlers receive; the shared slice layer builds it once.
#[derive(Clone)]
pub struct SharedState {
    pub uploads: Arc<UploadService>,
    pub files: FileRepo,
    pub folders: FolderRepo,
    pub events: Arc<dyn EventHub>,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState")
            .field("uploads", &self.uploads)
            .finish_non_exhaustive()
    }
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
        .authenticated_stream("eventStream_connect", event_stream_connect)
        .build()
}

/// `eventStream_connect` (stream): the caller's `user:<id>` events in arrays (batches of up to
/// 25 or 50 ms) and `[{"_tag": "Ka"}]` every 3 s, until the client ends the call (§1.7).
pub async fn event_stream_connect(
    s: Arc<SharedState>,
    who: AuthContext,
    _: (),
) -> Result<impl Stream<Item = Result<Vec<Json>, ProcedureError>> + Send + 'static, ProcedureError>
{
    let subscription = s.events.subscribe(&user_topic(&who.user.id));
    Ok(event_stream(subscription, EventStreamTiming::default()).map(Ok))
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

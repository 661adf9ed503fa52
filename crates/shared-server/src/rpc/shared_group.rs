//! The `shared` RPC group at `/v1/shared/rpc` (slices.md §1.7), declared on the typed kit. Only
//! `getHealth` exists now; the `files_*` procedures and `eventStream_connect` arrive with their
//! issue, one line each in [`shared_group`].

use serde::{Deserialize, Serialize};

use super::failure::ProcedureError;
use super::group::RpcGroup;

/// `getHealth`'s success: `{"status":"ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// What the shared group's handlers receive; the shared slice layer builds it once.
#[derive(Debug, Clone, Default)]
pub struct SharedState {}

crate::slice_rpc!(
    /// The shared slice's group, as a service of its own so that every slice's group adds up
    /// (runtime-server's group table lists each one).
    SharedRpc
);

/// The group table of slices.md §1.7.
pub fn shared_group(state: SharedState) -> RpcGroup {
    RpcGroup::with_state("shared", state)
        .public("getHealth", get_health)
        .build()
}

/// `getHealth` (public) -> `{status: "ok"}`: answers as long as the process serves requests (no
/// dependency is checked: that is `/v1/ready`'s job).
pub async fn get_health(
    _: std::sync::Arc<SharedState>,
    _: (),
    _: (),
) -> Result<Health, ProcedureError> {
    Ok(Health {
        status: "ok".into(),
    })
}

//! The `shared` RPC group at `/v1/shared/rpc` (slices.md §1.7). Only `getHealth` exists now;
//! the `files_*` procedures and `eventStream_connect` arrive with their issue.

use serde::{Deserialize, Serialize};

use super::error::RpcResult;
use super::group::RpcGroup;
use crate::layer::Context;

/// `getHealth`'s success: `{"status":"ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// The group's declaration; the shared slice layer binds it to its services.
pub fn shared_group() -> RpcGroup {
    RpcGroup::new("shared").public("getHealth", get_health)
}

/// Answers as long as the process serves requests (no dependency is checked: that is
/// `/v1/ready`'s job).
pub async fn get_health(_: Context, _: ()) -> RpcResult<Health> {
    Ok(Health {
        status: "ok".into(),
    })
}

//! Typed RPC procedures in the Effect RPC model (effect-rpc-protocol.md): a slice declares its
//! groups here once, the runtime serves them over WebSocket and HTTP (`runtime_server::rpc`).
//!
//! - [`group`]: [`RpcGroup`] and the declaration methods; handlers are plain async functions
//!   that receive the [`Context`](crate::Context) and, for protected procedures, the
//!   [`AuthContext`](crate::auth::AuthContext);
//! - [`error`]: how handlers fail ([`RpcError`]: typed failure, `Unauthorized`, defect);
//! - [`exit`]: the Effect `Exit`/`Cause` encodings the client decodes;
//! - [`access`]: the per-call authentication check;
//! - [`encoding`]: serde encodings of Effect Schemas (dates, options, bigints, ...);
//! - [`typed`]: the typed kit slices declare their groups with ([`RpcGroup::with_state`]):
//!   handlers of (state, caller, payload) returning `Result<T, E: IntoFailure>`;
//! - [`caller`]: the caller forms (`()`, `AuthContext`, [`OrgCaller`]);
//! - [`failure`]: [`Failure`] and the one mapping of repository errors (slices.md §0.7);
//! - [`registry`]: groups that add up ([`SliceRpc`], [`RpcRegistry`]);
//! - [`transport`]: the server side of the protocol (WebSocket, HTTP JSON/NDJSON);
//! - [`shared_group`]: this slice's own group (`getHealth`).
//!
//! ```
//! use futures::stream::{self, Stream};
//! use serde::{Deserialize, Serialize};
//! use shared_server::auth::AuthContext;
//! use shared_server::rpc::{NoError, RpcGroup, RpcResult};
//! use shared_server::Context;
//!
//! #[derive(Serialize, Deserialize)]
//! struct Echo { text: String }
//!
//! #[derive(Deserialize)]
//! struct CountTo { n: u64 }
//!
//! #[derive(Debug, Serialize)]
//! #[serde(tag = "_tag", rename = "RpcTestError")]
//! struct RpcTestError { message: String }
//!
//! #[derive(Serialize)]
//! #[serde(rename_all = "camelCase")]
//! struct WhoAmI { user_id: String }
//!
//! async fn echo(_: Context, payload: Echo) -> RpcResult<Echo> { Ok(payload) }
//!
//! async fn fail_with(_: Context, payload: Echo) -> RpcResult<(), RpcTestError> {
//!     Err(RpcTestError { message: payload.text }.into())
//! }
//!
//! async fn count_to(_: Context, p: CountTo)
//!     -> RpcResult<impl Stream<Item = RpcResult<u64>>> {
//!     Ok(stream::iter((1..=p.n).map(Ok)))
//! }
//!
//! async fn who_am_i(_: Context, caller: AuthContext, _: ()) -> RpcResult<WhoAmI> {
//!     Ok(WhoAmI { user_id: caller.user.id.to_string() })
//! }
//!
//! let group = RpcGroup::new("test")            // served at /v1/test/rpc
//!     .public("echo", echo)
//!     .public("failWith", fail_with)
//!     .public_stream("countTo", count_to)
//!     .authenticated("whoAmI", who_am_i);
//! assert!(group.procedure("countTo").unwrap().is_stream());
//! # let _: Option<NoError> = None;
//! ```

pub mod access;
pub mod caller;
pub mod encoding;
pub mod error;
pub mod exit;
pub mod failure;
pub mod group;
pub mod registry;
pub mod shared_group;
pub mod transport;
pub mod typed;

pub use access::{authenticate, require_organization, resolve_caller, Access};
pub use caller::{Caller, FromCaller, OrgCaller};
pub use encoding::EffectOption;
pub use error::{NoError, RpcError, RpcResult, Unauthorized, INTERNAL_ERROR};
pub use exit::{Cause, Defect, Exit, FiberId};
pub use failure::{Failure, IntoFailure, ProcedureError};
pub use group::{Invocation, Procedure, RpcGroup};
pub use registry::{GroupEntry, RegistryError, RpcRegistry, SliceRpc};
pub use shared_group::{health_group, shared_group, SharedRpc, SharedState};
pub use transport::{router, CallerTrace, RpcLimits, RpcShutdown, TraceJoin};
pub use typed::Procedures;

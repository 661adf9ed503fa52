//! Test support for every slice crate:
//!
//! - [`db`]: a fresh database per test on SQLite and, when `TEST_POSTGRES_URL` is set (`cargo
//!   xtask test` sets it), on PostgreSQL ([`all_backends`]);
//! - [`app`] (feature `testing`): [`TestApp`], a slice's layer served over the real RPC
//!   transport on port 0, with members of two organizations and one call to reach a procedure;
//! - [`auth`] (feature `testing`): [`TestAuth`], the bearer-token caller resolver and
//!   membership port those apps use (iam is not needed to test a slice).

pub mod db;

#[cfg(feature = "testing")]
pub mod app;
#[cfg(feature = "testing")]
pub mod auth;

pub use db::{all_backends, postgres, sqlite, TestDb};

#[cfg(feature = "testing")]
pub use app::{RpcReply, TestApp, TestUser};
#[cfg(feature = "testing")]
pub use auth::TestAuth;

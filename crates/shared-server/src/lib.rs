//! `shared-server`: the kernel every slice builds on.
//!
//! - [`layer`]: the Layer/Context/Scope model every slice uses to declare its services;
//! - persistence ports shared by all slices (database, object storage, clock);
//! - the shared tables (users, organizations, teams, sessions, files, folders, upload sessions).

pub mod layer;

pub use layer::{BoxError, Context, Layer, Scope};
pub mod storage;

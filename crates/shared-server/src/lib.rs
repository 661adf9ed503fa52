//! `shared-server`: the kernel every slice builds on.
//!
//! - [`layer`]: the Layer/Context/Scope model every slice uses to declare its services;
//! - [`db`], [`storage`], [`time`]: the persistence ports shared by all slices;
//! - [`ids`]: typed public ids (`<table>__<uuid>`);
//! - [`config`]: the environment reader every slice and the runtime use.
//! - [`files`]: object keys, uploads and the `files_*` procedures (slices.md §1.3–§1.7);
//! - [`events`]: the `EventHub` and `eventStream_connect`'s stream (§1.3, §1.7);
//! - [`snapshots`]: the `DocumentSnapshots` port (§9) and its in-memory double.

pub mod auth;
pub mod config;
pub mod db;
pub mod entities;
pub mod events;
pub mod files;
pub mod ids;
pub mod layer;
pub mod mail;
pub mod migrations;
pub mod repos;
pub mod rpc;
mod slice_layer;
pub mod snapshots;
pub mod storage;
pub mod testing;
pub mod time;

pub use db::{Conn, Db, DbConfig, RepoError};
pub use layer::{BoxError, Context, Layer, Scope};
pub use slice_layer::layer;
pub use time::{Clock, FixedClock, SystemClock, Timestamp};

#[doc(hidden)]
pub use sqlx as __sqlx;

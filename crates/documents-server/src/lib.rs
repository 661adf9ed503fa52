//! `documents-server`: the documents slice (slices.md §3): hierarchical pages per organization
//! with full-text search on SQLite (FTS5) and PostgreSQL (tsvector), anchored discussions with
//! comments, and immutable versions that knowledge evidence cites through the
//! `DocumentSnapshots` port (§9).
//!
//! Reading order: `rpc/mod.rs` (the group: one line per procedure of §3.5) → `rpc/*` (short
//! handlers, payload rules in `rpc/payload.rs`) → `services/` (the access rules of §3.3) →
//! `repos/` (the queries of §3.4) → `entities/` (the rows of §3.1). `search.rs` turns the
//! websearch syntax into each backend's query; `snapshots.rs` implements the port; `layer.rs`
//! builds it all once; `error.rs` is the one error type and its mapping to the wire.

pub mod entities;
mod error;
mod layer;
mod migrations;
pub mod repos;
mod rpc;
pub mod search;
pub mod services;
mod snapshots;

pub use error::DocumentsError;
pub use layer::{layer, DocumentsRpc, DocumentsState};
pub use migrations::DOCUMENTS_MIGRATIONS;
pub use rpc::documents_group;
pub use snapshots::TableSnapshots;

//! `knowledge-server`: the knowledge slice. Its entities, repositories, services and RPC procedures arrive
//! with the issue that builds the slice; until then its layer provides nothing (no fake services).

mod layer;

pub use layer::layer;

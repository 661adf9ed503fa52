//! The layer model: typed [`Context`], [`Layer`] recipes with async fallible constructors,
//! resource [`Scope`]s and typed [`BuildError`]s, with Effect-TS `Layer` semantics.

mod context;
mod error;
mod graph;
#[allow(clippy::module_inception)]
mod layer;
mod scope;

pub use context::{Context, MissingService, ServiceKey};
pub use error::{BuildError, DuplicateProvider, MissingRequirement};
pub use graph::{GraphEdge, GraphNode, LayerGraph};
pub use layer::{build, BuildResult, Layer, LayerBuilder};
pub use scope::{panic_message, BoxError, FinalizerFailure, ReleaseError, Scope};

//! Typed failures of building a layer graph. Every variant names the layer it concerns.

use std::fmt;

use super::scope::BoxError;

/// A requirement that no layer in the graph provides, with the path of layers that needed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRequirement {
    pub service: &'static str,
    pub path: Vec<String>,
}

impl fmt::Display for MissingRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "service `{}` is required by `{}` but no layer provides it",
            self.service,
            self.path.join(" > ")
        )
    }
}

/// A service that two layers of one composition provide, neither declaring that it overrides
/// the other (`LayerBuilder::overrides`): which one a dependent gets would depend on merge order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateProvider {
    pub service: &'static str,
    pub layers: Vec<String>,
}

impl fmt::Display for DuplicateProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "service `{}` is provided by {} layers: `{}` (declare `.overrides::<{}>()` on the one that replaces the other)",
            self.service,
            self.layers.len(),
            self.layers.join("`, `"),
            self.service,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Found by checking the graph before anything is acquired.
    #[error("{}", join_missing(.0))]
    MissingRequirements(Vec<MissingRequirement>),
    /// Found by checking the graph before anything is acquired.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    DuplicateProviders(Vec<DuplicateProvider>),
    /// A constructor returned an error.
    #[error("layer `{layer}` failed to build: {source}")]
    Failed {
        layer: String,
        #[source]
        source: BoxError,
    },
    /// A constructor succeeded without providing a service it declared.
    #[error("layer `{layer}` declared that it provides `{service}` but did not")]
    MissingOutput {
        layer: String,
        service: &'static str,
    },
    /// A constructor panicked; the panic is caught and reported as a typed error.
    #[error("layer `{layer}` panicked while building: {message}")]
    Panicked { layer: String, message: String },
    /// The build task was cancelled (the runtime shut down while building).
    #[error("layer `{layer}` was cancelled while building")]
    Cancelled { layer: String },
}

impl BuildError {
    /// The name of the layer that failed (for `MissingRequirements`, the first needing one).
    pub fn layer(&self) -> &str {
        match self {
            BuildError::MissingRequirements(missing) => missing
                .first()
                .and_then(|m| m.path.last())
                .map(String::as_str)
                .unwrap_or(""),
            BuildError::DuplicateProviders(duplicates) => duplicates
                .first()
                .and_then(|d| d.layers.last())
                .map(String::as_str)
                .unwrap_or(""),
            BuildError::Failed { layer, .. }
            | BuildError::MissingOutput { layer, .. }
            | BuildError::Panicked { layer, .. }
            | BuildError::Cancelled { layer } => layer,
        }
    }
}

fn join_missing(missing: &[MissingRequirement]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

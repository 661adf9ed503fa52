//! The documents slice's layer: what the slice provides to the runtime.

use shared_server::layer::{BoxError, Context, Layer};

/// The documents slice. It provides no service yet.
pub fn layer() -> Layer {
    Layer::named_leaf("documents").build(|_, _| async { Ok::<_, BoxError>(Context::new()) })
}

//! The calendar slice's layer: what the slice provides to the runtime.

use shared_server::layer::{BoxError, Context, Layer};

/// The calendar slice. It provides no service yet.
pub fn layer() -> Layer {
    Layer::named_leaf("calendar").build(|_, _| async { Ok::<_, BoxError>(Context::new()) })
}

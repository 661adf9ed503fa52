//! The iam slice's layer: what the slice provides to the runtime.

use shared_server::layer::{BoxError, Context, Layer};

/// The iam slice. It provides no service yet.
pub fn layer() -> Layer {
    Layer::named_leaf("iam").build(|_, _| async { Ok::<_, BoxError>(Context::new()) })
}

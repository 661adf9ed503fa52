//! Object storage port: the `ObjectStore` trait and its local-filesystem implementation.

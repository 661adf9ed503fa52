//! `runtime-server`: composes every slice with persistence and tooling into one `ServerRuntime`.

pub mod persistence;

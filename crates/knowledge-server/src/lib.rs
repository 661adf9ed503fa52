//! `knowledge-server` slice crate.

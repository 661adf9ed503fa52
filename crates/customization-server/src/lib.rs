//! `customization-server` slice crate.

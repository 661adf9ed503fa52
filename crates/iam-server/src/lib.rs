//! `iam-server` slice crate.

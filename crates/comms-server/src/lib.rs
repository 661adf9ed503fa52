//! `comms-server` slice crate.

//! `calendar-server` slice crate.

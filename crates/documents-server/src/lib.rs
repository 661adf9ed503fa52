//! `documents-server` slice crate.

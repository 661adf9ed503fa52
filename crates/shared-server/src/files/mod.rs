//! Shared files (slices.md §1.3–§1.7): the object key layout, the upload service, and the
//! `files_*` procedures of the `shared` RPC group.
//!
//! - [`object_key`]: [`ObjectKey`], the §1.4 layout as a type (built once, parsed ever after).

pub mod object_key;

pub use object_key::{
    is_valid_entity_attribute, shard_of, EntityKind, InvalidObjectKey, KeyEnv, KeyParts, ObjectKey,
};

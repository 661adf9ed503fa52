//! Shared files (slices.md §1.3–§1.7): the object key layout, the upload service, and the
//! `files_*` procedures of the `shared` RPC group.
//!
//! - [`object_key`]: [`ObjectKey`], the §1.4 layout as a type (built once, parsed ever after);
//! - [`config`]: [`UploadConfig`], the `UPLOAD_*` settings;
//! - [`descriptor`]: the signed upload descriptor of §1.5;
//! - [`upload_service`]: [`UploadService`], initiation and completion of uploads;
//! - [`procedures`]: the `files_*` handlers;
//! - [`cleanup`]: the `UploadSessionCleanup` job;
//! - [`content_route`]: `GET /v1/shared/files/{fileId}/content` (§1.6).

pub mod cleanup;
pub mod config;
pub mod content_route;
pub mod descriptor;
pub mod object_key;
pub mod procedures;
mod upload_rules;
pub mod upload_service;

pub use cleanup::{CleanupHandle, UploadSessionCleanup, CLEANUP_FIRST_RUN, CLEANUP_INTERVAL};
pub use config::{MimeAllowList, UploadConfig, UploadConfigError, DEFAULT_ALLOWED_MIME_TYPES};
pub use content_route::{content_routes, ContentRouteState, CONTENT_URL_TTL};
pub use descriptor::{canonical_json, DescriptorSigner, UploadDescriptor};
pub use object_key::{
    is_valid_entity_attribute, shard_of, EntityKind, InvalidObjectKey, KeyEnv, KeyParts, ObjectKey,
};
pub use upload_service::{InitiateUpload, InitiatedUpload, UploadService, UPLOAD_SESSION_TTL};

//! Object storage port: the `ObjectStore` trait every slice stores file bytes through, and the
//! backends shipped with the kernel.
//!
//! - [`LocalObjectStore`]: files under a root directory, the default backend; its presigned URLs
//!   point at [`object_routes`], served by this server;
//! - [`MemoryObjectStore`]: an in-memory test double;
//! - the S3 backend lives in `runtime-server` (`persistence::s3`), which owns the AWS dependency.
//!
//! Keys follow slices.md §1.4 and keep their leading `/`; see [`key`] for the rules shared by all
//! backends.

mod error;
mod headers;
pub mod key;
mod local;
mod memory;
mod routes;
mod signing;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use error::StorageError;
pub use headers::{check_content_type, normalize_content_md5, DEFAULT_CONTENT_TYPE};
pub use key::{object_name, MAX_KEY_BYTES};
pub use local::{LocalObjectStore, DEFAULT_MAX_UPLOAD_BYTES};
pub use memory::MemoryObjectStore;
pub use routes::{object_routes, OBJECT_ROUTE_PREFIX};

/// Longest validity of a presigned URL (S3's limit, applied to every backend).
pub const MAX_PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Where file bytes live. Metadata lives in the database; this port only moves bytes.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Which backend this is: `"local"`, `"s3"` or `"memory"` (logs and readiness output).
    fn backend(&self) -> &'static str;

    /// Stores `body` under `key`, replacing any previous object.
    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), StorageError>;

    /// Reads a whole object; [`StorageError::NotFound`] when it does not exist.
    async fn get(&self, key: &str) -> Result<StoredObject, StorageError>;

    /// Size and content type of an object, `None` when it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError>;

    /// Deletes an object; deleting a missing object succeeds.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;

    /// Deletes every key; missing objects are skipped. All keys are validated before anything is
    /// deleted.
    async fn delete_many(&self, keys: &[String]) -> Result<(), StorageError>;

    /// A URL the client uploads `key` to with one PUT, sending the returned headers
    /// (`Content-Type`, and `Content-MD5` when `content_md5` is given as hex or base64).
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_md5: Option<&str>,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError>;

    /// A URL the client downloads `key` from with one GET.
    async fn presign_get(&self, key: &str, ttl: Duration)
        -> Result<PresignedRequest, StorageError>;

    /// Readiness probe: the bucket is reachable, or the root directory is writable.
    async fn check(&self) -> Result<(), StorageError>;
}

/// A whole object read back from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub body: Bytes,
    pub content_type: Option<String>,
    pub size: u64,
}

/// What `head` reports about an existing object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub content_type: Option<String>,
}

/// A request the client makes directly against the store, without the server's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    pub url: String,
    /// `"PUT"` or `"GET"`.
    pub method: &'static str,
    /// Headers the client must send exactly as given (they are covered by the signature).
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for PresignedRequest {
    /// Prints the URL without its query: the signature is a bearer credential until it expires.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match self.url.split_once('?') {
            Some((base, _)) => format!("{base}?…"),
            None => self.url.clone(),
        };
        f.debug_struct("PresignedRequest")
            .field("url", &url)
            .field("method", &self.method)
            .field("headers", &self.headers)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Expiry of a URL presigned now for `ttl`: unix seconds (rounded up) and the same instant.
pub(crate) fn presign_expiry(ttl: Duration) -> Result<(u64, DateTime<Utc>), StorageError> {
    if ttl > MAX_PRESIGN_TTL {
        return Err(StorageError::InvalidArgument {
            message: format!(
                "presigned URL lifetime of {}s exceeds the maximum of 7 days",
                ttl.as_secs()
            ),
        });
    }
    let now = Utc::now().timestamp().max(0).unsigned_abs();
    let ttl_secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    let expires = now.saturating_add(ttl_secs);
    let expires_at = i64::try_from(expires)
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| StorageError::InvalidArgument {
            message: "presigned URL expiry is out of range".into(),
        })?;
    Ok((expires, expires_at))
}

/// What a presigned PUT binds the client to, validated: the normalized `Content-MD5` (if any)
/// and the headers to hand to the client.
pub(crate) struct PutBinding {
    pub content_md5: Option<String>,
    pub headers: Vec<(String, String)>,
}

pub(crate) fn presigned_put_binding(
    content_type: &str,
    content_md5: Option<&str>,
) -> Result<PutBinding, StorageError> {
    check_content_type(content_type)?;
    let content_md5 = content_md5.map(normalize_content_md5).transpose()?;
    let mut headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
    if let Some(md5) = &content_md5 {
        headers.push(("Content-MD5".to_owned(), md5.clone()));
    }
    Ok(PutBinding {
        content_md5,
        headers,
    })
}

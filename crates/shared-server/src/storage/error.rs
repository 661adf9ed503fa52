//! The one error type of the object storage port, shared by every backend.
//!
//! Messages name the key, bucket or operation concerned and never carry credentials: they may
//! reach logs as they are.

/// Why an object storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("object `{key}` not found")]
    NotFound { key: String },

    /// The key cannot name an object (empty, too long, `..` segment, …).
    #[error("invalid object key `{key}`: {reason}")]
    InvalidKey { key: String, reason: &'static str },

    /// An argument other than the key is malformed (content type, Content-MD5, TTL).
    #[error("invalid argument: {message}")]
    InvalidArgument { message: String },

    /// The configured bucket does not exist.
    #[error("bucket `{bucket}` does not exist")]
    NoSuchBucket { bucket: String },

    /// The backend refused the credentials or the request (HTTP 403).
    #[error("access denied by the object store: {message}")]
    AccessDenied { message: String },

    /// The store is configured in a way that cannot work (missing credentials, bad endpoint).
    #[error("object store misconfigured: {message}")]
    Misconfigured { message: String },

    /// A filesystem operation of the local backend failed.
    #[error("object store I/O error: {message}")]
    Io { message: String },

    /// Any other failure reported by a backend.
    #[error("{backend} object store error: {message}")]
    Backend {
        backend: &'static str,
        message: String,
    },
}

impl StorageError {
    /// True when the object is missing; callers usually turn this into their own "not found".
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound { .. })
    }

    pub(crate) fn not_found(key: &str) -> Self {
        StorageError::NotFound {
            key: key.to_owned(),
        }
    }

    /// Wraps an I/O error with what was being done (`"writing object `a/b`"`).
    pub(crate) fn io(context: impl std::fmt::Display, error: &std::io::Error) -> Self {
        StorageError::Io {
            message: format!("{context}: {error}"),
        }
    }
}

//! Typed failures on the wire, and the one mapping of repository errors to them (slices.md
//! §0.7), written here once for every slice.
//!
//! A [`Failure`] is an Effect `TaggedError` as the client decodes it: `{"_tag": "<Tag>",
//! ...fields}`. A slice's error enum implements [`IntoFailure`] once (its own variants, plus
//! `RepoError` through [`IntoFailure for RepoError`](RepoError)); handlers return that enum and
//! use `?`. Infrastructure errors never become typed failures: they are logged and answered as
//! the generic `internal error` defect.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::RpcError;
use crate::db::RepoError;
use crate::layer::BoxError;

/// A typed failure: a `_tag` and its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    tag: String,
    fields: Map<String, Value>,
}

impl Failure {
    /// A failure with `tag` and no fields yet.
    pub fn tagged(tag: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            fields: Map::new(),
        }
    }

    /// Adds a field (a value that does not encode is a bug: it is recorded as `null`).
    pub fn field(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.fields.insert(name.to_owned(), value);
        self
    }

    /// `ValidationError { message }`; add the offending field with [`at`](Self::at).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::tagged("ValidationError").field("message", message.into())
    }

    /// Sets `path`, the payload field a `ValidationError` is about (e.g. `title`, `items.2.name`).
    pub fn at(self, path: impl Into<String>) -> Self {
        self.field("path", path.into())
    }

    /// `<Entity>NotFoundError { id }`, e.g. `FolderNotFoundError`.
    pub fn not_found(entity: &str, id: impl fmt::Display) -> Self {
        Self::tagged(format!("{entity}NotFoundError")).field("id", id.to_string())
    }

    /// `Forbidden { message }` (slices.md §0.3: a payload organization other than the active one).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::tagged("Forbidden").field("message", message.into())
    }

    /// `PermissionDeniedError { message }`: the caller may see the row but not do this to it.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::tagged("PermissionDeniedError").field("message", message.into())
    }

    /// `ConflictError { constraint, message }`.
    pub fn conflict(constraint: impl Into<String>, message: impl Into<String>) -> Self {
        Self::tagged("ConflictError")
            .field("constraint", constraint.into())
            .field("message", message.into())
    }

    /// `VersionConflictError { id, expectedVersion, actualVersion }`.
    pub fn version_conflict(id: impl fmt::Display, expected: i64, actual: i64) -> Self {
        Self::tagged("VersionConflictError")
            .field("id", id.to_string())
            .field("expectedVersion", expected)
            .field("actualVersion", actual)
    }

    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// The §0.7 table: what a repository error is on the wire.
    pub fn from_repo(error: RepoError) -> RpcError<Failure> {
        match error {
            RepoError::NotFound { entity, id } => RpcError::Fail(Self::not_found(entity, id)),
            RepoError::Conflict { constraint } => {
                let message = format!("a row with these values already exists ({constraint})");
                RpcError::Fail(Self::conflict(constraint, message))
            }
            RepoError::VersionConflict {
                id,
                expected,
                actual,
                ..
            } => RpcError::Fail(Self::version_conflict(id, expected.into(), actual.into())),
            RepoError::ForeignKey { constraint } => RpcError::Fail(Self::validation(format!(
                "a referenced row does not exist ({constraint})"
            ))),
            RepoError::Invalid { message } => RpcError::Fail(Self::validation(message)),
            RepoError::InvalidCursor => RpcError::Fail(
                Self::validation("the cursor does not name a row of this list any more")
                    .at("cursor"),
            ),
            other => RpcError::internal(other),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)?;
        if let Some(Value::String(message)) = self.fields.get("message") {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len() + 1))?;
        map.serialize_entry("_tag", &self.tag)?;
        for (name, value) in &self.fields {
            if name != "_tag" {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// How a handler's error reaches the wire: a typed [`Failure`], `Unauthorized`, or a defect.
pub trait IntoFailure: Send + 'static {
    fn into_failure(self) -> RpcError<Failure>;
}

impl IntoFailure for Failure {
    fn into_failure(self) -> RpcError<Failure> {
        RpcError::Fail(self)
    }
}

impl IntoFailure for RepoError {
    fn into_failure(self) -> RpcError<Failure> {
        Failure::from_repo(self)
    }
}

impl IntoFailure for RpcError<Failure> {
    fn into_failure(self) -> RpcError<Failure> {
        self
    }
}

/// The error of handlers whose slice needs no variants of its own: a repository error, a
/// ready-made typed failure, or an infrastructure fault.
#[derive(Debug, thiserror::Error)]
pub enum ProcedureError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Failure(#[from] Failure),
    #[error("{0}")]
    Internal(BoxError),
}

impl ProcedureError {
    pub fn internal(error: impl Into<BoxError>) -> Self {
        Self::Internal(error.into())
    }
}

impl IntoFailure for ProcedureError {
    fn into_failure(self) -> RpcError<Failure> {
        match self {
            Self::Repo(error) => error.into_failure(),
            Self::Failure(failure) => RpcError::Fail(failure),
            Self::Internal(error) => RpcError::internal(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(error: RpcError<Failure>) -> Value {
        serde_json::to_value(error.into_cause()).unwrap()
    }

    #[test]
    fn repository_errors_become_the_spec_tags() {
        let missing = RepoError::NotFound {
            entity: "Folder",
            id: "shared_folder__x".into(),
        };
        assert_eq!(
            wire(missing.into_failure()),
            json!({"_tag": "Fail", "error": {"_tag": "FolderNotFoundError", "id": "shared_folder__x"}})
        );
        let stale = RepoError::VersionConflict {
            entity: "Document",
            id: "d".into(),
            expected: 2,
            actual: 3,
        };
        assert_eq!(
            wire(stale.into_failure()),
            json!({"_tag": "Fail", "error": {"_tag": "VersionConflictError", "id": "d",
                "expectedVersion": 2, "actualVersion": 3}})
        );
        let taken = wire(
            RepoError::Conflict {
                constraint: "t_a_uq".into(),
            }
            .into_failure(),
        );
        assert_eq!(taken["error"]["_tag"], "ConflictError");
        assert_eq!(taken["error"]["constraint"], "t_a_uq");
        let cursor = wire(RepoError::InvalidCursor.into_failure());
        assert_eq!(cursor["error"]["_tag"], "ValidationError");
        assert_eq!(cursor["error"]["path"], "cursor");
    }

    #[test]
    fn database_faults_are_defects_without_internals() {
        let fault = RepoError::Database(sqlx::Error::Protocol("password=hunter2".into()));
        assert_eq!(
            wire(fault.into_failure()),
            json!({"_tag": "Die", "defect": {"name": "Error", "message": "internal error"}})
        );
    }

    #[test]
    fn failures_encode_their_tag_first_and_fields() {
        let failure = Failure::validation("too long").at("title");
        assert_eq!(
            serde_json::to_value(&failure).unwrap(),
            json!({"_tag": "ValidationError", "message": "too long", "path": "title"})
        );
        assert_eq!(failure.to_string(), "ValidationError: too long");
    }
}

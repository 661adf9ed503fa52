//! Row types of the shared tables (slices.md §1.1): one module per table with its id newtype,
//! row struct (decoded on both backends, serialised in the camelCase wire form of §0.5), the
//! `New…` struct an insert takes, the `…Patch` struct a partial update takes, and its list
//! filter. Normalisation and validation happen when a `New…`/`…Patch` becomes column values, so
//! half-valid data never reaches the database.

mod file;
mod folder;
mod organization;
mod session;
mod team;
mod upload_session;
mod user;

use serde::{Deserialize, Serialize};

use crate::db::RepoError;
use crate::time::Timestamp;

pub use file::{
    File, FileFilter, FileId, FileListing, FilePatch, FolderWithFiles, NewFile, MAX_FILE_NAME_CHARS,
};
pub use folder::{Folder, FolderFilter, FolderId, FolderPatch, NewFolder, MAX_FOLDER_NAME_CHARS};
pub use organization::{
    is_valid_slug, NewOrganization, Organization, OrganizationFilter, OrganizationId,
    OrganizationPatch, OrganizationType, SubscriptionStatus, SubscriptionTier,
};
pub use session::{NewSession, Session, SessionFilter, SessionId, SessionPatch};
pub use team::{NewTeam, Team, TeamId, TeamPatch};
pub use upload_session::{
    NewUploadSession, UploadSession, UploadSessionFilter, UploadSessionId, UploadSessionPatch,
    UPLOAD_INITIATION_SOURCE,
};
pub use user::{
    normalize_email, normalize_username, NewUser, User, UserFilter, UserId, UserPatch, UserRole,
    DEFAULT_UPLOAD_LIMIT,
};

/// The shared columns every table carries (slices.md §0.2), flattened into each row struct.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
    pub version: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A stored enum value this build does not know (the database CHECKs make it unlikely).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
}

crate::id_sql_value!(
    UserId,
    OrganizationId,
    TeamId,
    SessionId,
    FolderId,
    FileId,
    UploadSessionId
);

pub(crate) fn invalid(message: impl Into<String>) -> RepoError {
    RepoError::Invalid {
        message: message.into(),
    }
}

/// Trims a display name and checks it has 1..=`max` characters.
pub(crate) fn trimmed_name(field: &str, value: &str, max: usize) -> Result<String, RepoError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > max {
        return Err(invalid(format!(
            "{field} must have 1 to {max} characters after trimming (got {chars})"
        )));
    }
    Ok(trimmed.to_string())
}

/// Checks that a JSON value is an object (feature flags, settings, metadata descriptors).
pub(crate) fn json_object(field: &str, value: &serde_json::Value) -> Result<(), RepoError> {
    if value.is_object() {
        Ok(())
    } else {
        Err(invalid(format!("{field} must be a JSON object")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(trimmed_name("name", "  a b  ", 255).unwrap(), "a b");
        assert!(trimmed_name("name", "   ", 255).is_err());
        assert!(trimmed_name("name", &"x".repeat(256), 255).is_err());
        assert!(trimmed_name("name", &"é".repeat(255), 255).is_ok());
    }

    #[test]
    fn enums_round_trip_their_strings() {
        for role in UserRole::ALL {
            assert_eq!(role.as_str().parse::<UserRole>().unwrap(), *role);
        }
        assert!("root".parse::<UserRole>().is_err());
        assert_eq!(
            serde_json::to_string(&SubscriptionStatus::Canceled).unwrap(),
            "\"canceled\""
        );
    }
}

//! `shared_folder`: a user's flat folder of files inside an organization (org-scoped, owned by
//! `user_id`; no nesting).

use serde::{Deserialize, Serialize};

use super::{trimmed_name, Audit, OrganizationId, UserId};
use crate::db::repo::{Entity, ListFilter, NewRow, OrgScoped, PatchRow};
use crate::db::Columns;
use crate::db::{RepoError, SqlValue};
use crate::time::Timestamp;

crate::entity_id!(
    /// Id of a `shared_folder` row.
    FolderId,
    "shared_folder"
);

/// Longest folder name, in characters (after trimming).
pub const MAX_FOLDER_NAME_CHARS: usize = 255;

/// A `shared_folder` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Folder {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: FolderId,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub name: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for Folder {
    type Id = FolderId;
    type New = NewFolder;
    type Patch = FolderPatch;
    type Filter = FolderFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "shared_folder";
    const NAME: &'static str = "Folder";

    fn id(&self) -> &FolderId {
        &self.id
    }

    crate::repo_spans!("FolderRepo");
}

/// A folder to insert; the name is trimmed and must have 1..=255 characters.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFolder {
    pub user_id: UserId,
    pub name: String,
    pub source: Option<String>,
}

impl NewRow for NewFolder {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("user_id", self.user_id)
            .set(
                "name",
                trimmed_name("folder name", &self.name, MAX_FOLDER_NAME_CHARS)?,
            )
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of a folder (rename).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FolderPatch {
    pub name: Option<String>,
}

impl PatchRow for FolderPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let name = self
            .name
            .map(|n| trimmed_name("folder name", &n, MAX_FOLDER_NAME_CHARS))
            .transpose()?;
        let mut c = Columns::default();
        c.patch("name", name);
        c.finish()
    }
}

/// Which folders `list`/`count` return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderFilter {
    pub user_id: Option<UserId>,
}

impl ListFilter for FolderFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        self.user_id
            .map(|u| ("user_id", u.into()))
            .into_iter()
            .collect()
    }
}

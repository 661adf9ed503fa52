//! `shared_file`: metadata of an uploaded object (org-scoped, owned by `user_id`); the bytes
//! live in the object store under `key`. `folder_id = NULL` means the user's root.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{invalid, trimmed_name, Audit, Folder, FolderId, OrganizationId, UserId};
use crate::db::repo::{Entity, ListFilter, NewRow, OrgScoped, PatchRow};
use crate::db::Columns;
use crate::db::{RepoError, SqlValue};
use crate::files::ObjectKey;
use crate::time::Timestamp;

crate::entity_id!(
    /// Id of a `shared_file` row (minted at upload initiation, slices.md §1.4).
    FileId,
    "shared_file"
);

/// Longest file name, in characters (after trimming).
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// A `shared_file` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct File {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: FileId,
    pub organization_id: OrganizationId,
    /// The object key (slices.md §1.4), with its leading `/`.
    pub key: ObjectKey,
    pub url: String,
    pub name: String,
    pub size: i64,
    pub mime_type: String,
    pub user_id: UserId,
    pub uploaded_by_user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<FolderId>,
    /// The normalized file metadata object (only `extension` and `md5Hash` are interpreted).
    pub metadata: Json,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for File {
    type Id = FileId;
    type New = NewFile;
    type Patch = FilePatch;
    type Filter = FileFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "shared_file";
    const NAME: &'static str = "File";

    fn id(&self) -> &FileId {
        &self.id
    }

    crate::repo_spans!("FileRepo");
}

/// The metadata object must be an object whose `extension` is a string.
fn check_metadata(metadata: Json) -> Result<Json, RepoError> {
    match metadata.get("extension") {
        Some(Json::String(_)) if metadata.is_object() => Ok(metadata),
        _ => Err(invalid(
            "file metadata must be an object with a string `extension`",
        )),
    }
}

/// A file to insert. `id` is the file id minted at upload initiation (a new one when `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewFile {
    pub id: Option<FileId>,
    pub key: ObjectKey,
    pub url: String,
    pub name: String,
    pub size: i64,
    pub mime_type: String,
    pub user_id: UserId,
    pub uploaded_by_user_id: UserId,
    pub folder_id: Option<FolderId>,
    pub metadata: Json,
    pub source: Option<String>,
}

impl NewRow for NewFile {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        if self.url.is_empty() || self.mime_type.is_empty() {
            return Err(invalid("file url and mime type must not be empty"));
        }
        if self.size < 0 {
            return Err(invalid("file size must not be negative"));
        }
        let mut c = Columns::default();
        c.set("key", self.key)
            .set("url", self.url)
            .set(
                "name",
                trimmed_name("file name", &self.name, MAX_FILE_NAME_CHARS)?,
            )
            .set("size", self.size)
            .set("mime_type", self.mime_type)
            .set("user_id", self.user_id)
            .set("uploaded_by_user_id", self.uploaded_by_user_id)
            .set("folder_id", self.folder_id)
            .set("metadata", check_metadata(self.metadata)?)
            .set("source", self.source);
        c.finish()
    }

    fn preset_id(&self) -> Option<&str> {
        self.id.as_ref().map(FileId::as_str)
    }
}

/// A partial update of a file (`folder_id: Some(None)` moves it to the root).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilePatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub folder_id: Option<Option<FolderId>>,
    pub metadata: Option<Json>,
}

impl PatchRow for FilePatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let name = self
            .name
            .map(|n| trimmed_name("file name", &n, MAX_FILE_NAME_CHARS))
            .transpose()?;
        let metadata = self.metadata.map(check_metadata).transpose()?;
        if self.url.as_deref() == Some("") {
            return Err(invalid("file url must not be empty"));
        }
        let mut c = Columns::default();
        c.patch("name", name)
            .patch("url", self.url)
            .patch("folder_id", self.folder_id)
            .patch("metadata", metadata);
        c.finish()
    }
}

/// Which files `list`/`count` return; `folder_id: Some(None)` selects root files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFilter {
    pub user_id: Option<UserId>,
    pub folder_id: Option<Option<FolderId>>,
}

impl ListFilter for FileFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        let mut c = Vec::new();
        if let Some(user) = self.user_id {
            c.push(("user_id", user.into()));
        }
        if let Some(folder) = self.folder_id {
            c.push(("folder_id", folder.into()));
        }
        c
    }
}

/// A folder with its files, newest first (wire form: the folder's fields plus `uploadedFiles`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderWithFiles {
    #[serde(flatten)]
    pub folder: Folder,
    pub uploaded_files: Vec<File>,
}

/// What `FileRepo::list_paginated` returns: the user's root files, one page of the user's
/// folders (by name, then id) with their files, and `total` folders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileListing {
    pub root_files: Vec<File>,
    pub folders: Vec<FolderWithFiles>,
    pub total: u64,
    pub offset: u32,
    pub limit: u32,
    pub has_next: bool,
}

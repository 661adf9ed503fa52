//! The `files_*` procedures of the `shared` RPC group (slices.md §1.7): each acts on the
//! caller's own files and folders in the active organization; ids the caller does not own, and
//! unknown or malformed ids, are ignored. Deletions remove the rows in one transaction, then the
//! objects (`delete_many`); an object that cannot be deleted is logged at `warn` with its key and
//! never fails the call.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::upload_service::{InitiateUpload, InitiatedUpload};
use super::ObjectKey;
use crate::entities::{File, FileId, Folder, FolderId, FolderWithFiles, MAX_FOLDER_NAME_CHARS};
use crate::repos::MAX_LIST_FILES;
use crate::rpc::{Failure, OrgCaller, ProcedureError, SharedState};
use crate::storage::ObjectStore;

/// Most keys `files_getFilesByKeys` takes.
pub const MAX_KEYS_PER_LOOKUP: usize = 100;

/// `files_list`'s one element.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilesListing {
    pub root_files: Vec<File>,
    pub folders: Vec<FolderWithFiles>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteUpload {
    pub file_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFolder {
    pub folder_name: String,
}

/// Ids as sent; those that are not ids of the table are ignored like unknown ones.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteFiles {
    pub file_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteFolders {
    pub folder_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFilesByKeys {
    pub keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveFiles {
    pub file_ids: Vec<String>,
    pub folder_id: Option<FolderId>,
}

fn parse_ids<T: std::str::FromStr>(ids: &[String]) -> Vec<T> {
    ids.iter().filter_map(|id| id.parse().ok()).collect()
}

/// `files_initiateUpload` -> `{presignedUrl, fileKey, metadata, signature, expiresAt}` |
/// `ValidationError` | `FolderNotFoundError` | `FileTooLargeError {limit}` (§1.5).
pub async fn initiate_upload(
    s: Arc<SharedState>,
    who: OrgCaller,
    p: InitiateUpload,
) -> Result<InitiatedUpload, ProcedureError> {
    s.uploads.initiate(&who, p).await
}

/// `files_completeUpload {fileKey}` -> `File` | `UploadSessionNotFoundError` |
/// `UploadNotReceivedError` | `UploadSignatureError`.
pub async fn complete_upload(
    s: Arc<SharedState>,
    who: OrgCaller,
    p: CompleteUpload,
) -> Result<File, ProcedureError> {
    s.uploads.complete(&who, &p.file_key).await
}

/// `files_list` (stream): one element `{rootFiles, folders}` (each capped at 1000), then end.
pub async fn list(
    s: Arc<SharedState>,
    who: OrgCaller,
    _: (),
) -> Result<
    impl futures::Stream<Item = Result<FilesListing, ProcedureError>> + Send + 'static,
    ProcedureError,
> {
    let listing = s
        .files
        .list_paginated(s.files.db(), who.org_id(), who.user_id(), 0, MAX_LIST_FILES)
        .await?;
    let element = FilesListing {
        root_files: listing.root_files,
        folders: listing.folders,
    };
    Ok(futures::stream::iter([Ok(element)]))
}

/// `files_createFolder {folderName}` -> `Folder` | `ValidationError`.
pub async fn create_folder(
    s: Arc<SharedState>,
    who: OrgCaller,
    p: CreateFolder,
) -> Result<Folder, ProcedureError> {
    let chars = p.folder_name.trim().chars().count();
    if chars == 0 || chars > MAX_FOLDER_NAME_CHARS {
        return Err(Failure::validation(format!(
            "folderName must have 1 to {MAX_FOLDER_NAME_CHARS} characters after trimming"
        ))
        .at("folderName")
        .into());
    }
    Ok(s.folders
        .create(s.folders.db(), who.org_id(), who.user_id(), &p.folder_name)
        .await?)
}

/// `files_deleteFiles {fileIds}` -> void: the caller's files among them, rows then objects.
pub async fn delete_files(
    s: Arc<SharedState>,
    who: OrgCaller,
    p: DeleteFiles,
) -> Result<(), ProcedureError> {
    let ids: Vec<FileId> = parse_ids(&p.file_ids);
    let keys = s
        .files
        .delete_files(s.files.db(), who.org_id(), who.user_id(), &ids)
        .await?;
    delete_objects(s.uploads.store().as_ref(), &keys).await;
    Ok(())
}

/// `files_deleteFolders {folderIds}` -> void: the caller's folders among them, their files
/// (cascade), then those files' objects.
pub async fn delete_folders(
    s: Arc<SharedState>,
    who: OrgCaller,
    p: DeleteFolders,
) -> Result<(), ProcedureError> {
    let ids: Vec<FolderId> = parse_ids(&p.folder_ids);
    let keys = s
        .folders
        .delete_folders(s.files.db(), who.org_id(), who.user_id(), &ids)
        .await?;
    delete_objects(s.uploads.store().as_ref(), &keys).await;
    Ok(())
}

/// `files_getFilesByKeys {keys}` (≤ 100) -> `(File | null)[]` aligned with `keys`.
pub async fn get_files_by_keys(
    s: Arc<SharedState>,
    who: OrgCaller,
    p: GetFilesByKeys,
) -> Result<Vec<Option<File>>, ProcedureError> {
    if p.keys.len() > MAX_KEYS_PER_LOOKUP {
        return Err(Failure::validation(format!(
            "at most {MAX_KEYS_PER_LOOKUP} keys per call (got {})",
            p.keys.len()
        ))
        .at("keys")
        .into());
    }
    let parsed: Vec<Option<ObjectKey>> = p
        .keys
        .iter()
        .map(|key| ObjectKey::parse(key).ok())
        .collect();
    let valid: Vec<ObjectKey> = parsed.iter().flatten().cloned().collect();
    let mut found = s
        .files
        .get_by_keys(s.files.db(), who.org_id(), who.user_id(), &valid)
        .await?
        .into_iter();
    Ok(parsed
        .into_iter()
        .map(|key| key.and_then(|_| found.next().flatten()))
        .collect())
}

/// `files_moveFiles {fileIds, folderId}` -> void | `FolderNotFoundError` (`folderId: null`
/// moves to the root).
pub async fn move_files(
    s: Arc<SharedState>,
    who: OrgCaller,
    p: MoveFiles,
) -> Result<(), ProcedureError> {
    let ids: Vec<FileId> = parse_ids(&p.file_ids);
    s.files
        .move_files(
            s.files.db(),
            who.org_id(),
            who.user_id(),
            &ids,
            p.folder_id.as_ref(),
        )
        .await?;
    Ok(())
}

/// Deletes the objects of rows already gone; failures are logged with the key, never returned.
pub async fn delete_objects(store: &dyn ObjectStore, keys: &[ObjectKey]) {
    if keys.is_empty() {
        return;
    }
    let names: Vec<String> = keys.iter().map(ToString::to_string).collect();
    if let Err(error) = store.delete_many(&names).await {
        tracing::debug!(%error, "delete_many failed; deleting the objects one by one");
        for key in &names {
            if let Err(error) = store.delete(key).await {
                tracing::warn!(key = %key, %error, "could not delete the object of a deleted file");
            }
        }
    }
}

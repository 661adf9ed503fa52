//! `FileRepo`: file metadata, plus the per-owner queries of the files RPC group: the folder
//! listing, moving, deleting and lookup by object key. Every query filters on both the
//! organization and the owner, so ids the caller does not own are ignored.

use std::collections::HashMap;

use super::IN_LIST_CHUNK;
use crate::db::repo::{begin_nested, map_db_error, OrgRepo, Sql};
use crate::db::{Backend, Exec, RepoError};
use crate::entities::{
    File, FileId, FileListing, Folder, FolderId, FolderWithFiles, OrganizationId, UserId,
};
use crate::files::ObjectKey;

crate::repository!(
    /// Files (org-scoped, owned by a user).
    FileRepo(OrgRepo<File>)
);

/// Cap on root files and on the folder page size of [`FileRepo::list_paginated`].
pub const MAX_LIST_FILES: u32 = 1000;

impl FileRepo {
    /// The user's root files (newest first, at most [`MAX_LIST_FILES`]), the user's folders
    /// `offset..offset + limit` ordered by name then id (byte order on both backends), each with
    /// its files newest first, and the total number of folders.
    #[tracing::instrument(skip_all, name = "FileRepo.list_paginated")]
    pub async fn list_paginated(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        offset: u32,
        limit: u32,
    ) -> Result<FileListing, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let limit = limit.clamp(1, MAX_LIST_FILES);
        let mut sql = owned_files(org, user);
        sql.push(" AND folder_id IS NULL ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(MAX_LIST_FILES));
        let root_files: Vec<File> = sql.fetch_all(conn).await.map_err(map_db_error::<File>)?;

        let mut sql = owned_folders(org, user, "COUNT(*)");
        let (total,): (i64,) = sql.fetch_one(conn).await.map_err(map_db_error::<Folder>)?;
        let total = u64::try_from(total).unwrap_or(0);

        // Name order must not depend on the server's locale: PostgreSQL sorts by its database
        // collation, SQLite by bytes, so PostgreSQL is asked for the "C" (byte) collation,
        // which SQLite does not know.
        let order = match conn.backend() {
            Backend::Sqlite => " ORDER BY name, id",
            Backend::Postgres => " ORDER BY name COLLATE \"C\", id COLLATE \"C\"",
        };
        sql = owned_folders(org, user, "*");
        sql.push(order)
            .push(" LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
        let folders: Vec<Folder> = sql.fetch_all(conn).await.map_err(map_db_error::<Folder>)?;

        let mut files_by_folder: HashMap<String, Vec<File>> = HashMap::new();
        for chunk in folders.chunks(IN_LIST_CHUNK) {
            let mut sql = owned_files(org, user);
            sql.push(" AND folder_id IN (")
                .push_bind_list(chunk.iter().map(|f| &f.id))
                .push(") ORDER BY created_at DESC, id DESC");
            let files: Vec<File> = sql.fetch_all(conn).await.map_err(map_db_error::<File>)?;
            for file in files {
                if let Some(folder) = &file.folder_id {
                    files_by_folder
                        .entry(folder.as_str().to_string())
                        .or_default()
                        .push(file);
                }
            }
        }
        let has_next = u64::from(offset) + (folders.len() as u64) < total;
        let folders = folders
            .into_iter()
            .map(|folder| FolderWithFiles {
                uploaded_files: files_by_folder
                    .remove(folder.id.as_str())
                    .unwrap_or_default(),
                folder,
            })
            .collect();
        Ok(FileListing {
            root_files,
            folders,
            total,
            offset,
            limit,
            has_next,
        })
    }

    /// Moves the user's files among `file_ids` into `folder` (`None`: the root); returns how
    /// many moved. A target folder that is not the user's in `org` → `NotFound` (folder); an
    /// empty list does nothing.
    #[tracing::instrument(skip_all, name = "FileRepo.move_files")]
    pub async fn move_files(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        file_ids: &[FileId],
        folder: Option<&FolderId>,
    ) -> Result<u64, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        if file_ids.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let mut tx = begin_nested(conn).await?;
        let mut moved = 0;
        {
            let mut conn = tx.conn();
            if let Some(folder) = folder {
                let mut sql = owned_folders(org, user, "id");
                sql.push(" AND id = ").push_bind(folder);
                let found: Option<(String,)> = sql
                    .fetch_optional(&mut conn)
                    .await
                    .map_err(map_db_error::<Folder>)?;
                if found.is_none() {
                    return Err(RepoError::not_found("Folder", folder));
                }
            }
            for chunk in file_ids.chunks(IN_LIST_CHUNK) {
                let mut sql = Sql::new("UPDATE shared_file SET folder_id = ");
                sql.push_bind(folder.cloned())
                    .push(", updated_at = ")
                    .push_bind(now)
                    .push(", updated_by = ")
                    .push_bind(user)
                    .push(", version = version + 1 WHERE organization_id = ")
                    .push_bind(org)
                    .push(" AND user_id = ")
                    .push_bind(user)
                    .push(" AND deleted_at IS NULL AND id IN (")
                    .push_bind_list(chunk)
                    .push(")");
                moved += sql.execute(&mut conn).await.map_err(map_db_error::<File>)?;
            }
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Hard-deletes the user's files among `file_ids` (others are ignored) and returns their
    /// object keys, for the caller to delete from the object store after commit.
    #[tracing::instrument(skip_all, name = "FileRepo.delete_files")]
    pub async fn delete_files(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        file_ids: &[FileId],
    ) -> Result<Vec<ObjectKey>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        if file_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys = Vec::new();
        let mut tx = begin_nested(conn).await?;
        for chunk in file_ids.chunks(IN_LIST_CHUNK) {
            let mut sql = Sql::new("DELETE FROM shared_file WHERE organization_id = ");
            sql.push_bind(org)
                .push(" AND user_id = ")
                .push_bind(user)
                .push(" AND id IN (")
                .push_bind_list(chunk)
                .push(") RETURNING key");
            let deleted: Vec<(ObjectKey,)> = sql
                .fetch_all(&mut tx.conn())
                .await
                .map_err(map_db_error::<File>)?;
            keys.extend(deleted.into_iter().map(|(key,)| key));
        }
        tx.commit().await?;
        Ok(keys)
    }

    /// The user's files by object key, aligned with `keys`: `None` where a key is unknown,
    /// soft-deleted, or not the user's in `org`.
    #[tracing::instrument(skip_all, name = "FileRepo.get_by_keys")]
    pub async fn get_by_keys(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        keys: &[ObjectKey],
    ) -> Result<Vec<Option<File>>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let mut by_key: HashMap<ObjectKey, File> = HashMap::new();
        for chunk in keys.chunks(IN_LIST_CHUNK) {
            let mut sql = owned_files(org, user);
            sql.push(" AND key IN (").push_bind_list(chunk).push(")");
            let files: Vec<File> = sql.fetch_all(conn).await.map_err(map_db_error::<File>)?;
            by_key.extend(files.into_iter().map(|f| (f.key.clone(), f)));
        }
        Ok(keys.iter().map(|key| by_key.get(key).cloned()).collect())
    }
}

/// `SELECT * FROM shared_file WHERE <the user's live files in org>`.
fn owned_files(org: &OrganizationId, user: &UserId) -> Sql {
    let mut sql = Sql::new("SELECT * FROM shared_file WHERE organization_id = ");
    sql.push_bind(org)
        .push(" AND user_id = ")
        .push_bind(user)
        .push(" AND deleted_at IS NULL");
    sql
}

/// `SELECT <what> FROM shared_folder WHERE <the user's live folders in org>`.
fn owned_folders(org: &OrganizationId, user: &UserId, what: &str) -> Sql {
    let mut sql = Sql::new(format!(
        "SELECT {what} FROM shared_folder WHERE organization_id = "
    ));
    sql.push_bind(org)
        .push(" AND user_id = ")
        .push_bind(user)
        .push(" AND deleted_at IS NULL");
    sql
}

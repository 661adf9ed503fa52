//! `FolderRepo`: a user's folders, plus creation and the owner-checked deletion that returns
//! the object keys of the files the deletion cascades to (slices.md §8: tenant filtering alone
//! let any member delete another member's folders).

use super::IN_LIST_CHUNK;
use crate::db::repo::{begin_nested, map_db_error, OrgRepo, Sql};
use crate::db::{Exec, RepoError};
use crate::entities::{File, Folder, FolderId, NewFolder, OrganizationId, UserId};
use crate::files::ObjectKey;

crate::repository!(
    /// Folders (org-scoped, owned by a user; flat).
    FolderRepo(OrgRepo<Folder>)
);

impl FolderRepo {
    /// Creates a folder owned by `user` (name trimmed, 1..=255 characters).
    #[tracing::instrument(skip_all, name = "FolderRepo.create")]
    pub async fn create(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        name: &str,
    ) -> Result<Folder, RepoError> {
        let new = NewFolder {
            user_id: user.clone(),
            name: name.to_string(),
            source: None,
        };
        self.insert(on, org, new, user.as_str()).await
    }

    /// Hard-deletes the user's folders among `folder_ids` (others' and unknown ids are
    /// ignored); their files cascade. Returns the object keys of those files, read in the same
    /// transaction just before the delete.
    #[tracing::instrument(skip_all, name = "FolderRepo.delete_folders")]
    pub async fn delete_folders(
        &self,
        on: impl Into<Exec<'_>>,
        org: &OrganizationId,
        user: &UserId,
        folder_ids: &[FolderId],
    ) -> Result<Vec<ObjectKey>, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        if folder_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys = Vec::new();
        let mut tx = begin_nested(conn).await?;
        for chunk in folder_ids.chunks(IN_LIST_CHUNK) {
            // Files of soft-deleted rows too: the cascade removes them and their objects.
            let mut sql = Sql::new("SELECT key FROM shared_file WHERE organization_id = ");
            sql.push_bind(org)
                .push(" AND folder_id IN (SELECT id FROM shared_folder WHERE organization_id = ")
                .push_bind(org)
                .push(" AND user_id = ")
                .push_bind(user)
                .push(" AND id IN (")
                .push_bind_list(chunk)
                .push(")) ORDER BY created_at, id");
            let files: Vec<(ObjectKey,)> = sql
                .fetch_all(&mut tx.conn())
                .await
                .map_err(map_db_error::<File>)?;
            keys.extend(files.into_iter().map(|(key,)| key));

            let mut sql = Sql::new("DELETE FROM shared_folder WHERE organization_id = ");
            sql.push_bind(org)
                .push(" AND user_id = ")
                .push_bind(user)
                .push(" AND id IN (")
                .push_bind_list(chunk)
                .push(")");
            sql.execute(&mut tx.conn())
                .await
                .map_err(map_db_error::<Folder>)?;
        }
        tx.commit().await?;
        Ok(keys)
    }
}

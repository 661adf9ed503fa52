//! Repositories of the shared tables (slices.md §0.6, §1.2).
//!
//! Each repository wraps the generic base repository of its entity ([`Repo`] or [`OrgRepo`],
//! reached through `Deref`: `users.get(&db, &id)`, `teams.list(&mut tx, &org, NoFilter, page)`)
//! and adds the table's own queries in the same one-method form: the first argument says where
//! the statement runs, the pool or the caller's transaction ([`Exec`](crate::db::Exec)).
//!
//! [`Repo`]: crate::db::repo::Repo
//! [`OrgRepo`]: crate::db::repo::OrgRepo

mod file;
mod folder;
mod organization;
mod session;
mod team;
mod upload_session;
mod user;

pub use file::{FileRepo, MAX_LIST_FILES};
pub use folder::FolderRepo;
pub use organization::OrganizationRepo;
pub use session::SessionRepo;
pub use team::TeamRepo;
pub use upload_session::UploadSessionRepo;
pub use user::UserRepo;

/// Declares a repository struct around a base repository: `new(db, clock)`, `Clone`, `Debug`
/// and `Deref` to the base operations. Every slice declares its repositories this way:
///
/// ```ignore
/// shared_server::repository!(
///     /// Members of an organization.
///     MemberRepo(shared_server::db::repo::OrgRepo<Member>)
/// );
/// impl MemberRepo { /* the table's own queries */ }
/// ```
#[macro_export]
macro_rules! repository {
    ($(#[$meta:meta])* $name:ident($base:ty)) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name {
            base: $base,
        }

        impl $name {
            pub fn new(db: $crate::db::Db, clock: std::sync::Arc<dyn $crate::time::Clock>) -> Self {
                Self {
                    base: <$base>::new(db, clock),
                }
            }
        }

        impl std::ops::Deref for $name {
            type Target = $base;
            fn deref(&self) -> &$base {
                &self.base
            }
        }
    };
}

/// Most ids or keys one `IN (…)` list carries; longer lists are split.
pub(crate) const IN_LIST_CHUNK: usize = 500;

/// Compile-time guard: repository futures must be `Send` (they run in handlers, layers and
/// spawned jobs), including the ones that open a nested transaction.
#[cfg(test)]
mod send_probe {
    use super::*;
    use crate::db::repo::{NoFilter, PageRequest};
    use crate::db::{Conn, Db};
    use crate::entities::*;

    fn assert_send<T: Send>(_: T) {}

    #[allow(dead_code, clippy::too_many_arguments)]
    fn probe(
        users: &UserRepo,
        teams: &TeamRepo,
        files: &FileRepo,
        folders: &FolderRepo,
        uploads: &UploadSessionRepo,
        sessions: &SessionRepo,
        org: &OrganizationId,
        db: &Db,
        conn: &mut Conn<'_>,
    ) {
        let user = UserId::new();
        let key = crate::files::ObjectKey::parse("/dev/tenants/ab/individual/shared_organization__0190f5d2-0000-7000-8000-00000000000a/user/u/document/2026/01/shared_file__0190f5d2-0000-7000-8000-00000000000a.pdf").unwrap();
        assert_send(users.insert(db, NewUser::new("a", "a@b"), "x"));
        assert_send(users.insert_many(db, vec![], "x"));
        assert_send(users.update(db, &user, 1, UserPatch::default(), "x"));
        assert_send(users.find_by_email(db, "a@b"));
        assert_send(teams.list(db, org, NoFilter, PageRequest::default()));
        assert_send(teams.insert_many(&mut *conn, org, vec![], "x"));
        assert_send(files.move_files(db, org, &user, &[], None));
        assert_send(files.delete_files(db, org, &user, &[]));
        assert_send(files.list_paginated(db, org, &user, 0, 10));
        assert_send(folders.delete_folders(db, org, &user, &[]));
        assert_send(uploads.store(
            db,
            org,
            &user,
            &key,
            "s",
            serde_json::Value::Null,
            crate::Timestamp::now(),
        ));
        assert_send(sessions.set_active_organization(db, &SessionId::new(), None, None));
    }

    /// Like a layer's build closure: borrowed repositories in a higher-ranked boxed future.
    #[allow(dead_code)]
    fn higher_ranked() {
        type Keys<'a> =
            futures::future::BoxFuture<'a, Result<Vec<crate::files::ObjectKey>, crate::RepoError>>;
        fn takes<F>(_: F)
        where
            F: for<'a> Fn(&'a Db, &'a FolderRepo, &'a FileRepo, &'a OrganizationId) -> Keys<'a>,
        {
        }
        takes(|db, folders, files, org| {
            Box::pin(async move {
                let user = UserId::new();
                let mut keys = folders
                    .delete_folders(db, org, &user, &[FolderId::new()])
                    .await?;
                keys.extend(files.delete_files(db, org, &user, &[FileId::new()]).await?);
                Ok(keys)
            })
        });
    }

    /// Like a handler or a job: owned repositories awaited inside a spawned task.
    #[allow(dead_code)]
    fn spawned(users: UserRepo, files: FileRepo, folders: FolderRepo, db: crate::Db) {
        let _task = tokio::spawn(async move {
            let org = OrganizationId::new();
            let user = UserId::new();
            users
                .insert_many(&db, vec![NewUser::new("a", "a@b")], "x")
                .await?;
            files
                .move_files(&db, &org, &user, &[FileId::new()], None)
                .await?;
            folders
                .delete_folders(&db, &org, &user, &[FolderId::new()])
                .await?;
            let mut tx = db.begin().await?;
            users.insert_many(&mut tx, vec![], "x").await?;
            files.delete_files(&mut tx, &org, &user, &[]).await?;
            tx.commit().await?;
            Ok::<_, crate::RepoError>(())
        });
    }
}

//! [`Repo`] and [`OrgRepo`]: the base operations of a table (slices.md §0.6). Both are written
//! once: [`base_operations!`] declares every operation a single time, with the `org` argument
//! present only for organization-scoped tables, over the shared code in `ops`.

use std::marker::PhantomData;
use std::sync::Arc;

use tracing::Instrument;

use super::{ops, Entity, Op, OrgScoped, Page, PageRequest, Unscoped};
use crate::db::{Db, Exec, RepoError};
use crate::entities::OrganizationId;
use crate::ids::EntityId;
use crate::time::{Clock, Timestamp};

/// The base repository of a table that is not organization-scoped.
pub struct Repo<E> {
    db: Db,
    clock: Arc<dyn Clock>,
    entity: PhantomData<fn() -> E>,
}

/// The base repository of an organization-scoped table: every operation takes the
/// organization, and a row of another organization is indistinguishable from a missing one.
pub struct OrgRepo<E> {
    db: Db,
    clock: Arc<dyn Clock>,
    entity: PhantomData<fn() -> E>,
}

/// `Some(org)` for the organization-scoped form, `None` for the other.
macro_rules! scope {
    () => {
        None
    };
    ($org:ident) => {
        Some($org.as_str())
    };
}

/// The construction, accessors and operations of one base repository type; `$org` is the name
/// of the organization argument, given for the organization-scoped form only.
macro_rules! base_operations {
    ($repo:ident, $scope:ty $(, $org:ident)?) => {
        impl<E> Clone for $repo<E> {
            fn clone(&self) -> Self {
                Self {
                    db: self.db.clone(),
                    clock: Arc::clone(&self.clock),
                    entity: PhantomData,
                }
            }
        }

        impl<E> std::fmt::Debug for $repo<E> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($repo))
                    .field("entity", &std::any::type_name::<E>())
                    .field("db", &self.db)
                    .finish()
            }
        }

        impl<E> $repo<E> {
            pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
                Self {
                    db,
                    clock,
                    entity: PhantomData,
                }
            }

            /// The pool the repository was built with (what `&repo.db()` runs on).
            pub fn db(&self) -> &Db {
                &self.db
            }

            pub fn clock(&self) -> &Arc<dyn Clock> {
                &self.clock
            }

            /// The injected clock's time (millisecond precision).
            pub fn now(&self) -> Timestamp {
                self.clock.now()
            }
        }

        impl<E: Entity<Scope = $scope>> $repo<E> {
            pub async fn insert(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                new: E::New,
                actor: &str,
            ) -> Result<E, RepoError> {
                ops::insert(on.into(), self.now(), scope!($($org)?), new, actor)
                    .instrument(E::span(Op::Insert))
                    .await
            }

            /// Inserts all rows or none (≤ 500 rows per statement, one transaction); returns
            /// them in input order.
            pub async fn insert_many(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                news: Vec<E::New>,
                actor: &str,
            ) -> Result<Vec<E>, RepoError> {
                ops::insert_many(on.into(), self.now(), scope!($($org)?), news, actor)
                    .instrument(E::span(Op::InsertMany))
                    .await
            }

            /// Writes the patch's set fields if the row is at `expected_version`; bumps the
            /// version.
            pub async fn update(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                id: &E::Id,
                expected_version: i32,
                patch: E::Patch,
                actor: &str,
            ) -> Result<E, RepoError> {
                let (now, org) = (self.now(), scope!($($org)?));
                ops::update(on.into(), now, org, id.as_str(), expected_version, patch, actor)
                    .instrument(E::span(Op::Update))
                    .await
            }

            /// The row unless missing, soft-deleted (or in another organization).
            pub async fn find_by_id(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                id: &E::Id,
            ) -> Result<Option<E>, RepoError> {
                ops::find_by_id(on.into(), scope!($($org)?), id.as_str(), false)
                    .instrument(E::span(Op::FindById))
                    .await
            }

            /// The row even if soft-deleted (still only in the organization).
            pub async fn find_by_id_with_deleted(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                id: &E::Id,
            ) -> Result<Option<E>, RepoError> {
                ops::find_by_id(on.into(), scope!($($org)?), id.as_str(), true)
                    .instrument(E::span(Op::FindByIdWithDeleted))
                    .await
            }

            /// `find_by_id` or `NotFound`.
            pub async fn get(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                id: &E::Id,
            ) -> Result<E, RepoError> {
                async {
                    ops::find_by_id::<E>(on.into(), scope!($($org)?), id.as_str(), false)
                        .await?
                        .ok_or_else(|| RepoError::not_found(E::NAME, id))
                }
                .instrument(E::span(Op::Get))
                .await
            }

            /// Marks the row deleted (see slices.md §0.2); missing or already deleted →
            /// `NotFound`.
            pub async fn soft_delete(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                id: &E::Id,
                actor: &str,
            ) -> Result<(), RepoError> {
                let (now, org) = (self.now(), scope!($($org)?));
                ops::soft_delete::<E>(on.into(), now, org, id.as_str(), actor)
                    .instrument(E::span(Op::SoftDelete))
                    .await
            }

            /// Removes the row (cascades apply); missing → `NotFound`.
            pub async fn hard_delete(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                id: &E::Id,
            ) -> Result<(), RepoError> {
                ops::hard_delete::<E>(on.into(), scope!($($org)?), id.as_str())
                    .instrument(E::span(Op::HardDelete))
                    .await
            }

            /// One page, newest first (`created_at DESC, id DESC`), soft-deleted rows excluded.
            pub async fn list(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                filter: E::Filter,
                page: PageRequest,
            ) -> Result<Page<E>, RepoError> {
                ops::list(on.into(), scope!($($org)?), filter, page)
                    .instrument(E::span(Op::List))
                    .await
            }

            /// Rows `list` would return over all pages.
            pub async fn count(
                &self,
                on: impl Into<Exec<'_>>,
                $($org: &OrganizationId,)?
                filter: E::Filter,
            ) -> Result<u64, RepoError> {
                ops::count::<E>(on.into(), scope!($($org)?), filter)
                    .instrument(E::span(Op::Count))
                    .await
            }
        }
    };
}

base_operations!(Repo, Unscoped);
base_operations!(OrgRepo, OrgScoped, org);

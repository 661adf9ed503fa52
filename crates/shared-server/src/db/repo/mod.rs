//! The base repository contract (slices.md §0.6), written once for every table of every slice.
//!
//! An entity declares its table, how its `New…`/`…Patch` structs become `(column, SqlValue)`
//! lists and which filters it lists by ([`Entity`], [`NewRow`], [`PatchRow`], [`ListFilter`]);
//! [`Repo`] (tables that are not organization-scoped) and [`OrgRepo`] (tables with
//! `organization_id`, which every statement then filters on) provide insert, insert_many,
//! version-checked partial update, find, get, soft and hard delete, keyset-paginated list and
//! count on top of it, on SQLite and PostgreSQL with the same SQL text.
//!
//! Every operation is written once and told where to run by its first argument, an
//! [`Exec`](crate::db::Exec): `repo.get(&db, org, id)` runs on the pool, `repo.get(&mut tx, org,
//! id)` inside the caller's transaction, so services group writes atomically. The span
//! `<RepoName>.<op>` covers the call.
//!
//! A slice's repository is a struct wrapping `Repo<E>`/`OrgRepo<E>` (declared with
//! [`repository!`](crate::repository), dereferencing to it for the base operations) that adds
//! its own queries in the same form (`on: impl Into<Exec<'_>>` first), written with [`Sql`] and
//! mapped with [`map_db_error`]; see `crate::repos` for examples.

mod base;
mod entity;
mod nested;
mod ops;
mod page;
mod sql;

pub use base::{OrgRepo, Repo};
pub use entity::{
    Entity, FromAnyRow, ListFilter, NewRow, NoFilter, Op, OrgScoped, PatchRow, TableScope, Unscoped,
};
pub use nested::{begin_nested, NestedTx};
pub use ops::{insert_statement, rows_per_insert, MAX_ROWS_PER_INSERT};
pub use page::{Page, PageRequest, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
pub use sql::{map_db_error, map_table_error, Sql};

#[doc(hidden)]
pub use tracing as __tracing;

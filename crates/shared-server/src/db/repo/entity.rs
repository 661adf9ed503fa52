//! What an entity declares for the base repository (slices.md §0.2, §0.6): its table, how its
//! `New…`/`…Patch` structs become `(column, SqlValue)` lists, which filters it lists by, and
//! whether it is organization-scoped.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::FromRow;

use crate::db::{RepoError, SqlValue};
use crate::ids::EntityId;
use crate::time::Timestamp;

/// A type that decodes from a row of either backend (`#[derive(sqlx::FromRow)]` structs, tuples).
pub trait FromAnyRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

impl<T> FromAnyRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

/// Whether a table is organization-scoped: [`OrgScoped`] entities get an [`OrgRepo`], whose
/// every statement filters on `organization_id`; [`Unscoped`] entities get a [`Repo`].
pub trait TableScope: sealed::Sealed + 'static {
    const ORG_SCOPED: bool;
}

/// Marks an organization-scoped table (slices.md §0.3).
#[derive(Debug)]
pub enum OrgScoped {}

/// Marks a table that is not organization-scoped (users, organizations, sessions).
#[derive(Debug)]
pub enum Unscoped {}

impl TableScope for OrgScoped {
    const ORG_SCOPED: bool = true;
}

impl TableScope for Unscoped {
    const ORG_SCOPED: bool = false;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::OrgScoped {}
    impl Sealed for super::Unscoped {}
}

/// The base operations, for span names (`<RepoName>.<op>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    InsertMany,
    Update,
    FindById,
    FindByIdWithDeleted,
    Get,
    SoftDelete,
    HardDelete,
    List,
    Count,
}

impl Op {
    pub fn as_str(&self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::InsertMany => "insert_many",
            Op::Update => "update",
            Op::FindById => "find_by_id",
            Op::FindByIdWithDeleted => "find_by_id_with_deleted",
            Op::Get => "get",
            Op::SoftDelete => "soft_delete",
            Op::HardDelete => "hard_delete",
            Op::List => "list",
            Op::Count => "count",
        }
    }
}

/// A row type of a table with the shared columns (slices.md §0.2). Implemented next to the row
/// struct; the repository code is generic over it.
pub trait Entity: FromAnyRow + Sync {
    /// The public id newtype (`<table>__<uuid>`).
    type Id: EntityId;
    /// What an insert takes.
    type New: NewRow;
    /// What a partial update takes.
    type Patch: PatchRow;
    /// What `list`/`count` filter on.
    type Filter: ListFilter;
    /// [`OrgScoped`] or [`Unscoped`].
    type Scope: TableScope;

    /// The SQL table name (also the id prefix).
    const TABLE: &'static str;
    /// The entity name in errors (`NotFound { entity }`, RPC `<Entity>NotFoundError`).
    const NAME: &'static str;
    /// Constraint names that SQLite's error message cannot yield, mapped to the real name
    /// (`(derived, actual)`): partial unique indexes, whose message only lists the columns.
    const CONSTRAINT_ALIASES: &'static [(&'static str, &'static str)] = &[];

    fn id(&self) -> &Self::Id;

    /// The span of a base operation; implement with [`repo_spans!`](crate::repo_spans).
    fn span(op: Op) -> tracing::Span;
}

/// The values of an insert, besides the columns the base contract sets (`id`,
/// `organization_id`, `created_*`, `updated_*`, `version`).
pub trait NewRow: Send + 'static {
    /// Every column to write, with its value (NULLs typed). Validation and normalisation happen
    /// here: return [`RepoError::Invalid`] rather than writing half-valid data. Every value of
    /// one type must yield the same column list (multi-row inserts rely on it).
    fn into_columns(self, now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError>;

    /// An id chosen by the caller (e.g. a file id minted at upload initiation); `None` generates
    /// a UUID v7 id.
    fn preset_id(&self) -> Option<&str> {
        None
    }
}

/// The columns a partial update writes: only the fields that are set.
pub trait PatchRow: Send + 'static {
    fn into_columns(self, now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError>;
}

/// Equality conditions of a `list`/`count` filter; a NULL value means `IS NULL`.
pub trait ListFilter: Send + 'static {
    fn conditions(self) -> Vec<(&'static str, SqlValue)>;
}

/// The filter of tables that list without conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoFilter;

impl ListFilter for NoFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        Vec::new()
    }
}

/// Implements [`Entity::span`] with one static span per base operation, named
/// `<repo>.<op>` (tracing needs span names known at compile time):
///
/// ```ignore
/// impl Entity for User {
///     // …
///     shared_server::repo_spans!("UserRepo");
/// }
/// ```
#[macro_export]
macro_rules! repo_spans {
    ($repo:literal) => {
        fn span(op: $crate::db::repo::Op) -> $crate::db::repo::__tracing::Span {
            use $crate::db::repo::__tracing::info_span;
            use $crate::db::repo::Op;
            match op {
                Op::Insert => info_span!(concat!($repo, ".insert")),
                Op::InsertMany => info_span!(concat!($repo, ".insert_many")),
                Op::Update => info_span!(concat!($repo, ".update")),
                Op::FindById => info_span!(concat!($repo, ".find_by_id")),
                Op::FindByIdWithDeleted => info_span!(concat!($repo, ".find_by_id_with_deleted")),
                Op::Get => info_span!(concat!($repo, ".get")),
                Op::SoftDelete => info_span!(concat!($repo, ".soft_delete")),
                Op::HardDelete => info_span!(concat!($repo, ".hard_delete")),
                Op::List => info_span!(concat!($repo, ".list")),
                Op::Count => info_span!(concat!($repo, ".count")),
            }
        }
    };
}

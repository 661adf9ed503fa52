//! The base repository contract (slices.md §0.6), written once for every table of every slice.
//!
//! An entity declares its table, how its `New…`/`…Patch` structs become `(column, SqlValue)`
//! lists and which filters it lists by ([`Entity`], [`NewRow`], [`PatchRow`], [`ListFilter`]);
//! [`Repo`] (tables that are not organization-scoped) and [`OrgRepo`] (tables with
//! `organization_id`, which every statement then filters on) provide insert, insert_many,
//! version-checked partial update, find, get, soft and hard delete, keyset-paginated list and
//! count on top of it, on SQLite and PostgreSQL with the same SQL text.
//!
//! Every operation `op` has two forms: `op(…)` acquires a pooled connection, and `op_in(conn, …)`
//! runs on a connection the caller supplies (typically `&mut tx.conn()` of a [`Tx`](super::Tx)),
//! so services can group writes atomically. The span `<RepoName>.<op>` is opened by the `_in`
//! form, which both forms run.
//!
//! A slice's repository is a struct wrapping `Repo<E>`/`OrgRepo<E>` (declared with
//! [`repository!`](crate::repository), dereferencing to it for the base operations) that adds
//! its own queries, written with [`Sql`] and mapped with [`map_db_error`]; see `crate::repos`
//! for examples.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, PgConnection, Postgres, Sqlite, SqliteConnection};
use tracing::Instrument;

use super::{Conn, Db, RepoError, SqlValue};
use crate::entities::OrganizationId;
use crate::ids::EntityId;
use crate::time::{Clock, Timestamp};

#[doc(hidden)]
pub use tracing as __tracing;

/// Page size when a [`PageRequest`] sets none.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// Largest page size; larger requests are clamped.
pub const MAX_PAGE_LIMIT: u32 = 200;
/// Most rows one multi-row `INSERT` carries (fewer for wide tables, see [`rows_per_insert`]).
pub const MAX_ROWS_PER_INSERT: usize = 500;
/// Bind parameters one statement may use: below SQLite's 32766 and PostgreSQL's 65535.
const MAX_BINDS_PER_STATEMENT: usize = 30_000;

/// Columns the base contract writes itself; entity column lists must not contain them.
const BASE_COLUMNS: &[&str] = &[
    "_row_id",
    "id",
    "organization_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "created_by",
    "updated_by",
    "deleted_by",
    "version",
];

// ---------------------------------------------------------------------------------------------
// What an entity declares
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

/// Which page to read: after the item with public id `after` (none: the first page), at most
/// `limit` items (default [`DEFAULT_PAGE_LIMIT`], clamped to `1..=`[`MAX_PAGE_LIMIT`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit: Some(limit),
        }
    }

    /// The page after the item `after`.
    pub fn after(after: impl Into<String>, limit: u32) -> Self {
        Self {
            after: Some(after.into()),
            limit: Some(limit),
        }
    }

    /// The page size actually used.
    pub fn effective_limit(&self) -> u32 {
        self.limit
            .unwrap_or(DEFAULT_PAGE_LIMIT)
            .clamp(1, MAX_PAGE_LIMIT)
    }
}

/// One page of items; `next` is the cursor of the following page (the id of the last item),
/// `None` on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Backend-neutral statements
// ---------------------------------------------------------------------------------------------

/// A statement built at run time with `$N` placeholders and typed [`SqlValue`] arguments, run
/// on either backend (both accept `$N`).
///
/// ```ignore
/// let mut sql = Sql::new("SELECT * FROM shared_user WHERE email = ");
/// sql.push_bind(email);
/// let user: Option<User> = sql.fetch_optional(conn).await.map_err(map_db_error::<User>)?;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    args: Vec<SqlValue>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text (identifiers and keywords only: values go through [`Sql::push_bind`]).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn push_bind(&mut self, value: impl Into<SqlValue>) -> &mut Self {
        self.args.push(value.into());
        let _ = write!(self.text, "${}", self.args.len());
        self
    }

    /// Appends `$a, $b, …` for a list (for `IN (…)`); an empty list appends `NULL`, so
    /// `x IN (NULL)` matches nothing on both backends.
    pub fn push_bind_list<V: Into<SqlValue>>(
        &mut self,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        let mut empty = true;
        for value in values {
            if !empty {
                self.text.push_str(", ");
            }
            self.push_bind(value);
            empty = false;
        }
        if empty {
            self.text.push_str("NULL");
        }
        self
    }

    /// Appends ` AND organization_id = $N` when `org` is set.
    pub fn push_org(&mut self, org: Option<&str>) -> &mut Self {
        if let Some(org) = org {
            self.push(" AND organization_id = ").push_bind(org);
        }
        self
    }

    /// Appends ` AND col = $N` (or ` AND col IS NULL` for a NULL value) per condition.
    pub fn push_conditions(&mut self, conditions: Vec<(&'static str, SqlValue)>) -> &mut Self {
        for (column, value) in conditions {
            self.push(" AND ").push(column);
            if value.is_null() {
                self.push(" IS NULL");
            } else {
                self.push(" = ").push_bind(value);
            }
        }
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn arg_count(&self) -> usize {
        self.args.len()
    }

    pub async fn fetch_all<T: FromAnyRow>(
        self,
        conn: &mut Conn<'_>,
    ) -> Result<Vec<T>, sqlx::Error> {
        let Sql { text, args } = self;
        match conn {
            Conn::Sqlite(c) => {
                let rows = sqlite_query(&text, args).fetch_all(&mut **c).await?;
                rows.iter()
                    .map(<T as FromRow<SqliteRow>>::from_row)
                    .collect()
            }
            Conn::Postgres(c) => {
                let rows = postgres_query(&text, args).fetch_all(&mut **c).await?;
                rows.iter().map(<T as FromRow<PgRow>>::from_row).collect()
            }
        }
    }

    pub async fn fetch_optional<T: FromAnyRow>(
        self,
        conn: &mut Conn<'_>,
    ) -> Result<Option<T>, sqlx::Error> {
        let Sql { text, args } = self;
        match conn {
            Conn::Sqlite(c) => sqlite_query(&text, args)
                .fetch_optional(&mut **c)
                .await?
                .as_ref()
                .map(<T as FromRow<SqliteRow>>::from_row)
                .transpose(),
            Conn::Postgres(c) => postgres_query(&text, args)
                .fetch_optional(&mut **c)
                .await?
                .as_ref()
                .map(<T as FromRow<PgRow>>::from_row)
                .transpose(),
        }
    }

    pub async fn fetch_one<T: FromAnyRow>(self, conn: &mut Conn<'_>) -> Result<T, sqlx::Error> {
        self.fetch_optional(conn)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Runs the statement; returns the number of rows affected.
    pub async fn execute(self, conn: &mut Conn<'_>) -> Result<u64, sqlx::Error> {
        let Sql { text, args } = self;
        match conn {
            Conn::Sqlite(c) => Ok(sqlite_query(&text, args)
                .execute(&mut **c)
                .await?
                .rows_affected()),
            Conn::Postgres(c) => Ok(postgres_query(&text, args)
                .execute(&mut **c)
                .await?
                .rows_affected()),
        }
    }
}

fn sqlite_query(
    text: &str,
    args: Vec<SqlValue>,
) -> sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments<'_>> {
    args.into_iter()
        .fold(sqlx::query(text), |query, arg| arg.bind_sqlite(query))
}

fn postgres_query(
    text: &str,
    args: Vec<SqlValue>,
) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
    args.into_iter()
        .fold(sqlx::query(text), |query, arg| arg.bind_postgres(query))
}

/// Whether a value binds SQL NULL.
trait BindsNull {
    fn is_null(&self) -> bool;
}

impl BindsNull for SqlValue {
    fn is_null(&self) -> bool {
        match self {
            SqlValue::Text(v) => v.is_none(),
            SqlValue::Int(v) => v.is_none(),
            SqlValue::BigInt(v) => v.is_none(),
            SqlValue::Real(v) => v.is_none(),
            SqlValue::Bool(v) => v.is_none(),
            SqlValue::Ts(v) => v.is_none(),
            SqlValue::Json(v) => v.is_none(),
            SqlValue::Bytes(v) => v.is_none(),
        }
    }
}

/// Maps a driver error of a statement on `E`'s table: unique/FK violations as in
/// `From<sqlx::Error> for RepoError` (with `E::CONSTRAINT_ALIASES` applied), CHECK violations
/// to [`RepoError::Invalid`] (the data broke a table rule, e.g. an unknown enum value).
pub fn map_db_error<E: Entity>(error: sqlx::Error) -> RepoError {
    if let sqlx::Error::Database(db) = &error {
        if db.kind() == sqlx::error::ErrorKind::CheckViolation {
            let rule = db
                .constraint()
                .map(str::to_string)
                .unwrap_or_else(|| db.message().to_string());
            return RepoError::Invalid {
                message: format!("{} violates {rule}", E::NAME),
            };
        }
    }
    match RepoError::from(error) {
        RepoError::Conflict { constraint } => RepoError::Conflict {
            constraint: alias::<E>(constraint),
        },
        RepoError::ForeignKey { constraint } => RepoError::ForeignKey {
            constraint: alias::<E>(constraint),
        },
        other => other,
    }
}

fn alias<E: Entity>(constraint: String) -> String {
    E::CONSTRAINT_ALIASES
        .iter()
        .find(|(derived, _)| *derived == constraint)
        .map(|(_, actual)| actual.to_string())
        .unwrap_or(constraint)
}

// ---------------------------------------------------------------------------------------------
// Nested transactions
// ---------------------------------------------------------------------------------------------

/// A transaction begun on a caller's connection: a real transaction on a plain connection, a
/// savepoint inside a caller's transaction. Dropped without [`NestedTx::commit`] it rolls back.
pub enum NestedTx<'c> {
    Sqlite(sqlx::Transaction<'c, Sqlite>),
    Postgres(sqlx::Transaction<'c, Postgres>),
}

/// Begins a [`NestedTx`] on `conn`, for operations that must be atomic whichever connection
/// they are given.
pub async fn begin_nested<'c>(conn: &'c mut Conn<'_>) -> Result<NestedTx<'c>, sqlx::Error> {
    Ok(match conn {
        Conn::Sqlite(c) => NestedTx::Sqlite(sqlx::Connection::begin(&mut **c).await?),
        Conn::Postgres(c) => NestedTx::Postgres(sqlx::Connection::begin(&mut **c).await?),
    })
}

impl NestedTx<'_> {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            NestedTx::Sqlite(tx) => Conn::Sqlite(as_sqlite(tx)),
            NestedTx::Postgres(tx) => Conn::Postgres(as_postgres(tx)),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            NestedTx::Sqlite(tx) => tx.commit().await,
            NestedTx::Postgres(tx) => tx.commit().await,
        }
    }
}

fn as_sqlite<'a>(tx: &'a mut sqlx::Transaction<'_, Sqlite>) -> &'a mut SqliteConnection {
    tx
}

fn as_postgres<'a>(tx: &'a mut sqlx::Transaction<'_, Postgres>) -> &'a mut PgConnection {
    tx
}

// ---------------------------------------------------------------------------------------------
// The base operations, generic over the entity; `org` is `Some` exactly for org-scoped tables
// ---------------------------------------------------------------------------------------------

mod ops {
    use super::*;

    /// The full column list of one new row: base columns, then the entity's.
    pub(super) fn new_row<E: Entity>(
        now: Timestamp,
        org: Option<&str>,
        new: E::New,
        actor: &str,
    ) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let id = new
            .preset_id()
            .map(str::to_string)
            .unwrap_or_else(|| crate::ids::new_id(E::TABLE));
        let mut columns: Vec<(&'static str, SqlValue)> = vec![("id", id.into())];
        if let Some(org) = org {
            columns.push(("organization_id", org.into()));
        }
        columns.extend([
            ("created_at", now.into()),
            ("updated_at", now.into()),
            ("created_by", actor.into()),
            ("updated_by", actor.into()),
            ("version", SqlValue::Int(Some(1))),
        ]);
        let own = new.into_columns(now)?;
        reject_base_columns::<E>(&own)?;
        columns.extend(own);
        Ok(columns)
    }

    fn reject_base_columns<E: Entity>(
        columns: &[(&'static str, SqlValue)],
    ) -> Result<(), RepoError> {
        match columns.iter().find(|(c, _)| BASE_COLUMNS.contains(c)) {
            Some((column, _)) => Err(RepoError::Invalid {
                message: format!("{}: `{column}` is managed by the repository", E::NAME),
            }),
            None => Ok(()),
        }
    }

    /// `INSERT INTO t (cols) VALUES (…), (…)` for rows sharing one column list.
    pub(super) fn insert_sql<E: Entity>(
        rows: Vec<Vec<(&'static str, SqlValue)>>,
    ) -> Result<Sql, RepoError> {
        let columns: Vec<&'static str> = rows
            .first()
            .map(|row| row.iter().map(|(c, _)| *c).collect())
            .unwrap_or_default();
        let mut sql = Sql::new(format!(
            "INSERT INTO {} ({}) VALUES ",
            E::TABLE,
            columns.join(", ")
        ));
        for (i, row) in rows.into_iter().enumerate() {
            if row.len() != columns.len() || row.iter().zip(&columns).any(|((c, _), e)| c != e) {
                return Err(RepoError::Invalid {
                    message: format!("{}: rows of one insert must have the same columns", E::NAME),
                });
            }
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.push_bind_list(row.into_iter().map(|(_, v)| v));
            sql.push(")");
        }
        Ok(sql)
    }

    pub async fn insert<E: Entity>(
        conn: &mut Conn<'_>,
        now: Timestamp,
        org: Option<&str>,
        new: E::New,
        actor: &str,
    ) -> Result<E, RepoError> {
        let mut sql = insert_sql::<E>(vec![new_row::<E>(now, org, new, actor)?])?;
        sql.push(" RETURNING *");
        sql.fetch_one(conn).await.map_err(map_db_error::<E>)
    }

    pub async fn insert_many<E: Entity>(
        conn: &mut Conn<'_>,
        now: Timestamp,
        org: Option<&str>,
        news: Vec<E::New>,
        actor: &str,
    ) -> Result<Vec<E>, RepoError> {
        // Validate every row before writing any.
        let rows = news
            .into_iter()
            .map(|new| new_row::<E>(now, org, new, actor))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let per_statement = rows_per_insert(first.len());
        let position: HashMap<String, usize> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, row)| match &row[0].1 {
                SqlValue::Text(Some(id)) => Some((id.clone(), i)),
                _ => None,
            })
            .collect();
        let mut inserted: Vec<E> = Vec::with_capacity(rows.len());
        let mut tx = begin_nested(conn).await?;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(per_statement).collect();
            let mut sql = insert_sql::<E>(chunk)?;
            sql.push(" RETURNING *");
            let batch: Vec<E> = sql
                .fetch_all(&mut tx.conn())
                .await
                .map_err(map_db_error::<E>)?;
            inserted.extend(batch);
        }
        tx.commit().await?;
        // RETURNING order is not guaranteed by SQL: give the rows back in input order.
        inserted.sort_by_key(|e| position.get(e.id().as_str()).copied().unwrap_or(usize::MAX));
        Ok(inserted)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn update<E: Entity>(
        conn: &mut Conn<'_>,
        now: Timestamp,
        org: Option<&str>,
        id: &str,
        expected_version: i32,
        patch: E::Patch,
        actor: &str,
    ) -> Result<E, RepoError> {
        let columns = patch.into_columns(now)?;
        reject_base_columns::<E>(&columns)?;
        let mut sql = Sql::new(format!("UPDATE {} SET ", E::TABLE));
        for (column, value) in columns {
            sql.push(column).push(" = ").push_bind(value).push(", ");
        }
        sql.push("version = version + 1, updated_at = ")
            .push_bind(now)
            .push(", updated_by = ")
            .push_bind(actor)
            .push(" WHERE id = ")
            .push_bind(id)
            .push_org(org)
            .push(" AND version = ")
            .push_bind(expected_version)
            .push(" AND deleted_at IS NULL RETURNING *");
        if let Some(row) = sql
            .fetch_optional::<E>(conn)
            .await
            .map_err(map_db_error::<E>)?
        {
            return Ok(row);
        }
        // Nothing matched: tell a missing row from a stale version.
        let mut sql = Sql::new(format!(
            "SELECT version, deleted_at FROM {} WHERE id = ",
            E::TABLE
        ));
        sql.push_bind(id).push_org(org);
        let found: Option<(i32, Option<Timestamp>)> =
            sql.fetch_optional(conn).await.map_err(map_db_error::<E>)?;
        match found {
            Some((actual, None)) => Err(RepoError::VersionConflict {
                entity: E::NAME,
                id: id.to_string(),
                expected: expected_version,
                actual,
            }),
            _ => Err(RepoError::not_found(E::NAME, id)),
        }
    }

    pub async fn find_by_id<E: Entity>(
        conn: &mut Conn<'_>,
        org: Option<&str>,
        id: &str,
        with_deleted: bool,
    ) -> Result<Option<E>, RepoError> {
        let mut sql = Sql::new(format!("SELECT * FROM {} WHERE id = ", E::TABLE));
        sql.push_bind(id).push_org(org);
        if !with_deleted {
            sql.push(" AND deleted_at IS NULL");
        }
        sql.fetch_optional(conn).await.map_err(map_db_error::<E>)
    }

    pub async fn soft_delete<E: Entity>(
        conn: &mut Conn<'_>,
        now: Timestamp,
        org: Option<&str>,
        id: &str,
        actor: &str,
    ) -> Result<(), RepoError> {
        let mut sql = Sql::new(format!("UPDATE {} SET deleted_at = ", E::TABLE));
        sql.push_bind(now)
            .push(", deleted_by = ")
            .push_bind(actor)
            .push(", updated_at = ")
            .push_bind(now)
            .push(", updated_by = ")
            .push_bind(actor)
            .push(", version = version + 1 WHERE id = ")
            .push_bind(id)
            .push_org(org)
            .push(" AND deleted_at IS NULL");
        match sql.execute(conn).await.map_err(map_db_error::<E>)? {
            0 => Err(RepoError::not_found(E::NAME, id)),
            _ => Ok(()),
        }
    }

    pub async fn hard_delete<E: Entity>(
        conn: &mut Conn<'_>,
        org: Option<&str>,
        id: &str,
    ) -> Result<(), RepoError> {
        let mut sql = Sql::new(format!("DELETE FROM {} WHERE id = ", E::TABLE));
        sql.push_bind(id).push_org(org);
        match sql.execute(conn).await.map_err(map_db_error::<E>)? {
            0 => Err(RepoError::not_found(E::NAME, id)),
            _ => Ok(()),
        }
    }

    /// Keyset pagination on `(created_at DESC, id DESC)`.
    pub async fn list<E: Entity>(
        conn: &mut Conn<'_>,
        org: Option<&str>,
        filter: E::Filter,
        page: PageRequest,
    ) -> Result<Page<E>, RepoError> {
        let limit = page.effective_limit() as usize;
        let cursor = match &page.after {
            None => None,
            Some(after) => {
                // The cursor row may be soft-deleted; it only has to exist (in this tenant).
                let mut sql = Sql::new(format!(
                    "SELECT created_at, id FROM {} WHERE id = ",
                    E::TABLE
                ));
                sql.push_bind(after.as_str()).push_org(org);
                let key: Option<(Timestamp, String)> =
                    sql.fetch_optional(conn).await.map_err(map_db_error::<E>)?;
                Some(key.ok_or(RepoError::InvalidCursor)?)
            }
        };
        let mut sql = Sql::new(format!(
            "SELECT * FROM {} WHERE deleted_at IS NULL",
            E::TABLE
        ));
        sql.push_org(org).push_conditions(filter.conditions());
        if let Some((created_at, id)) = cursor {
            sql.push(" AND (created_at < ")
                .push_bind(created_at)
                .push(" OR (created_at = ")
                .push_bind(created_at)
                .push(" AND id < ")
                .push_bind(id)
                .push("))");
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(limit as i64 + 1);
        let mut items: Vec<E> = sql.fetch_all(conn).await.map_err(map_db_error::<E>)?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|e| e.id().as_str().to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    pub async fn count<E: Entity>(
        conn: &mut Conn<'_>,
        org: Option<&str>,
        filter: E::Filter,
    ) -> Result<u64, RepoError> {
        let mut sql = Sql::new(format!(
            "SELECT COUNT(*) FROM {} WHERE deleted_at IS NULL",
            E::TABLE
        ));
        sql.push_org(org).push_conditions(filter.conditions());
        let (n,): (i64,) = sql.fetch_one(conn).await.map_err(map_db_error::<E>)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// The `INSERT INTO t (…) VALUES (…)` statement of one new row, with the base columns set as
/// `insert` sets them, for statements the base contract does not cover (upserts: append
/// `ON CONFLICT … RETURNING …`). `org` must be given exactly for org-scoped tables.
pub fn insert_statement<E: Entity>(
    now: Timestamp,
    org: Option<&OrganizationId>,
    new: E::New,
    actor: &str,
) -> Result<Sql, RepoError> {
    if org.is_some() != E::Scope::ORG_SCOPED {
        return Err(RepoError::Invalid {
            message: format!(
                "{}: organization given for the wrong kind of table",
                E::NAME
            ),
        });
    }
    ops::insert_sql::<E>(vec![ops::new_row::<E>(
        now,
        org.map(OrganizationId::as_str),
        new,
        actor,
    )?])
}

/// Rows per multi-row `INSERT` for a table of `columns` columns.
pub fn rows_per_insert(columns: usize) -> usize {
    (MAX_BINDS_PER_STATEMENT / columns.max(1)).clamp(1, MAX_ROWS_PER_INSERT)
}

// ---------------------------------------------------------------------------------------------
// The repositories
// ---------------------------------------------------------------------------------------------

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

macro_rules! common_impl {
    ($repo:ident) => {
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
    };
}

common_impl!(Repo);
common_impl!(OrgRepo);

impl<E: Entity<Scope = Unscoped>> Repo<E> {
    pub async fn insert(&self, new: E::New, actor: &str) -> Result<E, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.insert_in(&mut pooled.conn(), new, actor).await
    }

    pub async fn insert_in(
        &self,
        conn: &mut Conn<'_>,
        new: E::New,
        actor: &str,
    ) -> Result<E, RepoError> {
        ops::insert(conn, self.now(), None, new, actor)
            .instrument(E::span(Op::Insert))
            .await
    }

    /// Inserts all rows or none (≤ 500 rows per statement, one transaction); returns them in
    /// input order.
    pub async fn insert_many(&self, news: Vec<E::New>, actor: &str) -> Result<Vec<E>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.insert_many_in(&mut pooled.conn(), news, actor).await
    }

    pub async fn insert_many_in(
        &self,
        conn: &mut Conn<'_>,
        news: Vec<E::New>,
        actor: &str,
    ) -> Result<Vec<E>, RepoError> {
        ops::insert_many(conn, self.now(), None, news, actor)
            .instrument(E::span(Op::InsertMany))
            .await
    }

    /// Writes the patch's set fields if the row is at `expected_version`; bumps the version.
    pub async fn update(
        &self,
        id: &E::Id,
        expected_version: i32,
        patch: E::Patch,
        actor: &str,
    ) -> Result<E, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.update_in(&mut pooled.conn(), id, expected_version, patch, actor)
            .await
    }

    pub async fn update_in(
        &self,
        conn: &mut Conn<'_>,
        id: &E::Id,
        expected_version: i32,
        patch: E::Patch,
        actor: &str,
    ) -> Result<E, RepoError> {
        ops::update(
            conn,
            self.now(),
            None,
            id.as_str(),
            expected_version,
            patch,
            actor,
        )
        .instrument(E::span(Op::Update))
        .await
    }

    /// The row unless missing or soft-deleted.
    pub async fn find_by_id(&self, id: &E::Id) -> Result<Option<E>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.find_by_id_in(&mut pooled.conn(), id).await
    }

    pub async fn find_by_id_in(
        &self,
        conn: &mut Conn<'_>,
        id: &E::Id,
    ) -> Result<Option<E>, RepoError> {
        ops::find_by_id(conn, None, id.as_str(), false)
            .instrument(E::span(Op::FindById))
            .await
    }

    /// The row even if soft-deleted.
    pub async fn find_by_id_with_deleted(&self, id: &E::Id) -> Result<Option<E>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.find_by_id_with_deleted_in(&mut pooled.conn(), id)
            .await
    }

    pub async fn find_by_id_with_deleted_in(
        &self,
        conn: &mut Conn<'_>,
        id: &E::Id,
    ) -> Result<Option<E>, RepoError> {
        ops::find_by_id(conn, None, id.as_str(), true)
            .instrument(E::span(Op::FindByIdWithDeleted))
            .await
    }

    /// [`Repo::find_by_id`] or `NotFound`.
    pub async fn get(&self, id: &E::Id) -> Result<E, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.get_in(&mut pooled.conn(), id).await
    }

    pub async fn get_in(&self, conn: &mut Conn<'_>, id: &E::Id) -> Result<E, RepoError> {
        async {
            ops::find_by_id::<E>(conn, None, id.as_str(), false)
                .await?
                .ok_or_else(|| RepoError::not_found(E::NAME, id))
        }
        .instrument(E::span(Op::Get))
        .await
    }

    /// Marks the row deleted (see slices.md §0.2); missing or already deleted → `NotFound`.
    pub async fn soft_delete(&self, id: &E::Id, actor: &str) -> Result<(), RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.soft_delete_in(&mut pooled.conn(), id, actor).await
    }

    pub async fn soft_delete_in(
        &self,
        conn: &mut Conn<'_>,
        id: &E::Id,
        actor: &str,
    ) -> Result<(), RepoError> {
        ops::soft_delete::<E>(conn, self.now(), None, id.as_str(), actor)
            .instrument(E::span(Op::SoftDelete))
            .await
    }

    /// Removes the row (cascades apply); missing → `NotFound`.
    pub async fn hard_delete(&self, id: &E::Id) -> Result<(), RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.hard_delete_in(&mut pooled.conn(), id).await
    }

    pub async fn hard_delete_in(&self, conn: &mut Conn<'_>, id: &E::Id) -> Result<(), RepoError> {
        ops::hard_delete::<E>(conn, None, id.as_str())
            .instrument(E::span(Op::HardDelete))
            .await
    }

    /// One page, newest first (`created_at DESC, id DESC`), soft-deleted rows excluded.
    pub async fn list(&self, filter: E::Filter, page: PageRequest) -> Result<Page<E>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.list_in(&mut pooled.conn(), filter, page).await
    }

    pub async fn list_in(
        &self,
        conn: &mut Conn<'_>,
        filter: E::Filter,
        page: PageRequest,
    ) -> Result<Page<E>, RepoError> {
        ops::list(conn, None, filter, page)
            .instrument(E::span(Op::List))
            .await
    }

    /// Rows `list` would return over all pages.
    pub async fn count(&self, filter: E::Filter) -> Result<u64, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.count_in(&mut pooled.conn(), filter).await
    }

    pub async fn count_in(&self, conn: &mut Conn<'_>, filter: E::Filter) -> Result<u64, RepoError> {
        ops::count::<E>(conn, None, filter)
            .instrument(E::span(Op::Count))
            .await
    }
}

impl<E: Entity<Scope = OrgScoped>> OrgRepo<E> {
    pub async fn insert(
        &self,
        org: &OrganizationId,
        new: E::New,
        actor: &str,
    ) -> Result<E, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.insert_in(&mut pooled.conn(), org, new, actor).await
    }

    pub async fn insert_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        new: E::New,
        actor: &str,
    ) -> Result<E, RepoError> {
        ops::insert(conn, self.now(), Some(org.as_str()), new, actor)
            .instrument(E::span(Op::Insert))
            .await
    }

    /// Inserts all rows or none (≤ 500 rows per statement, one transaction); returns them in
    /// input order.
    pub async fn insert_many(
        &self,
        org: &OrganizationId,
        news: Vec<E::New>,
        actor: &str,
    ) -> Result<Vec<E>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.insert_many_in(&mut pooled.conn(), org, news, actor)
            .await
    }

    pub async fn insert_many_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        news: Vec<E::New>,
        actor: &str,
    ) -> Result<Vec<E>, RepoError> {
        ops::insert_many(conn, self.now(), Some(org.as_str()), news, actor)
            .instrument(E::span(Op::InsertMany))
            .await
    }

    /// Writes the patch's set fields if the row is at `expected_version`; bumps the version.
    pub async fn update(
        &self,
        org: &OrganizationId,
        id: &E::Id,
        expected_version: i32,
        patch: E::Patch,
        actor: &str,
    ) -> Result<E, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.update_in(&mut pooled.conn(), org, id, expected_version, patch, actor)
            .await
    }

    pub async fn update_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        id: &E::Id,
        expected_version: i32,
        patch: E::Patch,
        actor: &str,
    ) -> Result<E, RepoError> {
        let org = Some(org.as_str());
        ops::update(
            conn,
            self.now(),
            org,
            id.as_str(),
            expected_version,
            patch,
            actor,
        )
        .instrument(E::span(Op::Update))
        .await
    }

    /// The row unless missing, soft-deleted or in another organization.
    pub async fn find_by_id(
        &self,
        org: &OrganizationId,
        id: &E::Id,
    ) -> Result<Option<E>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.find_by_id_in(&mut pooled.conn(), org, id).await
    }

    pub async fn find_by_id_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        id: &E::Id,
    ) -> Result<Option<E>, RepoError> {
        ops::find_by_id(conn, Some(org.as_str()), id.as_str(), false)
            .instrument(E::span(Op::FindById))
            .await
    }

    /// The row even if soft-deleted (still only in `org`).
    pub async fn find_by_id_with_deleted(
        &self,
        org: &OrganizationId,
        id: &E::Id,
    ) -> Result<Option<E>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.find_by_id_with_deleted_in(&mut pooled.conn(), org, id)
            .await
    }

    pub async fn find_by_id_with_deleted_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        id: &E::Id,
    ) -> Result<Option<E>, RepoError> {
        ops::find_by_id(conn, Some(org.as_str()), id.as_str(), true)
            .instrument(E::span(Op::FindByIdWithDeleted))
            .await
    }

    /// [`OrgRepo::find_by_id`] or `NotFound`.
    pub async fn get(&self, org: &OrganizationId, id: &E::Id) -> Result<E, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.get_in(&mut pooled.conn(), org, id).await
    }

    pub async fn get_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        id: &E::Id,
    ) -> Result<E, RepoError> {
        async {
            ops::find_by_id::<E>(conn, Some(org.as_str()), id.as_str(), false)
                .await?
                .ok_or_else(|| RepoError::not_found(E::NAME, id))
        }
        .instrument(E::span(Op::Get))
        .await
    }

    /// Marks the row deleted (see slices.md §0.2); missing or already deleted → `NotFound`.
    pub async fn soft_delete(
        &self,
        org: &OrganizationId,
        id: &E::Id,
        actor: &str,
    ) -> Result<(), RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.soft_delete_in(&mut pooled.conn(), org, id, actor)
            .await
    }

    pub async fn soft_delete_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        id: &E::Id,
        actor: &str,
    ) -> Result<(), RepoError> {
        ops::soft_delete::<E>(conn, self.now(), Some(org.as_str()), id.as_str(), actor)
            .instrument(E::span(Op::SoftDelete))
            .await
    }

    /// Removes the row (cascades apply); missing → `NotFound`.
    pub async fn hard_delete(&self, org: &OrganizationId, id: &E::Id) -> Result<(), RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.hard_delete_in(&mut pooled.conn(), org, id).await
    }

    pub async fn hard_delete_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        id: &E::Id,
    ) -> Result<(), RepoError> {
        ops::hard_delete::<E>(conn, Some(org.as_str()), id.as_str())
            .instrument(E::span(Op::HardDelete))
            .await
    }

    /// One page, newest first (`created_at DESC, id DESC`), soft-deleted rows excluded.
    pub async fn list(
        &self,
        org: &OrganizationId,
        filter: E::Filter,
        page: PageRequest,
    ) -> Result<Page<E>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.list_in(&mut pooled.conn(), org, filter, page).await
    }

    pub async fn list_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        filter: E::Filter,
        page: PageRequest,
    ) -> Result<Page<E>, RepoError> {
        ops::list(conn, Some(org.as_str()), filter, page)
            .instrument(E::span(Op::List))
            .await
    }

    /// Rows `list` would return over all pages.
    pub async fn count(&self, org: &OrganizationId, filter: E::Filter) -> Result<u64, RepoError> {
        let mut pooled = self.db.acquire().await?;
        self.count_in(&mut pooled.conn(), org, filter).await
    }

    pub async fn count_in(
        &self,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        filter: E::Filter,
    ) -> Result<u64, RepoError> {
        ops::count::<E>(conn, Some(org.as_str()), filter)
            .instrument(E::span(Op::Count))
            .await
    }
}

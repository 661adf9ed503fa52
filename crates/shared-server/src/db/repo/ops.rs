//! The base operations (slices.md §0.6), generic over the entity and written once for both
//! scopes: `org` is `Some` exactly for organization-scoped tables, and then every statement
//! filters on it, so another organization's row reads as a missing one.

use std::collections::HashMap;

use super::{
    begin_nested, map_db_error, Entity, ListFilter, NewRow, Page, PageRequest, PatchRow, Sql,
    TableScope,
};
use crate::db::{Exec, RepoError, SqlValue};
use crate::entities::OrganizationId;
use crate::ids::EntityId;
use crate::time::Timestamp;

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

fn reject_base_columns<E: Entity>(columns: &[(&'static str, SqlValue)]) -> Result<(), RepoError> {
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

pub(super) async fn insert<E: Entity>(
    mut on: Exec<'_>,
    now: Timestamp,
    org: Option<&str>,
    new: E::New,
    actor: &str,
) -> Result<E, RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
    let mut sql = insert_sql::<E>(vec![new_row::<E>(now, org, new, actor)?])?;
    sql.push(" RETURNING *");
    sql.fetch_one(conn).await.map_err(map_db_error::<E>)
}

pub(super) async fn insert_many<E: Entity>(
    mut on: Exec<'_>,
    now: Timestamp,
    org: Option<&str>,
    news: Vec<E::New>,
    actor: &str,
) -> Result<Vec<E>, RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
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
pub(super) async fn update<E: Entity>(
    mut on: Exec<'_>,
    now: Timestamp,
    org: Option<&str>,
    id: &str,
    expected_version: i32,
    patch: E::Patch,
    actor: &str,
) -> Result<E, RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
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

pub(super) async fn find_by_id<E: Entity>(
    mut on: Exec<'_>,
    org: Option<&str>,
    id: &str,
    with_deleted: bool,
) -> Result<Option<E>, RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
    let mut sql = Sql::new(format!("SELECT * FROM {} WHERE id = ", E::TABLE));
    sql.push_bind(id).push_org(org);
    if !with_deleted {
        sql.push(" AND deleted_at IS NULL");
    }
    sql.fetch_optional(conn).await.map_err(map_db_error::<E>)
}

pub(super) async fn soft_delete<E: Entity>(
    mut on: Exec<'_>,
    now: Timestamp,
    org: Option<&str>,
    id: &str,
    actor: &str,
) -> Result<(), RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
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

pub(super) async fn hard_delete<E: Entity>(
    mut on: Exec<'_>,
    org: Option<&str>,
    id: &str,
) -> Result<(), RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
    let mut sql = Sql::new(format!("DELETE FROM {} WHERE id = ", E::TABLE));
    sql.push_bind(id).push_org(org);
    match sql.execute(conn).await.map_err(map_db_error::<E>)? {
        0 => Err(RepoError::not_found(E::NAME, id)),
        _ => Ok(()),
    }
}

/// Keyset pagination on `(created_at DESC, id DESC)`.
pub(super) async fn list<E: Entity>(
    mut on: Exec<'_>,
    org: Option<&str>,
    filter: E::Filter,
    page: PageRequest,
) -> Result<Page<E>, RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
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

pub(super) async fn count<E: Entity>(
    mut on: Exec<'_>,
    org: Option<&str>,
    filter: E::Filter,
) -> Result<u64, RepoError> {
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
    let mut sql = Sql::new(format!(
        "SELECT COUNT(*) FROM {} WHERE deleted_at IS NULL",
        E::TABLE
    ));
    sql.push_org(org).push_conditions(filter.conditions());
    let (n,): (i64,) = sql.fetch_one(conn).await.map_err(map_db_error::<E>)?;
    Ok(u64::try_from(n).unwrap_or(0))
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
    insert_sql::<E>(vec![new_row::<E>(
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

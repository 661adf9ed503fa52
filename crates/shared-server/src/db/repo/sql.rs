//! Backend-neutral statements: [`Sql`] builds text with `$N` placeholders and typed
//! [`SqlValue`] arguments and runs it on either backend; [`map_db_error`] maps driver errors of
//! a table's statements to [`RepoError`] (slices.md §0.7).

use std::fmt::Write as _;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite};

use super::{Entity, FromAnyRow};
use crate::db::{Conn, RepoError, SqlValue};

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
    match map_table_error(E::NAME, error) {
        RepoError::Conflict { constraint } => RepoError::Conflict {
            constraint: alias::<E>(constraint),
        },
        RepoError::ForeignKey { constraint } => RepoError::ForeignKey {
            constraint: alias::<E>(constraint),
        },
        other => other,
    }
}

/// [`map_db_error`] for tables without an [`Entity`] (no constraint aliases): CHECK violations
/// become [`RepoError::Invalid`] naming `what`, the rest as `From<sqlx::Error> for RepoError`.
pub fn map_table_error(what: &str, error: sqlx::Error) -> RepoError {
    if let sqlx::Error::Database(db) = &error {
        if db.kind() == sqlx::error::ErrorKind::CheckViolation {
            let rule = db
                .constraint()
                .map(str::to_string)
                .unwrap_or_else(|| db.message().to_string());
            return RepoError::Invalid {
                message: format!("{what} violates {rule}"),
            };
        }
    }
    RepoError::from(error)
}

fn alias<E: Entity>(constraint: String) -> String {
    E::CONSTRAINT_ALIASES
        .iter()
        .find(|(derived, _)| *derived == constraint)
        .map(|(_, actual)| actual.to_string())
        .unwrap_or(constraint)
}

//! Dynamically built statements (partial updates, generic inserts) bind their arguments as
//! `SqlValue`s: one enum, typed per column, encoded for each backend.

use serde_json::Value as Json;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Postgres, Sqlite};

use crate::time::Timestamp;

/// A typed value for a bind parameter. `None` binds a typed NULL (PostgreSQL needs the type).
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(Option<String>),
    Int(Option<i32>),
    BigInt(Option<i64>),
    Real(Option<f64>),
    Bool(Option<bool>),
    Ts(Option<Timestamp>),
    Json(Option<Json>),
    Bytes(Option<Vec<u8>>),
}

impl SqlValue {
    pub fn bind_sqlite<'q>(
        self,
        query: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> Query<'q, Sqlite, SqliteArguments<'q>> {
        match self {
            SqlValue::Text(v) => query.bind(v),
            SqlValue::Int(v) => query.bind(v),
            SqlValue::BigInt(v) => query.bind(v),
            SqlValue::Real(v) => query.bind(v),
            SqlValue::Bool(v) => query.bind(v),
            SqlValue::Ts(v) => query.bind(v),
            // SQLite keeps JSON as TEXT (checked with json_valid in the schema).
            SqlValue::Json(v) => query.bind(v.map(|j| j.to_string())),
            SqlValue::Bytes(v) => query.bind(v),
        }
    }

    pub fn bind_postgres<'q>(
        self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        match self {
            SqlValue::Text(v) => query.bind(v),
            SqlValue::Int(v) => query.bind(v),
            SqlValue::BigInt(v) => query.bind(v),
            SqlValue::Real(v) => query.bind(v),
            SqlValue::Bool(v) => query.bind(v),
            SqlValue::Ts(v) => query.bind(v),
            SqlValue::Json(v) => query.bind(v.map(sqlx::types::Json)),
            SqlValue::Bytes(v) => query.bind(v),
        }
    }
}

macro_rules! from_value {
    ($ty:ty, $variant:ident) => {
        impl From<$ty> for SqlValue {
            fn from(v: $ty) -> Self {
                SqlValue::$variant(Some(v.into()))
            }
        }
        impl From<Option<$ty>> for SqlValue {
            fn from(v: Option<$ty>) -> Self {
                SqlValue::$variant(v.map(Into::into))
            }
        }
    };
}

from_value!(String, Text);
from_value!(&str, Text);
from_value!(i32, Int);
from_value!(i64, BigInt);
from_value!(f64, Real);
from_value!(bool, Bool);
from_value!(Timestamp, Ts);
from_value!(Json, Json);
from_value!(Vec<u8>, Bytes);

/// An optional id binds its text or NULL (the id itself binds through
/// [`id_sql_value!`](crate::id_sql_value)).
impl<T: crate::ids::EntityId> From<Option<T>> for SqlValue {
    fn from(id: Option<T>) -> Self {
        SqlValue::Text(id.map(|id| id.as_str().to_string()))
    }
}

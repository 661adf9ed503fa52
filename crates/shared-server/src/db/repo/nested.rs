//! Transactions begun on a caller's connection, for operations that must be atomic whichever
//! connection they are given (a multi-row insert, a move of many files).

use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};

use crate::db::Conn;

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

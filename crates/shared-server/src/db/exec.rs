//! `Exec`: where a repository statement runs, so each query is written once (issue 19, point 5).
//!
//! Every repository method takes `on: impl Into<Exec<'_>>`: the pool (`&db`: a connection is
//! checked out for the call) or a connection the caller holds (`&mut tx`, `&mut conn`: typically
//! an open transaction, so a service groups several writes atomically, slices.md §0.7).
//!
//! ```ignore
//! let mut on = on.into();
//! let mut held = on.conn().await?;      // acquires from the pool or reborrows the caller's
//! sql.fetch_all(&mut held.conn()).await
//! ```

use super::repo::NestedTx;
use super::{Conn, Db, PooledConn, Tx};

/// Where a repository call runs: the pool, or a connection (usually a transaction) the caller
/// holds.
pub enum Exec<'a> {
    Pool(&'a Db),
    Conn(Conn<'a>),
}

/// The connection of one [`Exec`] for the duration of a call: checked out of the pool, or the
/// caller's, reborrowed.
pub enum HeldConn<'a> {
    Pooled(PooledConn),
    Borrowed(Conn<'a>),
}

impl Exec<'_> {
    /// The connection to run on: acquired from the pool for [`Exec::Pool`] (returned when the
    /// [`HeldConn`] drops), the caller's own for [`Exec::Conn`].
    pub async fn conn(&mut self) -> Result<HeldConn<'_>, sqlx::Error> {
        Ok(match self {
            Exec::Pool(db) => HeldConn::Pooled(db.acquire().await?),
            Exec::Conn(conn) => HeldConn::Borrowed(conn.reborrow()),
        })
    }

    /// The same place for a nested call (`self.other(on.reborrow(), …)`): the pool stays the
    /// pool, a connection is lent.
    pub fn reborrow(&mut self) -> Exec<'_> {
        match self {
            Exec::Pool(db) => Exec::Pool(db),
            Exec::Conn(conn) => Exec::Conn(conn.reborrow()),
        }
    }
}

impl HeldConn<'_> {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            HeldConn::Pooled(pooled) => pooled.conn(),
            HeldConn::Borrowed(conn) => conn.reborrow(),
        }
    }
}

impl<'a> From<&'a Db> for Exec<'a> {
    fn from(db: &'a Db) -> Self {
        Exec::Pool(db)
    }
}

impl<'a> From<Conn<'a>> for Exec<'a> {
    fn from(conn: Conn<'a>) -> Self {
        Exec::Conn(conn)
    }
}

impl<'a, 'c> From<&'a mut Conn<'c>> for Exec<'a> {
    fn from(conn: &'a mut Conn<'c>) -> Self {
        Exec::Conn(conn.reborrow())
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Exec::Conn(tx.conn())
    }
}

impl<'a> From<&'a mut PooledConn> for Exec<'a> {
    fn from(pooled: &'a mut PooledConn) -> Self {
        Exec::Conn(pooled.conn())
    }
}

impl<'a, 'c> From<&'a mut NestedTx<'c>> for Exec<'a> {
    fn from(tx: &'a mut NestedTx<'c>) -> Self {
        Exec::Conn(tx.conn())
    }
}

impl<'a, 'b> From<&'a mut Exec<'b>> for Exec<'a> {
    fn from(on: &'a mut Exec<'b>) -> Self {
        on.reborrow()
    }
}

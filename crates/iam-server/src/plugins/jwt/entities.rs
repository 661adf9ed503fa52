//! `iam_jwks`: the jwt plugin's signing keys (better-auth's `jwks` model). The `Debug` output
//! never shows the private key.

use shared_server::db::repo::{Entity, NewRow, NoFilter, PatchRow, Unscoped};
use shared_server::db::{Columns, RepoError, SqlValue};
use shared_server::entities::Audit;
use shared_server::Timestamp;

shared_server::entity_id!(
    /// Id of an `iam_jwks` row (the key's `kid`).
    JwkId,
    "iam_jwks"
);

shared_server::id_sql_value!(JwkId);

/// An `iam_jwks` row.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct Jwk {
    #[sqlx(rename = "_row_id")]
    pub row_id: i64,
    pub id: JwkId,
    /// The public JWK, JSON text.
    pub public_key: String,
    /// The private JWK: JSON text of the encrypted text (a JSON string), or the JWK itself.
    pub private_key: String,
    pub alg: Option<String>,
    pub crv: Option<String>,
    pub expires_at: Option<Timestamp>,
    #[sqlx(flatten)]
    pub audit: Audit,
}

impl std::fmt::Debug for Jwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwk")
            .field("id", &self.id)
            .field("alg", &self.alg)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Entity for Jwk {
    type Id = JwkId;
    type New = NewJwk;
    type Patch = JwkPatch;
    type Filter = NoFilter;
    type Scope = Unscoped;
    const TABLE: &'static str = "iam_jwks";
    const NAME: &'static str = "Jwk";

    fn id(&self) -> &JwkId {
        &self.id
    }

    shared_server::repo_spans!("JwksRepo");
}

/// A key to insert.
#[derive(Clone, PartialEq)]
pub struct NewJwk {
    pub public_key: String,
    pub private_key: String,
    pub alg: Option<String>,
    pub crv: Option<String>,
    pub expires_at: Option<Timestamp>,
}

impl std::fmt::Debug for NewJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewJwk")
            .field("alg", &self.alg)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl NewRow for NewJwk {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("public_key", self.public_key)
            .set("private_key", self.private_key)
            .set("alg", self.alg)
            .set("crv", self.crv)
            .set("expires_at", self.expires_at);
        c.finish()
    }
}

/// Keys are written once; only their expiry may change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JwkPatch {
    pub expires_at: Option<Option<Timestamp>>,
}

impl PatchRow for JwkPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("expires_at", self.expires_at);
        c.finish()
    }
}

//! `shared_session`: a signed-in browser or client (scoped by user, not by organization). The
//! session's active organization is what every org-scoped request acts on.

use serde::{Deserialize, Serialize};

use super::{invalid, Audit, OrganizationId, TeamId, UserId};
use crate::db::repo::{Entity, ListFilter, NewRow, PatchRow, Unscoped};
use crate::db::Columns;
use crate::db::{RepoError, SqlValue};
use crate::time::Timestamp;

crate::entity_id!(
    /// Id of a `shared_session` row.
    SessionId,
    "shared_session"
);

/// A `shared_session` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: SessionId,
    pub token: String,
    pub expires_at: Timestamp,
    pub user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_organization_id: Option<OrganizationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_team_id: Option<TeamId>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Session {
    /// Whether the session is still usable at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.expires_at > now && self.audit.deleted_at.is_none()
    }
}

impl Entity for Session {
    type Id = SessionId;
    type New = NewSession;
    type Patch = SessionPatch;
    type Filter = SessionFilter;
    type Scope = Unscoped;
    const TABLE: &'static str = "shared_session";
    const NAME: &'static str = "Session";

    fn id(&self) -> &SessionId {
        &self.id
    }

    crate::repo_spans!("SessionRepo");
}

/// A session to insert; `expires_at` must be after the insert time (table CHECK).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    pub token: String,
    pub expires_at: Timestamp,
    pub user_id: UserId,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub impersonated_by: Option<UserId>,
    pub active_organization_id: Option<OrganizationId>,
    pub active_team_id: Option<TeamId>,
    pub source: Option<String>,
}

impl NewSession {
    pub fn new(token: impl Into<String>, user_id: UserId, expires_at: Timestamp) -> Self {
        Self {
            token: token.into(),
            expires_at,
            user_id,
            ip_address: None,
            user_agent: None,
            impersonated_by: None,
            active_organization_id: None,
            active_team_id: None,
            source: None,
        }
    }
}

impl NewRow for NewSession {
    fn into_columns(self, now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        if self.token.is_empty() {
            return Err(invalid("session token must not be empty"));
        }
        if self.expires_at <= now {
            return Err(invalid("session expires_at must be after its creation"));
        }
        let mut c = Columns::default();
        c.set("token", self.token)
            .set("expires_at", self.expires_at)
            .set("user_id", self.user_id)
            .set("ip_address", self.ip_address)
            .set("user_agent", self.user_agent)
            .set("impersonated_by", self.impersonated_by)
            .set("active_organization_id", self.active_organization_id)
            .set("active_team_id", self.active_team_id)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of a session (`Some(None)` clears a nullable column). An `expires_at`
/// not after the session's creation fails the table CHECK (`RepoError::Invalid`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionPatch {
    pub expires_at: Option<Timestamp>,
    pub ip_address: Option<Option<String>>,
    pub user_agent: Option<Option<String>>,
    pub impersonated_by: Option<Option<UserId>>,
    pub active_organization_id: Option<Option<OrganizationId>>,
    pub active_team_id: Option<Option<TeamId>>,
}

impl PatchRow for SessionPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("expires_at", self.expires_at)
            .patch("ip_address", self.ip_address)
            .patch("user_agent", self.user_agent)
            .patch("impersonated_by", self.impersonated_by)
            .patch("active_organization_id", self.active_organization_id)
            .patch("active_team_id", self.active_team_id);
        c.finish()
    }
}

/// Which sessions `list`/`count` return (expired ones included; see
/// `SessionRepo::list_by_user` for the active ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub user_id: Option<UserId>,
}

impl ListFilter for SessionFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        self.user_id
            .map(|u| ("user_id", u.into()))
            .into_iter()
            .collect()
    }
}

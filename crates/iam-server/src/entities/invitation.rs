//! `iam_invitation` (org-scoped): an invitation of an email address to join an organization with
//! a role (and optionally a team). Lifecycle `pending` → `accepted` | `rejected` | `cancelled`;
//! only a pending, unexpired invitation can be used (better-auth-api.md §7.6). At most one
//! pending invitation per (organization, email) (partial unique index).

use shared_server::db::repo::{Entity, ListFilter, NewRow, OrgScoped, PatchRow};
use shared_server::db::{RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, TeamId, UserId};
use shared_server::Timestamp;

use super::{invalid, MemberRoles};
use shared_server::db::Columns;

shared_server::entity_id!(
    /// Id of an `iam_invitation` row.
    InvitationId,
    "iam_invitation"
);

shared_server::id_sql_value!(InvitationId);

/// The partial unique index of pending invitations; SQLite reports its violation by columns.
pub const PENDING_INVITATION_UQ: &str = "iam_invitation_organization_id_email_pending_uq";

shared_server::string_enum!(
    /// Where an invitation is in its lifecycle. The wire spells `cancelled` as better-auth's
    /// `canceled` ([`InvitationStatus::wire`]).
    #[derive(Default)]
    InvitationStatus {
        #[default]
        Pending = "pending",
        Accepted = "accepted",
        Rejected = "rejected",
        Cancelled = "cancelled",
    }
);

impl InvitationStatus {
    /// better-auth's spelling.
    pub fn wire(&self) -> &'static str {
        match self {
            InvitationStatus::Cancelled => "canceled",
            other => other.as_str(),
        }
    }
}

/// An `iam_invitation` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Invitation {
    #[sqlx(rename = "_row_id")]
    pub row_id: i64,
    pub id: InvitationId,
    pub organization_id: OrganizationId,
    /// Lower-cased.
    pub email: String,
    pub role: MemberRoles,
    pub team_id: Option<TeamId>,
    pub status: InvitationStatus,
    pub expires_at: Timestamp,
    pub inviter_id: UserId,
    #[sqlx(flatten)]
    pub audit: Audit,
}

impl Invitation {
    /// Pending and not expired at `now`.
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.status == InvitationStatus::Pending && self.expires_at > now
    }
}

impl Entity for Invitation {
    type Id = InvitationId;
    type New = NewInvitation;
    type Patch = InvitationPatch;
    type Filter = InvitationFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "iam_invitation";
    const NAME: &'static str = "Invitation";
    const CONSTRAINT_ALIASES: &'static [(&'static str, &'static str)] = &[(
        "iam_invitation_organization_id_email_uq",
        PENDING_INVITATION_UQ,
    )];

    fn id(&self) -> &InvitationId {
        &self.id
    }

    shared_server::repo_spans!("InvitationRepo");
}

/// An invitation to insert (the organization is the repository call's `org`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvitation {
    pub email: String,
    pub role: MemberRoles,
    pub team_id: Option<TeamId>,
    pub expires_at: Timestamp,
    pub inviter_id: UserId,
    pub source: Option<String>,
}

fn lowercase_email(email: &str) -> Result<String, RepoError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.len() > 320 || !email.contains('@') {
        return Err(invalid("invitation email must be an email address"));
    }
    Ok(email)
}

impl NewRow for NewInvitation {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("email", lowercase_email(&self.email)?)
            .set("role", self.role)
            .set("team_id", self.team_id)
            .set("status", InvitationStatus::Pending)
            .set("expires_at", self.expires_at)
            .set("inviter_id", self.inviter_id)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of an invitation (`Some(None)` clears the team).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvitationPatch {
    pub status: Option<InvitationStatus>,
    pub role: Option<MemberRoles>,
    pub team_id: Option<Option<TeamId>>,
    pub expires_at: Option<Timestamp>,
}

impl PatchRow for InvitationPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("status", self.status)
            .patch("role", self.role)
            .patch("team_id", self.team_id)
            .patch("expires_at", self.expires_at);
        c.finish()
    }
}

/// Which invitations `list`/`count` return (unset fields do not filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvitationFilter {
    pub email: Option<String>,
    pub status: Option<InvitationStatus>,
}

impl ListFilter for InvitationFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        let mut c = Vec::new();
        if let Some(email) = self.email {
            c.push(("email", email.to_lowercase().into()));
        }
        if let Some(status) = self.status {
            c.push(("status", status.into()));
        }
        c
    }
}

//! `iam_member` (org-scoped): a user's membership of an organization, with its role and status.
//! Only `active` memberships grant access; the personal organization created at sign-up has its
//! owner as an `owner` member. A member may hold several roles (`admin,member`,
//! better-auth-api.md §7.1), kept as [`MemberRoles`].

use shared_server::db::repo::{Entity, ListFilter, NewRow, OrgScoped, PatchRow};
use shared_server::db::{RepoError, SqlValue};
use shared_server::entities::{Audit, OrganizationId, UserId};
use shared_server::Timestamp;

use shared_server::db::Columns;

shared_server::entity_id!(
    /// Id of an `iam_member` row.
    MemberId,
    "iam_member"
);

shared_server::id_sql_value!(MemberId);

shared_server::string_enum!(
    /// A member's role in its organization.
    #[derive(Default)]
    MemberRole { Owner = "owner", Admin = "admin", #[default] Member = "member" }
);

/// A member's roles: one or more distinct built-in roles, in the order given, stored and sent
/// as a comma-separated list (`"admin,member"`). Parsing trims every item and drops repeats;
/// an empty list or an unknown role is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberRoles(Vec<MemberRole>);

impl MemberRoles {
    /// Parses `"admin, member"`; `Err(unknown names)` when a name is not a role (an empty list
    /// is `Err(vec![])`).
    pub fn parse_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, Vec<String>> {
        let mut roles = Vec::new();
        let mut unknown = Vec::new();
        for name in names.into_iter().flat_map(|n| n.split(',')) {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            match name.parse::<MemberRole>() {
                Ok(role) if !roles.contains(&role) => roles.push(role),
                Ok(_) => {}
                Err(_) => unknown.push(name.to_string()),
            }
        }
        if !unknown.is_empty() || roles.is_empty() {
            return Err(unknown);
        }
        Ok(Self(roles))
    }

    pub fn roles(&self) -> &[MemberRole] {
        &self.0
    }

    pub fn contains(&self, role: MemberRole) -> bool {
        self.0.contains(&role)
    }

    /// The comma-separated form (`admin,member`).
    pub fn as_string(&self) -> String {
        self.0
            .iter()
            .map(MemberRole::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl From<MemberRole> for MemberRoles {
    fn from(role: MemberRole) -> Self {
        Self(vec![role])
    }
}

impl PartialEq<MemberRole> for MemberRoles {
    fn eq(&self, other: &MemberRole) -> bool {
        self.0.as_slice() == [*other]
    }
}

impl std::fmt::Display for MemberRoles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl std::str::FromStr for MemberRoles {
    type Err = shared_server::entities::UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_list([s]).map_err(|_| shared_server::entities::UnknownVariant {
            kind: "MemberRoles",
            value: s.chars().take(64).collect(),
        })
    }
}

impl serde::Serialize for MemberRoles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for MemberRoles
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for MemberRoles
where
    &'r str: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
        Ok(text.parse::<MemberRoles>()?)
    }
}

impl From<MemberRoles> for SqlValue {
    fn from(v: MemberRoles) -> Self {
        SqlValue::Text(Some(v.as_string()))
    }
}

shared_server::string_enum!(
    /// A membership's state; only `active` grants access.
    #[derive(Default)]
    MemberStatus {
        #[default]
        Active = "active",
        Inactive = "inactive",
        Offline = "offline",
        Suspended = "suspended",
        Deleted = "deleted",
        Invited = "invited",
    }
);

/// An `iam_member` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Member {
    #[sqlx(rename = "_row_id")]
    pub row_id: i64,
    pub id: MemberId,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub role: MemberRoles,
    pub status: MemberStatus,
    pub invited_by: Option<UserId>,
    pub invited_at: Option<Timestamp>,
    pub joined_at: Option<Timestamp>,
    pub last_active_at: Option<Timestamp>,
    /// JSON-encoded permission statement.
    pub permissions: Option<String>,
    #[sqlx(flatten)]
    pub audit: Audit,
}

impl Entity for Member {
    type Id = MemberId;
    type New = NewMember;
    type Patch = MemberPatch;
    type Filter = MemberFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "iam_member";
    const NAME: &'static str = "Member";

    fn id(&self) -> &MemberId {
        &self.id
    }

    shared_server::repo_spans!("MemberRepo");
}

/// A membership to insert (the organization is the repository call's `org`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMember {
    pub user_id: UserId,
    pub role: MemberRoles,
    pub status: MemberStatus,
    pub invited_by: Option<UserId>,
    pub invited_at: Option<Timestamp>,
    pub joined_at: Option<Timestamp>,
    pub last_active_at: Option<Timestamp>,
    pub permissions: Option<String>,
    pub source: Option<String>,
}

impl NewMember {
    /// An active member with `role` who joined at `joined_at`.
    pub fn active(user_id: UserId, role: impl Into<MemberRoles>, joined_at: Timestamp) -> Self {
        Self {
            user_id,
            role: role.into(),
            status: MemberStatus::Active,
            invited_by: None,
            invited_at: None,
            joined_at: Some(joined_at),
            last_active_at: Some(joined_at),
            permissions: None,
            source: None,
        }
    }
}

impl NewRow for NewMember {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("user_id", self.user_id)
            .set("role", self.role)
            .set("status", self.status)
            .set("invited_by", self.invited_by)
            .set("invited_at", self.invited_at)
            .set("joined_at", self.joined_at)
            .set("last_active_at", self.last_active_at)
            .set("permissions", self.permissions)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of a membership (`Some(None)` clears a nullable column).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberPatch {
    pub role: Option<MemberRoles>,
    pub status: Option<MemberStatus>,
    pub joined_at: Option<Option<Timestamp>>,
    pub last_active_at: Option<Option<Timestamp>>,
    pub permissions: Option<Option<String>>,
}

impl PatchRow for MemberPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.patch("role", self.role)
            .patch("status", self.status)
            .patch("joined_at", self.joined_at)
            .patch("last_active_at", self.last_active_at)
            .patch("permissions", self.permissions);
        c.finish()
    }
}

/// Which memberships `list`/`count` return (unset fields do not filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberFilter {
    pub user_id: Option<UserId>,
    pub role: Option<MemberRole>,
    pub status: Option<MemberStatus>,
}

impl ListFilter for MemberFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        let mut c = Vec::new();
        if let Some(user) = self.user_id {
            c.push(("user_id", user.into()));
        }
        if let Some(role) = self.role {
            c.push(("role", role.into()));
        }
        if let Some(status) = self.status {
            c.push(("status", status.into()));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_statuses_round_trip() {
        for role in MemberRole::ALL {
            assert_eq!(role.as_str().parse::<MemberRole>().ok(), Some(*role));
        }
        for status in MemberStatus::ALL {
            assert_eq!(status.as_str().parse::<MemberStatus>().ok(), Some(*status));
        }
        assert!("root".parse::<MemberRole>().is_err());
        assert_eq!(MemberRole::default(), MemberRole::Member);
        let roles = MemberRoles::parse_list([" admin , member,admin"]).expect("roles");
        assert_eq!(roles.as_string(), "admin,member");
        assert_eq!(
            MemberRoles::parse_list(["admin", "member"]).ok(),
            Some(roles)
        );
        assert_eq!(
            MemberRoles::parse_list(["root,admin"]),
            Err(vec!["root".to_string()])
        );
        assert_eq!(MemberRoles::parse_list([" , "]), Err(vec![]));
        assert_eq!(
            "owner".parse::<MemberRoles>().ok(),
            Some(MemberRole::Owner.into())
        );
    }
}

//! Who a handler runs for: nobody (public procedures), a signed-in [`AuthContext`], or an
//! [`OrgCaller`], a member of the session's active organization, resolved once per call before
//! the handler runs (slices.md §0.8). A handler names the form it needs in its signature; the
//! group derives the procedure's access from it.

use super::failure::Failure;
use crate::auth::{AuthContext, MemberRoles};
use crate::entities::{Organization, OrganizationId, Session, User, UserId};

/// A member of the caller's active organization, with their roles in it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgCaller {
    pub user: User,
    pub session: Session,
    pub organization: Organization,
    pub roles: MemberRoles,
}

impl OrgCaller {
    pub fn org_id(&self) -> &OrganizationId {
        &self.organization.id
    }

    pub fn user_id(&self) -> &UserId {
        &self.user.id
    }

    /// The actor recorded in `created_by` / `updated_by` / `deleted_by`.
    pub fn actor(&self) -> &str {
        self.user.id.as_str()
    }

    pub fn is_owner(&self) -> bool {
        self.roles.is_owner()
    }

    /// Owner or admin of the organization.
    pub fn is_admin(&self) -> bool {
        self.roles.is_admin()
    }

    /// §0.3: a payload's `organizationId` must be the active organization; anything else is
    /// `Forbidden`. `None` (the payload has none) passes.
    pub fn check_organization(&self, payload_org: Option<&OrganizationId>) -> Result<(), Failure> {
        match payload_org {
            Some(org) if org != self.org_id() => Err(Failure::forbidden(
                "organizationId must be the active organization",
            )),
            _ => Ok(()),
        }
    }

    /// The signed-in caller this member is.
    pub fn auth_context(&self) -> AuthContext {
        AuthContext {
            user: self.user.clone(),
            session: self.session.clone(),
            organization: Some(self.organization.clone()),
        }
    }
}

/// The caller the transport resolved for a call, by the procedure's access.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    User(AuthContext),
    Member(OrgCaller),
}

impl Caller {
    /// The signed-in caller, if any (a member is one too).
    pub fn auth(self) -> Option<AuthContext> {
        match self {
            Caller::Anonymous => None,
            Caller::User(caller) => Some(caller),
            Caller::Member(member) => Some(member.auth_context()),
        }
    }
}

impl From<Option<AuthContext>> for Caller {
    fn from(caller: Option<AuthContext>) -> Self {
        caller.map_or(Caller::Anonymous, Caller::User)
    }
}

impl From<AuthContext> for Caller {
    fn from(caller: AuthContext) -> Self {
        Caller::User(caller)
    }
}

impl From<OrgCaller> for Caller {
    fn from(member: OrgCaller) -> Self {
        Caller::Member(member)
    }
}

/// A handler's caller argument: `()`, [`AuthContext`] or [`OrgCaller`].
pub trait FromCaller: Sized + Send + 'static {
    /// The access the procedure is declared with.
    const ACCESS: super::Access;
    /// `None` when the transport resolved a weaker caller than [`Self::ACCESS`] demands (a
    /// transport bug: it answers `Unauthorized`).
    fn from_caller(caller: Caller) -> Option<Self>;
}

impl FromCaller for () {
    const ACCESS: super::Access = super::Access::Public;
    fn from_caller(_: Caller) -> Option<Self> {
        Some(())
    }
}

impl FromCaller for AuthContext {
    const ACCESS: super::Access = super::Access::Authenticated;
    fn from_caller(caller: Caller) -> Option<Self> {
        match caller {
            Caller::Anonymous => None,
            other => other.auth(),
        }
    }
}

impl FromCaller for OrgCaller {
    const ACCESS: super::Access = super::Access::Organization;
    fn from_caller(caller: Caller) -> Option<Self> {
        match caller {
            Caller::Member(member) => Some(member),
            _ => None,
        }
    }
}

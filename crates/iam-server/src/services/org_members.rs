//! `IamOrgMembers`: the kernel's `OrgMembers` port over `iam_member`, so organization-scoped RPC
//! procedures of every slice resolve the caller's membership and roles once per call (slices.md
//! §0.8) without depending on this crate. Invited, pending or removed members are not members.

use shared_server::auth::{AuthError, MemberRoles, OrgMembers};
use shared_server::entities::{OrganizationId, UserId};

use crate::entities::MemberStatus;
use crate::repos::MemberRepo;

/// Looks memberships up in `iam_member`.
#[derive(Debug, Clone)]
pub struct IamOrgMembers {
    members: MemberRepo,
}

impl IamOrgMembers {
    pub fn new(members: MemberRepo) -> Self {
        Self { members }
    }
}

#[async_trait::async_trait]
impl OrgMembers for IamOrgMembers {
    async fn roles(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Option<MemberRoles>, AuthError> {
        let member = self.members.find(self.members.db(), org, user).await?;
        Ok(member
            .filter(|member| member.status == MemberStatus::Active)
            .map(|member| MemberRoles::parse(&member.role.as_string())))
    }
}

//! Row types of the IAM tables (slices.md §2.1): per table its id newtype, row struct (decoded
//! on both backends), the `New…` struct an insert takes, the `…Patch` struct a partial update
//! takes and its list filter. Values are checked when they become columns, so half-valid rows
//! never reach the database.
//!
//! The tables without a feature yet (roles) exist in the migration; their row types arrive
//! with their features. The database rate limiter (`iam_rate_limit`) has no row type:
//! `RateLimitRepo` only runs its one upsert.

mod account;
mod apikey;
mod invitation;
mod member;
mod team_member;
mod verification;

use shared_server::db::RepoError;

pub use account::{
    Account, AccountFilter, AccountId, AccountPatch, NewAccount, CREDENTIAL_PROVIDER,
};
pub use apikey::{
    ApiKey, ApiKeyFilter, ApiKeyId, ApiKeyPatch, NewApiKey, DEFAULT_RATE_LIMIT_MAX,
    DEFAULT_RATE_LIMIT_TIME_WINDOW_MS,
};
pub use invitation::{
    Invitation, InvitationFilter, InvitationId, InvitationPatch, InvitationStatus, NewInvitation,
    PENDING_INVITATION_UQ,
};
pub use member::{
    Member, MemberFilter, MemberId, MemberPatch, MemberRole, MemberRoles, MemberStatus, NewMember,
};
pub use team_member::{NewTeamMember, TeamMember, TeamMemberFilter, TeamMemberId, TeamMemberPatch};
pub use verification::{NewVerification, Verification, VerificationId, VerificationPatch};

pub(crate) fn invalid(message: impl Into<String>) -> RepoError {
    RepoError::Invalid {
        message: message.into(),
    }
}

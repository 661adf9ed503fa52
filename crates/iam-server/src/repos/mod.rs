//! Repositories of the IAM tables (slices.md §2.3). Each wraps the generic base repository of its
//! entity (reached through `Deref`: `accounts.get(&id)`, `members.list(&org, filter, page)`) and
//! adds the table's own queries, each with a pool form and an `_in(conn, …)` form so services
//! can group writes in one transaction.

mod account;
mod apikey;
mod invitation;
mod member;
mod rate_limit;
mod team_member;
mod verification;

pub use account::AccountRepo;
pub use apikey::{ApiKeyListQuery, ApiKeyRepo, SORTABLE_FIELDS};
pub use invitation::{InvitationRepo, InvitationWithOrganization};
pub use member::{MemberMatch, MemberQuery, MemberRepo, MemberSort, MemberWithUser};
pub use rate_limit::{RateLimitHit, RateLimitRepo};
pub use team_member::TeamMemberRepo;
pub use verification::VerificationRepo;

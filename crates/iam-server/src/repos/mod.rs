//! Repositories of the IAM tables (slices.md §2.3). Each wraps the generic base repository of its
//! entity (reached through `Deref`: `accounts.get(&db, &id)`, `members.list(&mut tx, &org, filter,
//! page)`) and adds the table's own queries in the same form: each is written once and told
//! where to run (the pool, or the caller's transaction, so services group writes atomically).

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

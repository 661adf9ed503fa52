//! Repositories of the IAM tables (slices.md §2.3). Each wraps the generic base repository of its
//! entity (reached through `Deref`: `accounts.get(&id)`, `members.list(&org, filter, page)`) and
//! adds the table's own queries, each with a pool form and an `_in(conn, …)` form so services
//! can group writes in one transaction.

mod account;
mod apikey;
mod member;
mod rate_limit;
mod verification;

pub use account::AccountRepo;
pub use apikey::{ApiKeyListQuery, ApiKeyRepo, SORTABLE_FIELDS};
pub use member::MemberRepo;
pub use rate_limit::{RateLimitHit, RateLimitRepo};
pub use verification::VerificationRepo;

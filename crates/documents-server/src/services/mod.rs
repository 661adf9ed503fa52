//! The slice's rules (slices.md §3.3), one file per area: `documents` (the page tree, flags,
//! moves, search), `discussions` (discussions and their comments) and `versions` (immutable
//! snapshots). Services take the caller as an [`OrgCaller`] and the organization from it,
//! never from a payload; another tenant's id reads as a missing one because every repository
//! call is scoped to the caller's organization.

mod discussions;
mod documents;
mod versions;

pub use discussions::{plain_text_of, DiscussionService};
pub use documents::{DocumentService, FlagChange, NewDocumentInput};
pub use versions::{SnapshotInput, VersionService};

use shared_server::rpc::OrgCaller;

use crate::entities::Document;

/// Owner of the document, or organization owner/admin (§3.3 "document manager").
pub fn manages(who: &OrgCaller, document: &Document) -> bool {
    &document.user_id == who.user_id() || who.is_admin()
}

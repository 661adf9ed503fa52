//! `TeamRepo`: teams of an organization. The base contract covers everything slices.md §1.2
//! asks (`list(org)`, `count(org)` with [`NoFilter`](crate::db::repo::NoFilter)).

use crate::db::repo::OrgRepo;
use crate::entities::Team;

crate::repository!(
    /// Teams (org-scoped).
    TeamRepo(OrgRepo<Team>)
);

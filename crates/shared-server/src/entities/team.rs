//! `shared_team`: teams inside an organization (org-scoped); names and slugs are unique per
//! organization, not globally, so tenants cannot collide with or probe each other.

use serde::{Deserialize, Serialize};

use super::{trimmed_name, Audit, OrganizationId};
use crate::db::repo::{Entity, NewRow, NoFilter, OrgScoped, PatchRow};
use crate::db::Columns;
use crate::db::{RepoError, SqlValue};
use crate::time::Timestamp;

crate::entity_id!(
    /// Id of a `shared_team` row.
    TeamId,
    "shared_team"
);

/// A `shared_team` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: TeamId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON-encoded string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for Team {
    type Id = TeamId;
    type New = NewTeam;
    type Patch = TeamPatch;
    type Filter = NoFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "shared_team";
    const NAME: &'static str = "Team";

    fn id(&self) -> &TeamId {
        &self.id
    }

    crate::repo_spans!("TeamRepo");
}

/// A team to insert (the organization is the repository call's `org`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTeam {
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub metadata: Option<String>,
    pub logo: Option<String>,
    pub source: Option<String>,
}

impl NewTeam {
    pub fn new(name: impl Into<String>, slug: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            slug: slug.into(),
            ..Self::default()
        }
    }
}

impl NewRow for NewTeam {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("name", trimmed_name("name", &self.name, 255)?)
            .set("slug", trimmed_name("slug", &self.slug, 255)?)
            .set("description", self.description)
            .set("metadata", self.metadata)
            .set("logo", self.logo)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of a team (`Some(None)` clears a nullable column).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub metadata: Option<Option<String>>,
    pub logo: Option<Option<String>>,
}

impl PatchRow for TeamPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let name = self
            .name
            .map(|n| trimmed_name("name", &n, 255))
            .transpose()?;
        let slug = self
            .slug
            .map(|s| trimmed_name("slug", &s, 255))
            .transpose()?;
        let mut c = Columns::default();
        c.patch("name", name)
            .patch("slug", slug)
            .patch("description", self.description)
            .patch("metadata", self.metadata)
            .patch("logo", self.logo);
        c.finish()
    }
}

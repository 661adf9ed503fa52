//! `shared_organization`: the tenant. Not organization-scoped itself; every org-scoped table
//! references it. At most one personal organization per owner (partial unique index).

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{invalid, json_object, trimmed_name, Audit, UserId};
use crate::db::repo::{Entity, ListFilter, NewRow, PatchRow, Unscoped};
use crate::db::Columns;
use crate::db::{RepoError, SqlValue};
use crate::time::Timestamp;

crate::entity_id!(
    /// Id of a `shared_organization` row.
    OrganizationId,
    "shared_organization"
);

crate::string_enum!(
    /// `shared_organization.type`.
    #[derive(Default)]
    OrganizationType { #[default] Individual = "individual", Team = "team", Enterprise = "enterprise" }
);

crate::string_enum!(
    /// `shared_organization.subscription_tier`.
    #[derive(Default)]
    SubscriptionTier { #[default] Free = "free", Plus = "plus", Pro = "pro", Enterprise = "enterprise" }
);

crate::string_enum!(
    /// `shared_organization.subscription_status`.
    #[derive(Default)]
    SubscriptionStatus { #[default] Active = "active", Canceled = "canceled" }
);

/// A `shared_organization` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: OrganizationId,
    pub name: String,
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// A JSON-encoded string, as the auth API writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub org_type: OrganizationType,
    pub owner_user_id: UserId,
    pub is_personal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_members: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Json>,
    pub subscription_tier: SubscriptionTier,
    pub subscription_status: SubscriptionStatus,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

/// The partial unique index's name, which SQLite's message (`UNIQUE constraint failed:
/// shared_organization.owner_user_id`) cannot carry.
pub(crate) const PERSONAL_ORG_UQ: &str = "shared_organization_owner_personal_uq";

impl Entity for Organization {
    type Id = OrganizationId;
    type New = NewOrganization;
    type Patch = OrganizationPatch;
    type Filter = OrganizationFilter;
    type Scope = Unscoped;
    const TABLE: &'static str = "shared_organization";
    const NAME: &'static str = "Organization";
    const CONSTRAINT_ALIASES: &'static [(&'static str, &'static str)] =
        &[("shared_organization_owner_user_id_uq", PERSONAL_ORG_UQ)];

    fn id(&self) -> &OrganizationId {
        &self.id
    }

    crate::repo_spans!("OrganizationRepo");
}

/// `^[a-z0-9][a-z0-9-]{0,62}$`
pub fn is_valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 63
        && allowed(&bytes[0])
        && bytes[1..].iter().all(|b| allowed(b) || *b == b'-')
}

fn check_slug(slug: String) -> Result<String, RepoError> {
    if is_valid_slug(&slug) {
        Ok(slug)
    } else {
        Err(invalid(format!(
            "slug `{}` must match ^[a-z0-9][a-z0-9-]{{0,62}}$",
            slug.chars().take(80).collect::<String>()
        )))
    }
}

fn check_object(field: &str, value: Option<Json>) -> Result<Option<Json>, RepoError> {
    if let Some(value) = &value {
        json_object(field, value)?;
    }
    Ok(value)
}

fn check_max_members(value: Option<i32>) -> Result<Option<i32>, RepoError> {
    match value {
        Some(n) if n < 0 => Err(invalid("max_members must not be negative")),
        other => Ok(other),
    }
}

/// An organization to insert. `NewOrganization::new(name, slug, owner)` sets the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    pub logo: Option<String>,
    pub metadata: Option<String>,
    pub org_type: OrganizationType,
    pub owner_user_id: UserId,
    pub is_personal: bool,
    pub max_members: Option<i32>,
    pub features: Option<Json>,
    pub settings: Option<Json>,
    pub subscription_tier: SubscriptionTier,
    pub subscription_status: SubscriptionStatus,
    pub source: Option<String>,
}

impl NewOrganization {
    pub fn new(name: impl Into<String>, slug: impl Into<String>, owner_user_id: UserId) -> Self {
        Self {
            name: name.into(),
            slug: slug.into(),
            logo: None,
            metadata: None,
            org_type: OrganizationType::Individual,
            owner_user_id,
            is_personal: false,
            max_members: None,
            features: None,
            settings: None,
            subscription_tier: SubscriptionTier::Free,
            subscription_status: SubscriptionStatus::Active,
            source: None,
        }
    }
}

impl NewRow for NewOrganization {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("name", trimmed_name("name", &self.name, 255)?)
            .set("slug", check_slug(self.slug)?)
            .set("logo", self.logo)
            .set("metadata", self.metadata)
            .set("type", self.org_type)
            .set("owner_user_id", self.owner_user_id)
            .set("is_personal", self.is_personal)
            .set("max_members", check_max_members(self.max_members)?)
            .set("features", check_object("features", self.features)?)
            .set("settings", check_object("settings", self.settings)?)
            .set("subscription_tier", self.subscription_tier)
            .set("subscription_status", self.subscription_status)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of an organization (`Some(None)` clears a nullable column). The owner and
/// `is_personal` are fixed at creation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub logo: Option<Option<String>>,
    pub metadata: Option<Option<String>>,
    pub org_type: Option<OrganizationType>,
    pub max_members: Option<Option<i32>>,
    pub features: Option<Option<Json>>,
    pub settings: Option<Option<Json>>,
    pub subscription_tier: Option<SubscriptionTier>,
    pub subscription_status: Option<SubscriptionStatus>,
}

impl PatchRow for OrganizationPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let name = self
            .name
            .map(|n| trimmed_name("name", &n, 255))
            .transpose()?;
        let slug = self.slug.map(check_slug).transpose()?;
        let max_members = self.max_members.map(check_max_members).transpose()?;
        let features = self
            .features
            .map(|f| check_object("features", f))
            .transpose()?;
        let settings = self
            .settings
            .map(|s| check_object("settings", s))
            .transpose()?;
        let mut c = Columns::default();
        c.patch("name", name)
            .patch("slug", slug)
            .patch("logo", self.logo)
            .patch("metadata", self.metadata)
            .patch("type", self.org_type)
            .patch("max_members", max_members)
            .patch("features", features)
            .patch("settings", settings)
            .patch("subscription_tier", self.subscription_tier)
            .patch("subscription_status", self.subscription_status);
        c.finish()
    }
}

/// Which organizations `list`/`count` return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationFilter {
    pub owner_user_id: Option<UserId>,
    pub is_personal: Option<bool>,
}

impl ListFilter for OrganizationFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        let mut c = Vec::new();
        if let Some(owner) = self.owner_user_id {
            c.push(("owner_user_id", owner.into()));
        }
        if let Some(personal) = self.is_personal {
            c.push(("is_personal", personal.into()));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_pattern() {
        for good in ["a", "acme", "acme-2", "0-a", &"a".repeat(63)] {
            assert!(is_valid_slug(good), "{good}");
        }
        for bad in [
            "",
            "-acme",
            "Acme",
            "acme_2",
            "acme corp",
            "é",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_input_is_rejected_before_any_write() {
        let owner = UserId::new();
        let bad_slug = NewOrganization::new("Acme", "Acme!", owner.clone());
        assert!(matches!(
            bad_slug.into_columns(Timestamp::now()),
            Err(RepoError::Invalid { .. })
        ));
        let bad_features = NewOrganization {
            features: Some(serde_json::json!([1, 2])),
            ..NewOrganization::new("Acme", "acme", owner)
        };
        assert!(matches!(
            bad_features.into_columns(Timestamp::now()),
            Err(RepoError::Invalid { .. })
        ));
    }
}

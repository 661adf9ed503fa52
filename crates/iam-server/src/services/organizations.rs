//! The organization hooks that run when users and sessions are created (slices.md §2.2): every
//! new user gets a personal organization (owner membership, same transaction as the user), and
//! a session's active organization is chosen personal-first.

use shared_server::db::Exec;
use shared_server::entities::{NewOrganization, Organization, OrganizationType, User};
use shared_server::repos::OrganizationRepo;
use shared_server::Timestamp;

use shared_server::RepoError;

use crate::entities::{MemberRole, NewMember};
use crate::repos::MemberRepo;

/// `source` of organizations made at sign-up.
pub const AUTO_CREATED_SOURCE: &str = "auto_created";

/// Longest slug base before the id suffix.
const SLUG_BASE_MAX: usize = 40;
/// Display names longer than this are cut in the organization name.
const NAME_MAX_CHARS: usize = 200;

/// `"<name>'s Organization"`, with the trimmed user name (`User` when empty).
pub fn personal_organization_name(user_name: &str) -> String {
    let trimmed = user_name.trim();
    let name: String = if trimmed.is_empty() {
        "User".to_string()
    } else {
        trimmed.chars().take(NAME_MAX_CHARS).collect()
    };
    format!("{name}'s Organization")
}

/// The slug base: the organization name lowercased, whitespace runs → `-`, characters outside
/// `[a-z0-9-]` removed, dash runs collapsed, edge dashes trimmed, at most 40 characters, `user`
/// when nothing is left.
pub fn slug_base(name: &str) -> String {
    let lowered = name.to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut in_space = false;
    for c in lowered.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push('-');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for c in out.chars() {
        if c == '-' && collapsed.ends_with('-') {
            continue;
        }
        collapsed.push(c);
    }
    let truncated: String = collapsed
        .trim_matches('-')
        .chars()
        .take(SLUG_BASE_MAX)
        .collect();
    let truncated = truncated.trim_end_matches('-');
    if truncated.is_empty() {
        "user".to_string()
    } else {
        truncated.to_string()
    }
}

/// `<base>-<last 6 characters of the user id>`.
pub fn personal_slug(name: &str, user: &User) -> String {
    let id = user.id.as_str();
    let suffix = &id[id.len().saturating_sub(6)..];
    format!("{}-{suffix}", slug_base(name))
}

/// Creates the user's personal organization and owner membership where `on` says (the sign-up
/// transaction). A taken slug gets `-2`, `-3`, … appended.
pub async fn create_personal_organization(
    on: impl Into<Exec<'_>>,
    orgs: &OrganizationRepo,
    members: &MemberRepo,
    user: &User,
    now: Timestamp,
) -> Result<Organization, RepoError> {
    let mut on = on.into();
    let mut held = on.conn().await?;
    let conn = &mut held.conn();
    let name = personal_organization_name(&user.name);
    let base = personal_slug(&name, user);
    let mut slug = base.clone();
    let mut n = 1;
    while orgs.slug_exists(&mut *conn, &slug).await? {
        n += 1;
        if n > 1000 {
            return Err(RepoError::Conflict {
                constraint: "shared_organization_slug_uq".into(),
            });
        }
        slug = format!("{base}-{n}");
    }
    let new = NewOrganization {
        org_type: OrganizationType::Individual,
        is_personal: true,
        source: Some(AUTO_CREATED_SOURCE.to_string()),
        ..NewOrganization::new(name, slug, user.id.clone())
    };
    let actor = user.id.as_str();
    let org = orgs.insert(&mut *conn, new, actor).await?;
    let member = NewMember {
        source: Some(AUTO_CREATED_SOURCE.to_string()),
        ..NewMember::active(user.id.clone(), MemberRole::Owner, now)
    };
    members.insert(&mut *conn, &org.id, member, actor).await?;
    Ok(org)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_slugs_follow_the_rules() {
        assert_eq!(
            personal_organization_name("  Ada Lovelace "),
            "Ada Lovelace's Organization"
        );
        assert_eq!(personal_organization_name("   "), "User's Organization");
        assert_eq!(
            slug_base("Ada Lovelace's Organization"),
            "ada-lovelaces-organization"
        );
        assert_eq!(slug_base("  Zoë   --  Ü's  Org "), "zo-s-org");
        assert_eq!(slug_base("!!!"), "user");
        assert_eq!(slug_base("日本語"), "user");
        let long = slug_base(&"abcdefghij ".repeat(10));
        assert!(long.len() <= 40 && !long.ends_with('-'), "{long}");
    }
}

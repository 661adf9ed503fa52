//! The organization plugin's JSON shapes (better-auth-api.md §7.3): Organization, Member (with
//! its user where noted), Invitation (status spelled `canceled`, `teamId` always present),
//! Team and TeamMember. Dates are ISO-8601 UTC with milliseconds.

use serde_json::{json, Map, Value};
use shared_server::entities::{Organization, Team};

use crate::entities::{Invitation, Member, TeamMember};
use crate::repos::MemberWithUser;

/// How an organization's `metadata` is shown: parsed (create, update) or as the stored JSON
/// string (everywhere else) — better-auth's quirk, copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metadata {
    Parsed,
    Stored,
}

/// `{id, name, slug, logo, createdAt, metadata}`.
pub fn organization(org: &Organization, metadata: Metadata) -> Value {
    let mut out = json!({
        "id": org.id,
        "name": org.name,
        "slug": org.slug,
        "logo": org.logo,
        "createdAt": org.audit.created_at,
    });
    let value = match (metadata, &org.metadata) {
        (_, None) => Value::Null,
        (Metadata::Stored, Some(text)) => Value::String(text.clone()),
        (Metadata::Parsed, Some(text)) => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
        }
    };
    if let Value::Object(map) = &mut out {
        map.insert("metadata".into(), value);
    }
    out
}

/// `{id, organizationId, userId, role, createdAt}`.
pub fn member(member: &Member) -> Value {
    json!({
        "id": member.id,
        "organizationId": member.organization_id,
        "userId": member.user_id,
        "role": member.role,
        "createdAt": member.audit.created_at,
    })
}

/// A member with `user: {id, name, email, image}`.
pub fn member_with_user(row: &MemberWithUser) -> Value {
    let mut out = member(&row.member);
    if let Value::Object(map) = &mut out {
        map.insert(
            "user".into(),
            json!({
                "id": row.member.user_id,
                "name": row.user_name,
                "email": row.user_email,
                "image": row.user_image,
            }),
        );
    }
    out
}

/// `{id, organizationId, email, role, status, expiresAt, createdAt, inviterId, teamId}`.
pub fn invitation(invitation: &Invitation) -> Value {
    json!({
        "id": invitation.id,
        "organizationId": invitation.organization_id,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status.wire(),
        "expiresAt": invitation.expires_at,
        "createdAt": invitation.audit.created_at,
        "inviterId": invitation.inviter_id,
        "teamId": invitation.team_id,
    })
}

/// An invitation with extra fields merged in (`organizationName`, …).
pub fn invitation_with(invitation_row: &Invitation, extra: Map<String, Value>) -> Value {
    let mut out = invitation(invitation_row);
    if let Value::Object(map) = &mut out {
        map.extend(extra);
    }
    out
}

/// `{id, name, organizationId, createdAt, updatedAt}`.
pub fn team(team: &Team) -> Value {
    json!({
        "id": team.id,
        "name": team.name,
        "organizationId": team.organization_id,
        "createdAt": team.audit.created_at,
        "updatedAt": team.audit.updated_at,
    })
}

/// `{id, teamId, userId, createdAt}`.
pub fn team_member(row: &TeamMember) -> Value {
    json!({
        "id": row.id,
        "teamId": row.team_id,
        "userId": row.user_id,
        "createdAt": row.audit.created_at,
    })
}

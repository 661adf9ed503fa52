//! The organization plugin's access control (better-auth-api.md §7.2): the permission
//! statements of the built-in roles and the check `{resource: [actions]}` → allowed. A request
//! passes for a role when every listed resource is known to the role and every action is
//! allowed (AND); a member with several roles passes when any one role passes.

use std::collections::BTreeMap;

use crate::entities::{MemberRole, MemberRoles};

/// `{resource: [actions]}`, as requests and checks spell them.
pub type Permissions = BTreeMap<String, Vec<String>>;

/// What `role` may do on `resource`; `None` when the role does not know the resource.
fn allowed_actions(role: MemberRole, resource: &str) -> Option<&'static [&'static str]> {
    const ALL_AC: &[&str] = &["create", "read", "update", "delete"];
    const MEMBER_ACTIONS: &[&str] = &["create", "update", "delete"];
    const INVITATION_ACTIONS: &[&str] = &["create", "cancel"];
    const TEAM_ACTIONS: &[&str] = &["create", "update", "delete"];
    let actions: &'static [&'static str] = match (role, resource) {
        (MemberRole::Owner, "organization") => &["update", "delete"],
        (MemberRole::Admin, "organization") => &["update"],
        (MemberRole::Member, "organization") => &[],
        (MemberRole::Owner | MemberRole::Admin, "member") => MEMBER_ACTIONS,
        (MemberRole::Owner | MemberRole::Admin, "invitation") => INVITATION_ACTIONS,
        (MemberRole::Owner | MemberRole::Admin, "team") => TEAM_ACTIONS,
        (MemberRole::Owner | MemberRole::Admin, "ac") => ALL_AC,
        (MemberRole::Member, "member" | "invitation" | "team") => &[],
        (MemberRole::Member, "ac") => &["read"],
        _ => return None,
    };
    Some(actions)
}

/// Whether one role grants every requested action. An empty request grants nothing.
pub fn role_allows(role: MemberRole, permissions: &Permissions) -> bool {
    !permissions.is_empty()
        && permissions.iter().all(|(resource, actions)| {
            allowed_actions(role, resource)
                .is_some_and(|allowed| actions.iter().all(|a| allowed.contains(&a.as_str())))
        })
}

/// Whether any of the member's roles grants every requested action.
pub fn roles_allow(roles: &MemberRoles, permissions: &Permissions) -> bool {
    roles
        .roles()
        .iter()
        .any(|role| role_allows(*role, permissions))
}

/// A one-resource request, e.g. `statement("member", &["update"])`.
pub fn statement(resource: &str, actions: &[&str]) -> Permissions {
    let mut p = Permissions::new();
    p.insert(
        resource.to_string(),
        actions.iter().map(|a| a.to_string()).collect(),
    );
    p
}

/// Whether the member may do `actions` on `resource`.
pub fn can(roles: &MemberRoles, resource: &str, actions: &[&str]) -> bool {
    roles_allow(roles, &statement(resource, actions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(text: &str) -> MemberRoles {
        text.parse().expect("roles")
    }

    #[test]
    fn the_built_in_roles_follow_the_table() {
        assert!(can(&roles("owner"), "organization", &["update", "delete"]));
        assert!(can(&roles("admin"), "organization", &["update"]));
        assert!(!can(&roles("admin"), "organization", &["delete"]));
        assert!(!can(&roles("member"), "organization", &["update"]));
        assert!(can(
            &roles("admin"),
            "member",
            &["create", "update", "delete"]
        ));
        assert!(!can(&roles("member"), "invitation", &["create"]));
        assert!(can(&roles("member"), "ac", &["read"]));
        assert!(!can(&roles("member"), "ac", &["read", "update"]));
        assert!(
            !can(&roles("owner"), "billing", &["read"]),
            "unknown resource"
        );
        assert!(can(&roles("member,admin"), "team", &["delete"]), "any role");
        let mut two = statement("team", &["create"]);
        two.insert("organization".into(), vec!["delete".into()]);
        assert!(
            !roles_allow(&roles("admin"), &two),
            "every resource must pass"
        );
        assert!(roles_allow(&roles("owner"), &two));
        assert!(!roles_allow(&roles("owner"), &Permissions::new()));
    }
}

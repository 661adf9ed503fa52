//! The organization plugin's settings (slices.md §2.2 "Configurable limits", better-auth-api.md
//! §7.1): who may create organizations and how many, the membership, team and invitation
//! limits, the invitation lifetime and link, and the two invitation rules. Read from `IAM_*`
//! variables by [`OrganizationConfig::from_vars`]; each value is range-checked and an error
//! names the variable.

use std::time::Duration;

use super::IamConfigError;
use shared_server::config::Vars;

/// The organization plugin's variables `(name, default, meaning)`, listed like
/// [`super::VARIABLES`] lists the others (both are in the README's configuration table).
pub const ORGANIZATION_VARIABLES: &[(&str, &str, &str)] = &[
    ("IAM_ALLOW_USER_TO_CREATE_ORGANIZATION", "true", "users may create organizations through the auth API"),
    ("IAM_ORGANIZATION_LIMIT", "10", "organizations one user may create (personal organization not counted)"),
    ("IAM_MEMBERSHIP_LIMIT", "100", "members per organization (an organization's max_members overrides it)"),
    ("IAM_TEAM_LIMIT", "10", "teams per organization"),
    ("IAM_TEAM_MEMBER_LIMIT", "unlimited", "members per team (a number, or `unlimited`)"),
    ("IAM_INVITATION_LIMIT", "100", "pending invitations per organization"),
    ("IAM_INVITATION_EXPIRES_IN_SECS", "172800 (48 h)", "invitation lifetime (re-sending refreshes it)"),
    ("IAM_CANCEL_PENDING_INVITATIONS_ON_REINVITE", "true", "inviting an address with a pending invitation cancels it and sends a new one (false: 400 USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION unless `resend`)"),
    ("IAM_REQUIRE_EMAIL_VERIFICATION_ON_INVITATION", "true", "accepting, rejecting or viewing an invitation needs a verified email"),
    ("IAM_INVITATION_URL", "<public URL>/accept-invitation", "the invitation email links to `<this>/<invitation id>`"),
];

/// The organization plugin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationConfig {
    pub allow_user_to_create_organization: bool,
    /// Organizations one user may create (not counting the personal one).
    pub organization_limit: u32,
    /// Members per organization, unless the organization's `max_members` says otherwise.
    pub membership_limit: u32,
    pub team_limit: u32,
    /// `None`: unlimited.
    pub team_member_limit: Option<u32>,
    /// Pending invitations per organization.
    pub invitation_limit: u32,
    pub invitation_expires_in: Duration,
    pub cancel_pending_invitations_on_reinvite: bool,
    pub require_email_verification_on_invitation: bool,
    /// Base of the invitation link; `None`: `<public URL>/accept-invitation`.
    pub invitation_url: Option<String>,
}

impl Default for OrganizationConfig {
    /// The production defaults of slices.md §2.2.
    fn default() -> Self {
        Self {
            allow_user_to_create_organization: true,
            organization_limit: 10,
            membership_limit: 100,
            team_limit: 10,
            team_member_limit: None,
            invitation_limit: 100,
            invitation_expires_in: Duration::from_secs(48 * 3600),
            cancel_pending_invitations_on_reinvite: true,
            require_email_verification_on_invitation: true,
            invitation_url: None,
        }
    }
}

const MAX_COUNT: u32 = 1_000_000;

impl OrganizationConfig {
    /// Reads the variables.
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        let defaults = Self::default();
        let count = |name: &'static str, default: u32| vars.number(name, default, 1..=MAX_COUNT);
        let flag = |name: &'static str, default: bool| vars.flag(name, default);
        let team_member_limit = match vars.get("IAM_TEAM_MEMBER_LIMIT") {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("unlimited") => None,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=MAX_COUNT).contains(&n) => Some(n),
                _ => {
                    return Err(Vars::invalid(
                        "IAM_TEAM_MEMBER_LIMIT",
                        &v,
                        "a whole number from 1 to 1000000, or `unlimited`",
                    )
                    .into())
                }
            },
        };
        let invitation_expires_in = vars.secs(
            "IAM_INVITATION_EXPIRES_IN_SECS",
            defaults.invitation_expires_in.as_secs(),
            60..=365 * 86_400,
        )?;
        let invitation_url = match vars.get("IAM_INVITATION_URL") {
            None => None,
            Some(v) => match url::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    Some(v.trim_end_matches('/').to_string())
                }
                _ => {
                    return Err(Vars::invalid(
                        "IAM_INVITATION_URL",
                        &v,
                        "an http(s) URL such as https://app.example.com/accept-invitation",
                    )
                    .into())
                }
            },
        };
        Ok(Self {
            allow_user_to_create_organization: flag(
                "IAM_ALLOW_USER_TO_CREATE_ORGANIZATION",
                defaults.allow_user_to_create_organization,
            )?,
            organization_limit: count("IAM_ORGANIZATION_LIMIT", defaults.organization_limit)?,
            membership_limit: count("IAM_MEMBERSHIP_LIMIT", defaults.membership_limit)?,
            team_limit: count("IAM_TEAM_LIMIT", defaults.team_limit)?,
            team_member_limit,
            invitation_limit: count("IAM_INVITATION_LIMIT", defaults.invitation_limit)?,
            invitation_expires_in,
            cancel_pending_invitations_on_reinvite: flag(
                "IAM_CANCEL_PENDING_INVITATIONS_ON_REINVITE",
                defaults.cancel_pending_invitations_on_reinvite,
            )?,
            require_email_verification_on_invitation: flag(
                "IAM_REQUIRE_EMAIL_VERIFICATION_ON_INVITATION",
                defaults.require_email_verification_on_invitation,
            )?,
            invitation_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<OrganizationConfig, IamConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |name: &str| map.get(name).cloned();
        OrganizationConfig::from_vars(Vars::new(&get))
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(read(&[]).expect("defaults"), OrganizationConfig::default());
        let config = read(&[
            ("IAM_ORGANIZATION_LIMIT", "3"),
            ("IAM_TEAM_MEMBER_LIMIT", "5"),
            ("IAM_INVITATION_EXPIRES_IN_SECS", "3600"),
            ("IAM_CANCEL_PENDING_INVITATIONS_ON_REINVITE", "false"),
            ("IAM_INVITATION_URL", "https://app.example.com/invite/"),
        ])
        .expect("valid");
        assert_eq!(config.organization_limit, 3);
        assert_eq!(config.team_member_limit, Some(5));
        assert_eq!(config.invitation_expires_in, Duration::from_secs(3600));
        assert!(!config.cancel_pending_invitations_on_reinvite);
        assert_eq!(
            config.invitation_url.as_deref(),
            Some("https://app.example.com/invite")
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("IAM_MEMBERSHIP_LIMIT", "0"),
            ("IAM_TEAM_LIMIT", "many"),
            ("IAM_TEAM_MEMBER_LIMIT", "-1"),
            ("IAM_INVITATION_EXPIRES_IN_SECS", "5"),
            ("IAM_REQUIRE_EMAIL_VERIFICATION_ON_INVITATION", "maybe"),
            ("IAM_INVITATION_URL", "ftp://x"),
        ] {
            match read(&[(name, value)]) {
                Err(IamConfigError::Invalid { var, .. }) => assert_eq!(var, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}

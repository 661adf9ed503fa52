//! The anonymous plugin's settings (`IAM_ANONYMOUS_*`) over better-auth's defaults: on,
//! placeholder emails `<id>@anonymous.placeholder.invalid`, the name `Anonymous`, and the
//! anonymous user deleted once it is linked to a real account. A README row per variable.

use shared_server::config::Vars;

use crate::config::IamConfigError;

/// The variables `(name, default, meaning)`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("IAM_ANONYMOUS_ENABLED", "true", "the anonymous plugin: `/sign-in/anonymous`, `/delete-anonymous-user`, and linking when an anonymous user signs in or up"),
    ("IAM_ANONYMOUS_EMAIL_DOMAIN", "(none: `<id>@anonymous.placeholder.invalid`)", "domain of anonymous users' placeholder emails (`temp-<id>@<domain>`)"),
    ("IAM_ANONYMOUS_NAME", "Anonymous", "name given to anonymous users"),
    ("IAM_ANONYMOUS_DISABLE_DELETE", "false", "keep the anonymous user after it was linked, and refuse `/delete-anonymous-user`"),
];

/// The plugin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonymousConfig {
    pub enabled: bool,
    pub email_domain: Option<String>,
    pub name: String,
    pub disable_delete: bool,
}

impl Default for AnonymousConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            email_domain: None,
            name: "Anonymous".to_string(),
            disable_delete: false,
        }
    }
}

impl AnonymousConfig {
    /// Reads [`VARIABLES`].
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        let d = Self::default();
        let email_domain = match vars.get("IAM_ANONYMOUS_EMAIL_DOMAIN") {
            None => None,
            Some(domain)
                if domain.len() <= 253
                    && domain.contains('.')
                    && domain.split('.').all(|label| {
                        !label.is_empty()
                            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    }) =>
            {
                Some(domain.to_ascii_lowercase())
            }
            Some(other) => {
                return Err(Vars::invalid(
                    "IAM_ANONYMOUS_EMAIL_DOMAIN",
                    &other,
                    "a domain name such as anon.example.com",
                )
                .into())
            }
        };
        let name = vars.get("IAM_ANONYMOUS_NAME").unwrap_or(d.name.clone());
        if name.chars().count() > 100 {
            return Err(Vars::invalid("IAM_ANONYMOUS_NAME", &name, "up to 100 characters").into());
        }
        Ok(Self {
            enabled: vars.flag("IAM_ANONYMOUS_ENABLED", d.enabled)?,
            email_domain,
            name,
            disable_delete: vars.flag("IAM_ANONYMOUS_DISABLE_DELETE", d.disable_delete)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<AnonymousConfig, IamConfigError> {
        let get = crate::config::test_lookup(pairs);
        AnonymousConfig::from_vars(Vars::new(&get))
    }

    #[test]
    fn defaults_are_better_auths_and_values_are_checked() {
        assert_eq!(read(&[]).unwrap(), AnonymousConfig::default());
        let set = read(&[
            ("IAM_ANONYMOUS_EMAIL_DOMAIN", "Anon.Example.com"),
            ("IAM_ANONYMOUS_NAME", "Guest"),
            ("IAM_ANONYMOUS_DISABLE_DELETE", "true"),
        ])
        .unwrap();
        assert_eq!(set.email_domain.as_deref(), Some("anon.example.com"));
        assert_eq!(set.name, "Guest");
        assert!(set.disable_delete);
        for (name, bad) in [
            ("IAM_ANONYMOUS_EMAIL_DOMAIN", "no_dots"),
            ("IAM_ANONYMOUS_EMAIL_DOMAIN", "a..b"),
            ("IAM_ANONYMOUS_ENABLED", "sometimes"),
        ] {
            let err = read(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

//! `TemplateRenderer`: turns a template and its variables into a subject, an HTML and a text
//! part (slices.md §5.2), with minijinja doing the substitution and HTML escaping.
//!
//! Templates use `{{ name }}` and `{{ a.b }}` placeholders only (no logic), checked when a
//! template is saved and again before rendering. Every placeholder must have a value: a missing
//! (or null) variable fails with `MailError::MissingVariable` naming it, before anything is
//! queued. Values are HTML-escaped in the HTML part and inserted raw in the subject (line breaks
//! removed) and the text part. `appName`, `appUrl` and `year` are always available.

use std::sync::Arc;

use chrono::Datelike;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value as Json};
use shared_server::mail::{EmailAddress, MailError};
use shared_server::Clock;

/// A template ready to render: an organization's row or a built-in one.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSource {
    pub name: String,
    pub subject: String,
    pub html: String,
    pub text: Option<String>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    /// Compiled into the binary (not an organization's row).
    pub builtin: bool,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RenderedEmail {
    pub subject: String,
    pub html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A built-in template: name, subject and the two bodies.
struct Builtin {
    name: &'static str,
    subject: &'static str,
    html: &'static str,
    text: &'static str,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "verify-email",
        subject: "Verify your email",
        html: include_str!("../templates/verify-email.html"),
        text: include_str!("../templates/verify-email.txt"),
    },
    Builtin {
        name: "reset-password",
        subject: "Reset your password",
        html: include_str!("../templates/reset-password.html"),
        text: include_str!("../templates/reset-password.txt"),
    },
    Builtin {
        name: "organization-invitation",
        subject: "You've been invited to join {{ organizationName }}",
        html: include_str!("../templates/organization-invitation.html"),
        text: include_str!("../templates/organization-invitation.txt"),
    },
    // The two-factor plugin's emailed code (iam-server PLUGINS.md §2).
    Builtin {
        name: "two-factor-otp",
        subject: "Your verification code",
        html: include_str!("../templates/two-factor-otp.html"),
        text: include_str!("../templates/two-factor-otp.txt"),
    },
];

/// Renders templates; holds the values every render receives.
#[derive(Clone)]
pub struct TemplateRenderer {
    app_name: String,
    app_url: String,
    clock: Arc<dyn Clock>,
    env: Arc<Environment<'static>>,
}

impl std::fmt::Debug for TemplateRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateRenderer")
            .field("app_name", &self.app_name)
            .field("app_url", &self.app_url)
            .finish()
    }
}

impl TemplateRenderer {
    pub fn new(
        app_name: impl Into<String>,
        app_url: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        // Keep the text exactly as written (minijinja drops one trailing newline by default).
        if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
            env.set_syntax(syntax);
        }
        Self {
            app_name: app_name.into(),
            app_url: app_url.into(),
            clock,
            env: Arc::new(env),
        }
    }

    /// The names of the built-in templates.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTINS.iter().map(|b| b.name).collect()
    }

    /// A built-in template by name.
    pub fn builtin(name: &str) -> Option<TemplateSource> {
        BUILTINS
            .iter()
            .find(|b| b.name == name)
            .map(|b| TemplateSource {
                name: b.name.to_string(),
                subject: b.subject.to_string(),
                html: b.html.to_string(),
                text: Some(b.text.to_string()),
                to: Vec::new(),
                cc: Vec::new(),
                bcc: Vec::new(),
                builtin: true,
            })
    }

    /// Renders `template` with `variables` (plus `appName`, `appUrl`, `year`, which the
    /// variables may override).
    pub fn render(
        &self,
        template: &TemplateSource,
        variables: &Map<String, Json>,
    ) -> Result<RenderedEmail, MailError> {
        let mut context = Map::new();
        context.insert("appName".into(), Json::String(self.app_name.clone()));
        context.insert("appUrl".into(), Json::String(self.app_url.clone()));
        context.insert(
            "year".into(),
            Json::from(self.clock.now().as_datetime().year()),
        );
        context.extend(variables.iter().map(|(k, v)| (k.clone(), v.clone())));

        let parts = [
            ("subject", Some(template.subject.as_str())),
            ("bodyText", template.text.as_deref()),
            ("bodyHtml", Some(template.html.as_str())),
        ];
        for (field, source) in parts {
            let Some(source) = source else { continue };
            let paths = placeholders(field, source).map_err(|e| MailError::Template {
                template: template.name.clone(),
                message: e.to_string(),
            })?;
            if let Some(missing) = paths.iter().find(|p| lookup(&context, p).is_none()) {
                return Err(MailError::MissingVariable {
                    template: template.name.clone(),
                    variable: missing.clone(),
                });
            }
        }

        let context = minijinja::Value::from(Serde(&context));
        let render = |kind: &str, source: &str| {
            self.env
                .render_named_str(
                    &format!("{}.{kind}", template.name),
                    source,
                    context.clone(),
                )
                .map_err(|e| MailError::Template {
                    template: template.name.clone(),
                    message: e.to_string(),
                })
        };
        let subject = render("subject", &template.subject)?
            .replace(['\r', '\n'], " ")
            .trim()
            .to_string();
        if subject.is_empty() {
            return Err(MailError::Invalid {
                field: "subject".into(),
                message: format!("of template `{}` renders empty", template.name),
            });
        }
        let html = render("html", &template.html)?;
        let text = template
            .text
            .as_deref()
            .map(|t| render("txt", t))
            .transpose()?;
        Ok(RenderedEmail {
            subject,
            html,
            text,
        })
    }
}

/// The value at a dotted path; `None` when absent or null.
fn lookup<'a>(context: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    let mut parts = path.split('.');
    let mut value = context.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    (!value.is_null()).then_some(value)
}

/// The placeholder paths of a template part, in order; an error (naming `field`) when the part
/// uses anything but `{{ name }}` / `{{ a.b }}` placeholders.
pub fn placeholders(field: &str, source: &str) -> Result<Vec<String>, MailError> {
    let invalid = |message: String| MailError::Invalid {
        field: field.to_string(),
        message,
    };
    for tag in ["{%", "{#"] {
        if source.contains(tag) {
            return Err(invalid(format!(
                "uses `{tag}`: templates support only {{{{ name }}}} placeholders (no logic)"
            )));
        }
    }
    let mut paths = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| invalid("has `{{` without a closing `}}`".into()))?;
        let path = after[..close].trim();
        if !is_path(path) {
            return Err(invalid(format!(
                "has `{{{{ {} }}}}`: a placeholder is a variable name or a dotted path such as user.name",
                path.chars().take(60).collect::<String>()
            )));
        }
        if !paths.iter().any(|p| p == path) {
            paths.push(path.to_string());
        }
        rest = &after[close + 2..];
    }
    Ok(paths)
}

/// `name` or `a.b.c`, each segment an identifier.
fn is_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|segment| {
            let mut chars = segment.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared_server::{FixedClock, Timestamp};

    use super::*;

    fn renderer() -> TemplateRenderer {
        let clock = Arc::new(FixedClock::new(
            "2027-05-01T00:00:00.000Z".parse::<Timestamp>().unwrap(),
        ));
        TemplateRenderer::new("Acme", "https://acme.test", clock)
    }

    fn vars(value: Json) -> Map<String, Json> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn builtins_render_both_parts_with_escaping_in_html_only() {
        let template = TemplateRenderer::builtin("organization-invitation").unwrap();
        let out = renderer()
            .render(
                &template,
                &vars(json!({
                    "inviteeEmail": "bob@example.com",
                    "inviterName": "Ann <script>",
                    "inviterEmail": "ann@example.com",
                    "organizationName": "R&D\nLab",
                    "role": "member",
                    "url": "https://acme.test/invite?id=1&x=2",
                })),
            )
            .unwrap();
        assert_eq!(out.subject, "You've been invited to join R&D Lab");
        assert!(out.html.contains("Ann &lt;script&gt;"), "{}", out.html);
        assert!(out.html.contains("R&amp;D"), "{}", out.html);
        let text = out.text.unwrap();
        assert!(text.contains("Ann <script>"), "{text}");
        assert!(text.contains("https://acme.test/invite?id=1&x=2"), "{text}");
        assert!(
            text.contains("2027 Acme"),
            "year and appName are provided: {text}"
        );
    }

    #[test]
    fn the_two_factor_code_renders() {
        let template = TemplateRenderer::builtin("two-factor-otp").unwrap();
        let out = renderer()
            .render(
                &template,
                &vars(json!({"userName": "Ann", "otp": "042917"})),
            )
            .unwrap();
        assert_eq!(out.subject, "Your verification code");
        assert!(out.html.contains("042917"), "{}", out.html);
        assert!(out.text.unwrap().contains("042917"));
    }

    #[test]
    fn a_missing_variable_is_named() {
        let template = TemplateRenderer::builtin("verify-email").unwrap();
        let err = renderer()
            .render(&template, &vars(json!({"userName": "Ann"})))
            .unwrap_err();
        match &err {
            MailError::MissingVariable { template, variable } => {
                assert_eq!(
                    (template.as_str(), variable.as_str()),
                    ("verify-email", "url")
                );
            }
            other => panic!("expected MissingVariable, got {other:?}"),
        }
        assert_eq!(err.field().as_deref(), Some("variables.url"));
        let err = renderer()
            .render(&template, &vars(json!({"userName": "Ann", "url": null})))
            .unwrap_err();
        assert!(
            matches!(err, MailError::MissingVariable { ref variable, .. } if variable == "url")
        );
    }

    #[test]
    fn nested_paths_resolve_and_logic_is_refused() {
        let template = TemplateSource {
            name: "custom".into(),
            subject: "Hello {{ user.name }}".into(),
            html: "<p>{{ user.name }}</p>".into(),
            text: None,
            to: vec![],
            cc: vec![],
            bcc: vec![],
            builtin: false,
        };
        let out = renderer()
            .render(&template, &vars(json!({"user": {"name": "Ann"}})))
            .unwrap();
        assert_eq!(
            (out.subject.as_str(), out.html.as_str()),
            ("Hello Ann", "<p>Ann</p>")
        );
        let err = renderer()
            .render(&template, &vars(json!({"user": {}})))
            .unwrap_err();
        assert!(
            matches!(err, MailError::MissingVariable { ref variable, .. } if variable == "user.name")
        );

        for bad in [
            "{% if x %}y{% endif %}",
            "{{ x | upper }}",
            "{{ x",
            "{# note #}",
        ] {
            let err = placeholders("bodyHtml", bad).unwrap_err();
            assert_eq!(err.field().as_deref(), Some("bodyHtml"), "{bad}");
        }
        assert_eq!(
            placeholders("subject", "{{a}} {{ b.c }} {{a}}").unwrap(),
            vec!["a".to_string(), "b.c".to_string()]
        );
    }
}

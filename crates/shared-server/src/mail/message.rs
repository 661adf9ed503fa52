//! [`OutgoingEmail`] and its builder: what a slice hands the mailer, checked whole before
//! anything is written (recipient limits, reserved headers, subject and idempotency-key lengths).

use serde_json::{Map, Value as Json};

use super::{EmailAddress, MailError};
use crate::entities::{OrganizationId, UserId};

/// Most recipients (to + cc + bcc) one message may have.
pub const MAX_RECIPIENTS: usize = 100;
/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 500;
/// Longest idempotency key, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// Headers a caller may not set: the mailer writes them from the message's own fields.
const RESERVED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "message-id",
    "date",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "sender",
    "return-path",
];

/// What the message says: written by the caller, or a template rendered when it is queued.
#[derive(Debug, Clone, PartialEq)]
pub enum EmailContent {
    /// Subject and at least one body part, ready to send.
    Rendered {
        subject: String,
        text: Option<String>,
        html: Option<String>,
    },
    /// A template name (the organization's, else the built-in one) and its variables; a
    /// variable the template uses but `variables` lacks fails the send.
    Template {
        name: String,
        variables: Map<String, Json>,
    },
}

/// One email to send. Build it with [`OutgoingEmail::builder`], which validates addresses and
/// names the field that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingEmail {
    /// The tenant it is sent for (templates are looked up there); `None` for system mail.
    pub organization_id: Option<OrganizationId>,
    /// The recipient user, when known (reporting only).
    pub user_id: Option<UserId>,
    /// `None`: the configured default sender (`EMAIL_FROM`).
    pub from: Option<EmailAddress>,
    /// Empty only for a template that has default recipients.
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub reply_to: Option<EmailAddress>,
    pub content: EmailContent,
    /// Extra headers (`List-Unsubscribe`, `X-Entity-Ref-ID`, …); the standard ones are written
    /// from the fields above and may not be set here.
    pub headers: Vec<(String, String)>,
    /// Sending again with the same key returns the first message instead of queuing another.
    pub idempotency_key: Option<String>,
}

impl OutgoingEmail {
    pub fn builder() -> OutgoingEmailBuilder {
        OutgoingEmailBuilder::default()
    }

    /// The template name, for template content.
    pub fn template_name(&self) -> Option<&str> {
        match &self.content {
            EmailContent::Template { name, .. } => Some(name),
            EmailContent::Rendered { .. } => None,
        }
    }

    /// Checks what typed fields cannot: single-line subject, a body, header names and values,
    /// recipient count, idempotency key. Every `Mailer` runs this before writing anything.
    pub fn validate(&self) -> Result<(), MailError> {
        match &self.content {
            EmailContent::Rendered {
                subject,
                text,
                html,
            } => {
                check_subject(subject)?;
                let blank =
                    |part: &Option<String>| part.as_deref().is_none_or(|p| p.trim().is_empty());
                if blank(text) && blank(html) {
                    return Err(MailError::invalid(
                        "body",
                        "is empty: give a text part, an HTML part or both",
                    ));
                }
                if self.to.is_empty() {
                    return Err(MailError::invalid("to", "has no recipient"));
                }
            }
            EmailContent::Template { name, .. } => {
                if !is_valid_template_name(name) {
                    return Err(MailError::invalid(
                        "template",
                        format!(
                            "`{}` must match ^[a-z0-9][a-z0-9._-]{{0,63}}$",
                            name.chars().take(80).collect::<String>()
                        ),
                    ));
                }
            }
        }
        let recipients = self.to.len() + self.cc.len() + self.bcc.len();
        if recipients > MAX_RECIPIENTS {
            return Err(MailError::invalid(
                "to",
                format!("has {recipients} recipients with cc and bcc; at most {MAX_RECIPIENTS} are allowed"),
            ));
        }
        for (i, (name, value)) in self.headers.iter().enumerate() {
            check_header(i, name, value)?;
        }
        if let Some(key) = &self.idempotency_key {
            let chars = key.chars().count();
            if chars == 0 || chars > MAX_IDEMPOTENCY_KEY_CHARS || key.chars().any(char::is_control)
            {
                return Err(MailError::invalid(
                    "idempotencyKey",
                    format!("must have 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters and no control characters"),
                ));
            }
        }
        Ok(())
    }
}

/// `^[a-z0-9][a-z0-9._-]{0,63}$`: the names of email templates.
pub fn is_valid_template_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let start = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 64
        && start(&bytes[0])
        && bytes[1..]
            .iter()
            .all(|b| start(b) || matches!(b, b'.' | b'_' | b'-'))
}

/// A subject must be one non-empty line of at most [`MAX_SUBJECT_CHARS`] characters.
pub fn check_subject(subject: &str) -> Result<(), MailError> {
    if subject.trim().is_empty() {
        return Err(MailError::invalid("subject", "is empty"));
    }
    if subject.contains(['\r', '\n']) {
        return Err(MailError::invalid("subject", "must be a single line"));
    }
    let chars = subject.chars().count();
    if chars > MAX_SUBJECT_CHARS {
        return Err(MailError::invalid(
            "subject",
            format!("has {chars} characters; at most {MAX_SUBJECT_CHARS} are allowed"),
        ));
    }
    Ok(())
}

fn check_header(index: usize, name: &str, value: &str) -> Result<(), MailError> {
    let field = format!("headers[{index}]");
    let token = !name.is_empty()
        && name.len() <= 76
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !token {
        return Err(MailError::invalid(
            field,
            format!(
                "name `{}` must be letters, digits, `-` and `_`",
                name.chars().take(80).collect::<String>()
            ),
        ));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(MailError::invalid(
            field,
            format!("`{name}` is written by the mailer and cannot be set"),
        ));
    }
    if value.chars().any(char::is_control) || value.len() > 998 {
        return Err(MailError::invalid(
            field,
            format!("value of `{name}` must be one line of at most 998 bytes"),
        ));
    }
    Ok(())
}

/// Builds an [`OutgoingEmail`] from text; [`build`](Self::build) parses every address and
/// names the first field that fails (`to[1]`, `reply_to`, …).
#[derive(Debug, Clone, Default)]
pub struct OutgoingEmailBuilder {
    organization_id: Option<OrganizationId>,
    user_id: Option<UserId>,
    from: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    reply_to: Option<String>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    template: Option<(String, Map<String, Json>)>,
    template_variables_invalid: bool,
    headers: Vec<(String, String)>,
    idempotency_key: Option<String>,
}

impl OutgoingEmailBuilder {
    pub fn organization(mut self, org: OrganizationId) -> Self {
        self.organization_id = Some(org);
        self
    }

    pub fn user(mut self, user: UserId) -> Self {
        self.user_id = Some(user);
        self
    }

    pub fn from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    pub fn to(mut self, to: impl Into<String>) -> Self {
        self.to.push(to.into());
        self
    }

    pub fn cc(mut self, cc: impl Into<String>) -> Self {
        self.cc.push(cc.into());
        self
    }

    pub fn bcc(mut self, bcc: impl Into<String>) -> Self {
        self.bcc.push(bcc.into());
        self
    }

    pub fn reply_to(mut self, reply_to: impl Into<String>) -> Self {
        self.reply_to = Some(reply_to.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Template content: `variables` must be a JSON object (`json!({"url": …})`).
    pub fn template(mut self, name: impl Into<String>, variables: Json) -> Self {
        match variables {
            Json::Object(map) => self.template = Some((name.into(), map)),
            Json::Null => self.template = Some((name.into(), Map::new())),
            _ => {
                self.template = Some((name.into(), Map::new()));
                self.template_variables_invalid = true;
            }
        }
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Parses the addresses and checks the message ([`OutgoingEmail::validate`]).
    pub fn build(self) -> Result<OutgoingEmail, MailError> {
        let one = |field: &str, value: Option<String>| {
            value
                .map(|v| EmailAddress::parse(&v).map_err(|e| MailError::address(field, e)))
                .transpose()
        };
        let list = |field: &str, values: Vec<String>| {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    EmailAddress::parse(v)
                        .map_err(|e| MailError::address(format!("{field}[{i}]"), e))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let from = one("from", self.from)?;
        let to = list("to", self.to)?;
        let cc = list("cc", self.cc)?;
        let bcc = list("bcc", self.bcc)?;
        let reply_to = one("replyTo", self.reply_to)?;
        let content = match self.template {
            Some(_) if self.subject.is_some() || self.text.is_some() || self.html.is_some() => {
                return Err(MailError::invalid(
                    "template",
                    "cannot be combined with a subject, text or HTML of its own",
                ))
            }
            Some(_) if self.template_variables_invalid => {
                return Err(MailError::invalid("variables", "must be a JSON object"))
            }
            Some((name, variables)) => EmailContent::Template { name, variables },
            None => EmailContent::Rendered {
                subject: self.subject.unwrap_or_default(),
                text: self.text,
                html: self.html,
            },
        };
        let email = OutgoingEmail {
            organization_id: self.organization_id,
            user_id: self.user_id,
            from,
            to,
            cc,
            bcc,
            reply_to,
            content,
            headers: self.headers,
            idempotency_key: self.idempotency_key,
        };
        email.validate()?;
        Ok(email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_names_the_failing_field() {
        let err = OutgoingEmail::builder()
            .to("ok@example.com")
            .to("not-an-address")
            .subject("Hi")
            .text("Hello")
            .build()
            .unwrap_err();
        assert_eq!(err.field().as_deref(), Some("to[1]"));
        assert!(err.to_string().contains("to[1]"), "{err}");

        let err = OutgoingEmail::builder()
            .to("ok@example.com")
            .subject("Hi\nBcc: evil@example.com")
            .text("Hello")
            .build()
            .unwrap_err();
        assert_eq!(err.field().as_deref(), Some("subject"));

        let err = OutgoingEmail::builder()
            .to("ok@example.com")
            .subject("Hi")
            .build()
            .unwrap_err();
        assert_eq!(err.field().as_deref(), Some("body"));

        let err = OutgoingEmail::builder()
            .to("ok@example.com")
            .subject("Hi")
            .text("x")
            .header("Bcc", "evil@example.com")
            .build()
            .unwrap_err();
        assert_eq!(err.field().as_deref(), Some("headers[0]"));

        let err = OutgoingEmail::builder()
            .template("Bad Name", serde_json::json!({}))
            .to("ok@example.com")
            .build()
            .unwrap_err();
        assert_eq!(err.field().as_deref(), Some("template"));

        let ok = OutgoingEmail::builder()
            .template(
                "verify-email",
                serde_json::json!({"url": "https://x.example/v"}),
            )
            .to("ok@example.com")
            .header("List-Unsubscribe", "<https://x.example/u>")
            .build()
            .unwrap();
        assert_eq!(ok.template_name(), Some("verify-email"));
    }
}

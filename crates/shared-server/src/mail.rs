//! The mail port: what every slice uses to send email, without knowing how it is delivered.
//!
//! Slices build an [`OutgoingEmail`] (already written, or a template name with variables) and
//! hand it to the [`Mailer`] service. comms-server implements the trait as a transactional
//! outbox: [`Mailer::send`] given the caller's transaction writes the message in it, so a
//! rolled-back sign-up sends nothing, and a background worker delivers it later with retries.
//! [`RecordingMailer`] is the test double for slices that only need to see what was sent.
//!
//! Bad input never reaches the outbox: [`EmailAddress`] cannot hold an invalid address,
//! [`OutgoingEmailBuilder::build`] names the field that failed (`to[1]`, `subject`, …), and
//! [`OutgoingEmail::validate`] is run by every `Mailer` before anything is written.

use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value as Json};

use crate::db::{Exec, RepoError};
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

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/// The text is not a usable email address; `reason` says which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid email address `{value}`: {reason}")]
pub struct InvalidEmailAddress {
    pub value: String,
    pub reason: &'static str,
}

/// A validated mailbox: an address (`local@domain.tld`) with an optional display name.
///
/// Parses `a@b.example`, `<a@b.example>`, `Ann <a@b.example>` and `"Ann, B" <a@b.example>`.
/// The local part is ASCII (dot-atom); the domain has at least two labels of letters, digits and
/// hyphens. Display names may not contain line breaks or angle brackets.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    name: Option<String>,
    address: String,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmailAddress> {
        let value = input.trim();
        let invalid = |reason| InvalidEmailAddress {
            value: value.chars().take(120).collect(),
            reason,
        };
        if value.is_empty() {
            return Err(invalid("it is empty"));
        }
        if value.chars().any(char::is_control) {
            return Err(invalid("it contains a control character or line break"));
        }
        let (name, address) = match value.rfind('<') {
            Some(open) => {
                let rest = &value[open + 1..];
                let inner = rest
                    .strip_suffix('>')
                    .ok_or_else(|| invalid("`<` is not closed by a final `>`"))?;
                let name = unquote_display_name(value[..open].trim()).map_err(invalid)?;
                (name, inner.trim())
            }
            None => (None, value),
        };
        check_address(address).map_err(invalid)?;
        let (local, domain) = address
            .rsplit_once('@')
            .ok_or_else(|| invalid("it has no `@`"))?;
        Ok(Self {
            name,
            // Domains are case-insensitive; local parts are kept as written.
            address: format!("{local}@{}", domain.to_ascii_lowercase()),
        })
    }

    /// The same address with a display name (`None` removes it).
    pub fn with_name(mut self, name: Option<&str>) -> Result<Self, InvalidEmailAddress> {
        self.name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => None,
            Some(name) => {
                check_display_name(name).map_err(|reason| InvalidEmailAddress {
                    value: name.chars().take(120).collect(),
                    reason,
                })?;
                Some(name.to_string())
            }
        };
        Ok(self)
    }

    /// `local@domain`, without the display name.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default()
    }
}

impl fmt::Display for EmailAddress {
    /// `local@domain`, or `Name <local@domain>` (quoted when the name needs it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            None => f.write_str(&self.address),
            Some(name)
                if name
                    .chars()
                    .all(|c| c.is_alphanumeric() || " .-_'".contains(c)) =>
            {
                write!(f, "{name} <{}>", self.address)
            }
            Some(name) => {
                let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
                write!(f, "\"{escaped}\" <{}>", self.address)
            }
        }
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({self})")
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = InvalidEmailAddress;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn unquote_display_name(raw: &str) -> Result<Option<String>, &'static str> {
    let name = match raw.strip_prefix('"') {
        Some(rest) => {
            let inner = rest
                .strip_suffix('"')
                .ok_or("the display name's quote is not closed")?;
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.push(chars.next().ok_or("the display name ends with `\\`")?),
                    '"' => return Err("the display name has an unescaped quote"),
                    c => out.push(c),
                }
            }
            out
        }
        None => raw.to_string(),
    };
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    check_display_name(name)?;
    Ok(Some(name.to_string()))
}

fn check_display_name(name: &str) -> Result<(), &'static str> {
    if name.chars().count() > 200 {
        return Err("the display name is longer than 200 characters");
    }
    if name.chars().any(|c| c.is_control() || c == '<' || c == '>') {
        return Err("the display name contains `<`, `>` or a control character");
    }
    Ok(())
}

/// RFC 5321/5322 limits, restricted to what every SMTP server accepts: an ASCII dot-atom local
/// part and a DNS domain with at least two labels.
fn check_address(address: &str) -> Result<(), &'static str> {
    if address.len() > 254 {
        return Err("it is longer than 254 characters");
    }
    let (local, domain) = address.rsplit_once('@').ok_or("it has no `@`")?;
    if local.is_empty() {
        return Err("the part before `@` is empty");
    }
    if local.len() > 64 {
        return Err("the part before `@` is longer than 64 characters");
    }
    const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ATEXT.contains(c) || c == '.')
    {
        return Err("the part before `@` has a character other than letters, digits, `.` and !#$%&'*+-/=?^_`{|}~");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before `@` starts or ends with `.` or has `..`");
    }
    if domain.is_empty() {
        return Err("the domain after `@` is empty");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("the domain has no `.` (e.g. example.com)");
    }
    for label in labels {
        if label.is_empty() || label.len() > 63 {
            return Err("a domain label is empty or longer than 63 characters");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("the domain has a character other than letters, digits, `-` and `.`");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a domain label starts or ends with `-`");
        }
    }
    Ok(())
}

/// The `http://` and `https://` links in a text (HTML attributes included), in order, without
/// duplicates. Used to log verification links in development and by tests.
pub fn extract_links(text: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || "\"'<>()[]{}`".contains(c))
            .unwrap_or(candidate.len());
        let link = candidate[..end]
            .trim_end_matches(['.', ',', ';', ':', '!', '?'])
            .replace("&amp;", "&");
        if link.len() > "https://".len() && !links.contains(&link) {
            links.push(link);
        }
        rest = &candidate[end.max(1)..];
    }
    links
}

// ---------------------------------------------------------------------------------------------
// Message ids
// ---------------------------------------------------------------------------------------------

/// A `Message-ID` (`<unique@domain>`), fixed when the message is queued: every delivery
/// attempt of one message carries the same id, so a copy delivered twice after an ambiguous
/// failure is recognisable as the same message.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

/// The text is not a `<left@right>` message id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Message-ID `{0}`: expected <unique@domain>")]
pub struct InvalidMessageId(pub String);

impl MessageId {
    /// `<uuid@domain>` with a new UUID v7.
    pub fn generate(domain: &str) -> Self {
        Self(format!("<{}@{domain}>", uuid::Uuid::now_v7()))
    }

    /// Accepts `<left@right>` or `left@right` (angle brackets added).
    pub fn parse(value: &str) -> Result<Self, InvalidMessageId> {
        let trimmed = value.trim();
        let inner = trimmed
            .strip_prefix('<')
            .and_then(|v| v.strip_suffix('>'))
            .unwrap_or(trimmed);
        let valid = inner.len() <= 250
            && inner
                .split_once('@')
                .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty() && !r.contains('@'))
            && inner
                .chars()
                .all(|c| c.is_ascii_graphic() && !"<>\"\\()[],;:".contains(c));
        if valid {
            Ok(Self(format!("<{inner}>")))
        } else {
            Err(InvalidMessageId(value.chars().take(120).collect()))
        }
    }

    /// With angle brackets, as written in the header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.0)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why an email was not queued. Every variant but `Storage` is the caller's input, and names
/// the field (`to[1]`, `subject`, `variables.url`, …); nothing was written when it is returned.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid email address in `{field}`: `{value}` ({reason})")]
    InvalidAddress {
        field: String,
        value: String,
        reason: &'static str,
    },
    #[error("invalid email: `{field}` {message}")]
    Invalid { field: String, message: String },
    #[error("email template `{name}` does not exist (neither the organization's nor built in)")]
    TemplateNotFound { name: String },
    #[error("email template `{template}` needs the variable `{variable}`, which was not given")]
    MissingVariable { template: String, variable: String },
    #[error("email template `{template}` cannot be rendered: {message}")]
    Template { template: String, message: String },
    #[error("the email could not be queued: {0}")]
    Storage(#[from] RepoError),
}

impl MailError {
    /// The input field the error is about (`to[0]`, `subject`, `variables.url`, `template`),
    /// for validation responses; `None` for storage failures.
    pub fn field(&self) -> Option<String> {
        match self {
            MailError::InvalidAddress { field, .. } | MailError::Invalid { field, .. } => {
                Some(field.clone())
            }
            MailError::MissingVariable { variable, .. } => Some(format!("variables.{variable}")),
            MailError::TemplateNotFound { .. } | MailError::Template { .. } => {
                Some("template".to_string())
            }
            MailError::Storage(_) => None,
        }
    }

    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        MailError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    fn address(field: impl Into<String>, error: InvalidEmailAddress) -> Self {
        MailError::InvalidAddress {
            field: field.into(),
            value: error.value,
            reason: error.reason,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The port
// ---------------------------------------------------------------------------------------------

/// What [`Mailer::send`] returns: the stored message's id and its `Message-ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEmail {
    /// The outbox row (`comms_email_outbox__…`), or the test double's id.
    pub outbox_id: String,
    pub message_id: MessageId,
    /// The idempotency key was already used: this is the earlier message, nothing was queued.
    pub duplicate: bool,
}

/// The service every slice sends email through (provided by comms-server's layer as
/// `dyn Mailer`). Sending queues the message durably; delivery happens in the background.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Validates, renders and queues `email` where `on` says: on the pool (`(&db).into()`, its
    /// own statement) or inside the caller's transaction (`(&mut tx).into()`), where the message
    /// is delivered only if that transaction commits.
    async fn send(&self, on: Exec<'_>, email: OutgoingEmail) -> Result<QueuedEmail, MailError>;
}

// ---------------------------------------------------------------------------------------------
// Test double
// ---------------------------------------------------------------------------------------------

/// One message a [`RecordingMailer`] accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEmail {
    pub email: OutgoingEmail,
    pub outbox_id: String,
    pub message_id: MessageId,
    /// Sent inside a caller's transaction (the recording does not know whether it committed).
    pub in_transaction: bool,
}

impl RecordedEmail {
    /// A template variable (`"url"`, `"inviter.name"`), for template content.
    pub fn variable(&self, path: &str) -> Option<&Json> {
        let EmailContent::Template { variables, .. } = &self.email.content else {
            return None;
        };
        let mut parts = path.split('.');
        let mut value = variables.get(parts.next()?)?;
        for part in parts {
            value = value.get(part)?;
        }
        Some(value)
    }

    /// The links of a rendered message's parts, or of the template variables' string values.
    pub fn links(&self) -> Vec<String> {
        match &self.email.content {
            EmailContent::Rendered { text, html, .. } => {
                let mut all = String::new();
                for part in [text, html].into_iter().flatten() {
                    all.push_str(part);
                    all.push('\n');
                }
                extract_links(&all)
            }
            EmailContent::Template { variables, .. } => {
                extract_links(&Json::Object(variables.clone()).to_string())
            }
        }
    }
}

/// A `Mailer` that records what it is given (test double). It validates like the real one, so
/// a slice's tests catch bad input; it renders nothing and delivers nothing.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<RecordedEmail>>,
}

impl RecordingMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything recorded so far, oldest first.
    pub fn sent(&self) -> Vec<RecordedEmail> {
        self.lock().clone()
    }

    /// The messages addressed (to, cc or bcc) to `address`.
    pub fn sent_to(&self, address: &str) -> Vec<RecordedEmail> {
        self.lock()
            .iter()
            .filter(|r| {
                let e = &r.email;
                e.to.iter()
                    .chain(&e.cc)
                    .chain(&e.bcc)
                    .any(|a| a.address().eq_ignore_ascii_case(address))
            })
            .cloned()
            .collect()
    }

    pub fn last(&self) -> Option<RecordedEmail> {
        self.lock().last().cloned()
    }

    /// Returns and forgets everything recorded.
    pub fn take(&self) -> Vec<RecordedEmail> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedEmail>> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, email: OutgoingEmail, in_transaction: bool) -> Result<QueuedEmail, MailError> {
        email.validate()?;
        let mut sent = self.lock();
        if let Some(key) = &email.idempotency_key {
            if let Some(earlier) = sent
                .iter()
                .find(|r| r.email.idempotency_key.as_ref() == Some(key))
            {
                return Ok(QueuedEmail {
                    outbox_id: earlier.outbox_id.clone(),
                    message_id: earlier.message_id.clone(),
                    duplicate: true,
                });
            }
        }
        let domain = email
            .from
            .as_ref()
            .map(|f| f.domain().to_string())
            .unwrap_or_else(|| "recording.invalid".to_string());
        let recorded = RecordedEmail {
            email,
            outbox_id: format!("recorded__{}", uuid::Uuid::now_v7()),
            message_id: MessageId::generate(&domain),
            in_transaction,
        };
        let queued = QueuedEmail {
            outbox_id: recorded.outbox_id.clone(),
            message_id: recorded.message_id.clone(),
            duplicate: false,
        };
        sent.push(recorded);
        Ok(queued)
    }
}

#[async_trait::async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, on: Exec<'_>, email: OutgoingEmail) -> Result<QueuedEmail, MailError> {
        self.record(email, matches!(on, Exec::Conn(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_and_without_names() {
        let plain = EmailAddress::parse("  Ann.Lee+tag@Example.COM ").unwrap();
        assert_eq!(plain.address(), "Ann.Lee+tag@example.com");
        assert_eq!(plain.name(), None);
        assert_eq!(plain.domain(), "example.com");

        let named = EmailAddress::parse("Ann Lee <ann@example.com>").unwrap();
        assert_eq!(named.name(), Some("Ann Lee"));
        assert_eq!(named.to_string(), "Ann Lee <ann@example.com>");

        let quoted = EmailAddress::parse(r#""Lee, Ann \"A\"" <ann@example.com>"#).unwrap();
        assert_eq!(quoted.name(), Some(r#"Lee, Ann "A""#));
        assert_eq!(
            EmailAddress::parse(&quoted.to_string()).unwrap(),
            quoted,
            "Display output parses back"
        );
        assert_eq!(
            EmailAddress::parse("<ann@example.com>").unwrap().name(),
            None
        );
    }

    #[test]
    fn invalid_addresses_say_why() {
        for (bad, reason_part) in [
            ("", "empty"),
            ("ann", "`@`"),
            ("ann@", "domain"),
            ("@example.com", "before `@` is empty"),
            ("ann@localhost", "no `.`"),
            ("ann..lee@example.com", "`..`"),
            ("ann lee@example.com", "character"),
            ("ann@exa mple.com", "character"),
            ("ann@-example.com", "`-`"),
            ("Ann <ann@example.com", "closed"),
            ("ann@example.com\r\nBcc: x@y.z", "control"),
        ] {
            let err = EmailAddress::parse(bad).unwrap_err();
            assert!(
                err.reason.contains(reason_part),
                "{bad:?}: {} should mention {reason_part:?}",
                err.reason
            );
        }
    }

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

    #[test]
    fn message_ids_keep_their_brackets() {
        let id = MessageId::generate("example.com");
        assert!(id.as_str().starts_with('<') && id.as_str().ends_with("@example.com>"));
        assert_eq!(MessageId::parse(id.as_str()).unwrap(), id);
        assert_eq!(MessageId::parse("abc@host").unwrap().as_str(), "<abc@host>");
        assert!(MessageId::parse("no-at-sign").is_err());
        assert!(MessageId::parse("<a@b>\r\nX: y").is_err());
    }

    #[test]
    fn links_are_found_in_text_and_html() {
        let links = extract_links(
            "Verify: https://app.example/verify?token=a&amp;b=1.\n<a href=\"http://x.example/p\">x</a> https://app.example/verify?token=a&b=1",
        );
        assert_eq!(
            links,
            vec![
                "https://app.example/verify?token=a&b=1".to_string(),
                "http://x.example/p".to_string()
            ]
        );
    }

    #[tokio::test]
    async fn recording_mailer_records_validates_and_deduplicates() {
        let mailer = RecordingMailer::new();
        let test = crate::testing::sqlite().await;
        let email = OutgoingEmail::builder()
            .template(
                "verify-email",
                serde_json::json!({"url": "https://app.example/v?t=1", "user": {"name": "Ann"}}),
            )
            .to("ann@example.com")
            .idempotency_key("verify:1")
            .build()
            .unwrap();
        let first = mailer.send((&test.db).into(), email.clone()).await.unwrap();
        let again = mailer.send((&test.db).into(), email).await.unwrap();
        assert!(!first.duplicate && again.duplicate);
        assert_eq!(first.message_id, again.message_id);
        assert_eq!(mailer.sent().len(), 1);
        let recorded = mailer.sent_to("ANN@example.com");
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            recorded[0].variable("user.name"),
            Some(&serde_json::json!("Ann"))
        );
        assert_eq!(
            recorded[0].links(),
            vec!["https://app.example/v?t=1".to_string()]
        );

        let mut broken = recorded[0].email.clone();
        broken.content = EmailContent::Rendered {
            subject: String::new(),
            text: Some("x".into()),
            html: None,
        };
        broken.idempotency_key = None;
        assert!(matches!(
            mailer.send((&test.db).into(), broken).await,
            Err(MailError::Invalid { ref field, .. }) if field == "subject"
        ));
        assert_eq!(mailer.take().len(), 1);
        assert!(mailer.sent().is_empty());
    }
}

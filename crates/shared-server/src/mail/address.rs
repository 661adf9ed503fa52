//! [`EmailAddress`]: an address that cannot be invalid (RFC 5321 limits, a display name that
//! needs no encoding tricks), parsed once from `ann@example.com` or `Ann <ann@example.com>`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
}

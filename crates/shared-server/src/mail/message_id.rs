//! [`MessageId`]: the `Message-ID` header a message keeps across retries, so a receiver can
//! tell a repeated delivery from a new message.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_keep_their_brackets() {
        let id = MessageId::generate("example.com");
        assert!(id.as_str().starts_with('<') && id.as_str().ends_with("@example.com>"));
        assert_eq!(MessageId::parse(id.as_str()).unwrap(), id);
        assert_eq!(MessageId::parse("abc@host").unwrap().as_str(), "<abc@host>");
        assert!(MessageId::parse("no-at-sign").is_err());
        assert!(MessageId::parse("<a@b>\r\nX: y").is_err());
    }
}

//! [`ObjectKey`]: the object key layout of slices.md §1.4, as a type.
//!
//! ```text
//! /{env}/tenants/{shard}/{orgType}/{orgId}/{entityKind}/{entityIdentifier}/{entityAttribute}/{YYYY}/{MM}/{fileId}.{ext}
//! ```
//!
//! A key is built once, when an upload is initiated ([`ObjectKey::build`]: the shard is the first
//! byte of SHA-256(fileId), §8), and from then on only parsed ([`ObjectKey::parse`]): keys already
//! stored keep the shard they were written with, even one the original system computed another
//! way. On the wire and in the database a key keeps its leading `/`; the object store's name for
//! it is the key without that slash ([`ObjectKey::object_name`]).

use std::fmt;
use std::str::FromStr;

use chrono::Datelike;
use sha2::{Digest, Sha256};

use crate::db::SqlValue;
use crate::entities::{FileId, OrganizationId, OrganizationType};
use crate::storage::object_name;
use crate::time::Timestamp;

crate::string_enum!(
    /// The `env` segment (`APP_ENV`): which deployment wrote the object.
    #[derive(Default)]
    KeyEnv { #[default] Dev = "dev", Staging = "staging", Prod = "prod" }
);

crate::string_enum!(
    /// The `entityKind` segment: what the object belongs to.
    #[derive(Default)]
    EntityKind { #[default] User = "user", Organization = "organization", Team = "team" }
);

/// The literal second segment of every key.
const TENANTS: &str = "tenants";

/// Longest `entityIdentifier` segment, in bytes (ids are `<table>__<uuid>`, well below).
const MAX_IDENTIFIER_BYTES: usize = 128;

/// Longest extension, in bytes.
const MAX_EXTENSION_BYTES: usize = 16;

/// Why a string is not an object key of the §1.4 layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid object key: {reason}")]
pub struct InvalidObjectKey {
    pub reason: String,
}

fn invalid(reason: impl Into<String>) -> InvalidObjectKey {
    InvalidObjectKey {
        reason: reason.into(),
    }
}

/// `^[a-z][a-z0-9-]{0,31}$`: the `entityAttribute` segment (`avatar`, `logo`, `document`, ...).
pub fn is_valid_entity_attribute(attribute: &str) -> bool {
    let mut chars = attribute.chars();
    matches!(chars.next(), Some('a'..='z'))
        && attribute.len() <= 32
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

fn is_valid_identifier(identifier: &str) -> bool {
    !identifier.is_empty()
        && identifier.len() <= MAX_IDENTIFIER_BYTES
        && identifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_valid_extension(extension: &str) -> bool {
    !extension.is_empty()
        && extension.len() <= MAX_EXTENSION_BYTES
        && extension
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// `shard` = the first byte of SHA-256(fileId) as two lowercase hex digits (§1.4, §8).
pub fn shard_of(file_id: &FileId) -> String {
    let digest = Sha256::digest(file_id.as_str().as_bytes());
    hex::encode(&digest[..1])
}

/// What a new key is made of (everything but the shard, which is derived from the file id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyParts<'a> {
    pub env: KeyEnv,
    pub org_type: OrganizationType,
    pub org_id: &'a OrganizationId,
    pub entity_kind: EntityKind,
    pub entity_identifier: &'a str,
    pub entity_attribute: &'a str,
    /// The upload time; its UTC year and month become `YYYY/MM`.
    pub uploaded_at: Timestamp,
    pub file_id: &'a FileId,
    /// Lowercase, without the dot.
    pub extension: &'a str,
}

/// An object key of the §1.4 layout, with its leading `/`. Compared, hashed and ordered by its
/// text.
#[derive(Clone)]
pub struct ObjectKey {
    text: String,
    parsed: Parsed,
}

#[derive(Clone)]
struct Parsed {
    env: KeyEnv,
    org_type: OrganizationType,
    org_id: OrganizationId,
    entity_kind: EntityKind,
    file_id: FileId,
}

impl ObjectKey {
    /// The key of a new object (validated like a parsed one).
    pub fn build(parts: KeyParts<'_>) -> Result<ObjectKey, InvalidObjectKey> {
        let at = parts.uploaded_at.as_datetime();
        let text = format!(
            "/{env}/{TENANTS}/{shard}/{org_type}/{org_id}/{kind}/{identifier}/{attribute}/{year:04}/{month:02}/{file_id}.{ext}",
            env = parts.env,
            shard = shard_of(parts.file_id),
            org_type = parts.org_type,
            org_id = parts.org_id,
            kind = parts.entity_kind,
            identifier = parts.entity_identifier,
            attribute = parts.entity_attribute,
            year = at.year(),
            month = at.month(),
            file_id = parts.file_id,
            ext = parts.extension,
        );
        Self::parse(&text)
    }

    /// Reads a key of the §1.4 layout (the leading `/` is required). The shard is taken as
    /// stored: any 1..=64 lowercase hex or alphanumeric characters.
    pub fn parse(text: &str) -> Result<ObjectKey, InvalidObjectKey> {
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| invalid("the key must start with `/`"))?;
        object_name(text).map_err(|error| invalid(error.to_string()))?;
        let segments: Vec<&str> = rest.split('/').collect();
        let [env, tenants, shard, org_type, org_id, kind, identifier, attribute, year, month, file] =
            segments[..]
        else {
            return Err(invalid(format!(
                "expected 11 segments `/env/tenants/shard/orgType/orgId/entityKind/entityIdentifier/entityAttribute/YYYY/MM/fileId.ext`, got {}",
                segments.len()
            )));
        };
        let env = KeyEnv::from_str(env).map_err(|_| invalid("env must be dev, staging or prod"))?;
        if tenants != TENANTS {
            return Err(invalid("the second segment must be `tenants`"));
        }
        let shard_ok = !shard.is_empty()
            && shard.len() <= 64
            && shard
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !shard_ok {
            return Err(invalid("the shard must be lowercase hex"));
        }
        let org_type = OrganizationType::from_str(org_type)
            .map_err(|_| invalid("orgType must be individual, team or enterprise"))?;
        let org_id = OrganizationId::parse(org_id).map_err(|e| invalid(e.to_string()))?;
        let entity_kind = EntityKind::from_str(kind)
            .map_err(|_| invalid("entityKind must be user, organization or team"))?;
        if !is_valid_identifier(identifier) {
            return Err(invalid("entityIdentifier must be an id"));
        }
        if !is_valid_entity_attribute(attribute) {
            return Err(invalid("entityAttribute must match ^[a-z][a-z0-9-]{0,31}$"));
        }
        let year_ok = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit());
        let month_ok = month.len() == 2
            && month
                .parse::<u8>()
                .is_ok_and(|month| (1..=12).contains(&month));
        if !year_ok || !month_ok {
            return Err(invalid("the date segments must be YYYY/MM"));
        }
        let (file_id, extension) = file
            .rsplit_once('.')
            .ok_or_else(|| invalid("the last segment must be `fileId.ext`"))?;
        let file_id = FileId::parse(file_id).map_err(|e| invalid(e.to_string()))?;
        if !is_valid_extension(extension) {
            return Err(invalid(
                "the extension must be lowercase letters and digits",
            ));
        }
        Ok(ObjectKey {
            text: text.to_owned(),
            parsed: Parsed {
                env,
                org_type,
                org_id,
                entity_kind,
                file_id,
            },
        })
    }

    /// The key as stored and sent, with its leading `/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The object store's name: the key without its leading `/`.
    pub fn object_name(&self) -> &str {
        &self.text[1..]
    }

    fn segment(&self, index: usize) -> &str {
        self.object_name().split('/').nth(index).unwrap_or_default()
    }

    pub fn env(&self) -> KeyEnv {
        self.parsed.env
    }

    pub fn shard(&self) -> &str {
        self.segment(2)
    }

    pub fn org_type(&self) -> OrganizationType {
        self.parsed.org_type
    }

    pub fn org_id(&self) -> &OrganizationId {
        &self.parsed.org_id
    }

    pub fn entity_kind(&self) -> EntityKind {
        self.parsed.entity_kind
    }

    pub fn entity_identifier(&self) -> &str {
        self.segment(6)
    }

    pub fn entity_attribute(&self) -> &str {
        self.segment(7)
    }

    /// `(YYYY, MM)` as written in the key.
    pub fn year_month(&self) -> (u16, u8) {
        (
            self.segment(8).parse().unwrap_or_default(),
            self.segment(9).parse().unwrap_or_default(),
        )
    }

    /// The file id: the `shared_file.id` the completed upload gets.
    pub fn file_id(&self) -> &FileId {
        &self.parsed.file_id
    }

    pub fn extension(&self) -> &str {
        self.text.rsplit_once('.').map_or("", |(_, ext)| ext)
    }
}

impl PartialEq for ObjectKey {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for ObjectKey {}

impl std::hash::Hash for ObjectKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for ObjectKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ObjectKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectKey({})", self.text)
    }
}

impl FromStr for ObjectKey {
    type Err = InvalidObjectKey;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl serde::Serialize for ObjectKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for ObjectKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for ObjectKey
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for ObjectKey
where
    &'r str: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
        Ok(ObjectKey::parse(text)?)
    }
}

impl From<ObjectKey> for SqlValue {
    fn from(key: ObjectKey) -> Self {
        SqlValue::Text(Some(key.text))
    }
}

impl From<&ObjectKey> for SqlValue {
    fn from(key: &ObjectKey) -> Self {
        SqlValue::Text(Some(key.text.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(org: &'a OrganizationId, file: &'a FileId) -> KeyParts<'a> {
        KeyParts {
            env: KeyEnv::Dev,
            org_type: OrganizationType::Team,
            org_id: org,
            entity_kind: EntityKind::User,
            entity_identifier: "shared_user__0190f5d2-0000-7000-8000-00000000000a",
            entity_attribute: "document",
            uploaded_at: "2026-03-05T10:00:00Z".parse().unwrap(),
            file_id: file,
            extension: "pdf",
        }
    }

    #[test]
    fn builds_the_layout_and_parses_it_back() {
        let org = OrganizationId::new();
        let file = FileId::new();
        let key = ObjectKey::build(parts(&org, &file)).unwrap();
        let expected = format!(
            "/dev/tenants/{}/team/{org}/user/shared_user__0190f5d2-0000-7000-8000-00000000000a/document/2026/03/{file}.pdf",
            shard_of(&file)
        );
        assert_eq!(key.as_str(), expected);
        assert_eq!(key.object_name(), &expected[1..]);
        let parsed = ObjectKey::parse(&expected).unwrap();
        assert_eq!(parsed, key);
        assert_eq!(parsed.file_id(), &file);
        assert_eq!(parsed.org_id(), &org);
        assert_eq!(parsed.org_type(), OrganizationType::Team);
        assert_eq!(parsed.entity_kind(), EntityKind::User);
        assert_eq!(parsed.entity_attribute(), "document");
        assert_eq!(parsed.year_month(), (2026, 3));
        assert_eq!(parsed.extension(), "pdf");
        assert_eq!(parsed.shard().len(), 2);
    }

    #[test]
    fn the_shard_is_the_first_byte_of_sha256_of_the_file_id() {
        let file = FileId::parse("shared_file__0190f5d2-0000-7000-8000-00000000000a").unwrap();
        let digest = Sha256::digest(file.as_str().as_bytes());
        assert_eq!(shard_of(&file), format!("{:02x}", digest[0]));
    }

    #[test]
    fn stored_keys_keep_their_shard() {
        let org = OrganizationId::new();
        let file = FileId::new();
        let key = ObjectKey::build(parts(&org, &file)).unwrap();
        // A shard the original system computed differently is read as it is, never recomputed.
        let legacy = key.as_str().replacen(key.shard(), "zz9", 1);
        let parsed = ObjectKey::parse(&legacy).unwrap();
        assert_eq!(parsed.shard(), "zz9");
        assert_eq!(parsed.as_str(), legacy);
    }

    #[test]
    fn rejects_what_is_not_the_layout() {
        let org = OrganizationId::new();
        let file = FileId::new();
        let good = ObjectKey::build(parts(&org, &file)).unwrap().to_string();
        let bad = [
            good[1..].to_string(),
            good.replacen("/dev/", "/test/", 1),
            good.replacen("/tenants/", "/tenant/", 1),
            good.replacen("/team/", "/club/", 1),
            good.replacen("/user/", "/robot/", 1),
            good.replacen("/document/", "/Document/", 1),
            good.replacen("/2026/03/", "/2026/13/", 1),
            good.replacen(".pdf", "", 1),
            good.replacen(".pdf", ".PDF", 1),
            good.replacen("/document/", "/../", 1),
            good.replacen("/document/", "/document/extra/", 1),
            good.replacen(
                org.as_str(),
                "shared_user__0190f5d2-0000-7000-8000-00000000000a",
                1,
            ),
        ];
        for key in bad {
            assert!(ObjectKey::parse(&key).is_err(), "{key} should be rejected");
        }
        let mut invalid_parts = parts(&org, &file);
        invalid_parts.entity_identifier = "a/b";
        assert!(ObjectKey::build(invalid_parts).is_err());
    }

    #[test]
    fn entity_attributes_follow_the_pattern() {
        for ok in ["avatar", "logo", "a", "a-1", &"a".repeat(32)] {
            assert!(is_valid_entity_attribute(ok), "{ok}");
        }
        for bad in ["", "1a", "Avatar", "a_b", &"a".repeat(33), "a.b"] {
            assert!(!is_valid_entity_attribute(bad), "{bad}");
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let org = OrganizationId::new();
        let file = FileId::new();
        let key = ObjectKey::build(parts(&org, &file)).unwrap();
        let json = serde_json::to_value(&key).unwrap();
        assert_eq!(json, serde_json::Value::String(key.to_string()));
        assert_eq!(serde_json::from_value::<ObjectKey>(json).unwrap(), key);
        assert!(serde_json::from_value::<ObjectKey>("/nope".into()).is_err());
    }
}

//! Public ids: `<table>__<uuid>` strings, one newtype per entity so that a `UserId` can never be
//! passed where a `FileId` is expected (slices.md §0.1).

use std::fmt;

/// The text is not a valid id for the expected table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {table} id `{value}`: expected `{table}__<uuid>`")]
pub struct InvalidId {
    pub table: &'static str,
    pub value: String,
}

/// Parses `<table>__<uuid>` (any UUID version, hex normalised to lowercase).
pub fn parse_id(table: &'static str, value: &str) -> Result<String, InvalidId> {
    let invalid = || InvalidId {
        table,
        value: value.chars().take(120).collect(),
    };
    let rest = value
        .strip_prefix(table)
        .and_then(|r| r.strip_prefix("__"))
        .ok_or_else(invalid)?;
    // Exactly the hyphenated 8-4-4-4-12 form; uuid's parser also accepts other forms.
    let well_formed = rest.len() == 36
        && rest.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if !well_formed {
        return Err(invalid());
    }
    Ok(format!("{table}__{}", rest.to_ascii_lowercase()))
}

/// A new time-ordered id for `table`.
pub fn new_id(table: &str) -> String {
    format!("{table}__{}", uuid::Uuid::now_v7())
}

/// Implemented by every id newtype.
pub trait EntityId: fmt::Display + Clone + Send + Sync + 'static {
    const TABLE: &'static str;
    fn as_str(&self) -> &str;
}

/// Declares an id newtype for a table: `entity_id!(UserId, "shared_user");`
#[macro_export]
macro_rules! entity_id {
    ($(#[$meta:meta])* $name:ident, $table:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::sqlx::Type)]
        #[sqlx(transparent)]
        pub struct $name(String);

        #[allow(dead_code)]
        impl $name {
            pub const TABLE: &'static str = $table;

            /// A new UUID v7 id.
            pub fn new() -> Self {
                Self($crate::ids::new_id($table))
            }

            pub fn parse(value: &str) -> Result<Self, $crate::ids::InvalidId> {
                $crate::ids::parse_id($table, value).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $crate::ids::EntityId for $name {
            const TABLE: &'static str = $table;
            fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ids::InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&text).map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::entity_id!(TestId, "shared_test");

    #[test]
    fn parses_normalises_and_rejects() {
        let id = TestId::new();
        assert!(id.as_str().starts_with("shared_test__"));
        assert_eq!(id.as_str().parse::<TestId>().unwrap(), id);
        let upper = "shared_test__0190F5D2-0000-7000-8000-00000000000A";
        assert_eq!(
            TestId::parse(upper).unwrap().as_str(),
            "shared_test__0190f5d2-0000-7000-8000-00000000000a"
        );
        // v4 ids from existing data stay valid.
        assert!(TestId::parse("shared_test__9b2f3c1e-8d4a-4f6b-9c2d-1e2f3a4b5c6d").is_ok());
        for bad in [
            "shared_user__0190f5d2-0000-7000-8000-00000000000a",
            "shared_test__not-a-uuid",
            "shared_test__0190f5d200007000800000000000000a",
            "shared_test0190f5d2-0000-7000-8000-00000000000a",
        ] {
            let err = TestId::parse(bad).unwrap_err();
            assert_eq!(err.table, "shared_test");
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<TestId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TestId>("\"nope\"").is_err());
    }
}

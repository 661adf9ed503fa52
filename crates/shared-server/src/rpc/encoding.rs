//! Serde encodings of the Effect Schemas whose wire form differs from serde's defaults
//! (effect-rpc-protocol.md §2.4), so Rust payload and result types decode on the TypeScript side.
//!
//! | Schema | Rust | wire |
//! |---|---|---|
//! | `Schema.Date`, `DateTimeUtc` | [`crate::Timestamp`] | `"2024-05-06T07:08:09.123Z"` |
//! | `Schema.DateFromNumber` | `#[serde(with = "epoch_millis")] Timestamp` | `1714979289123` |
//! | `Schema.OptionFromUndefinedOr(X)` | `#[serde(default, skip_serializing_if = "Option::is_none")] Option<X>` | key omitted |
//! | `Schema.OptionFromNullOr(X)`, `NullOr(X)` | `Option<X>` | `null` |
//! | `Schema.Option(X)` | [`EffectOption<X>`] | `{"_tag":"Some","value":x}` / `{"_tag":"None"}` |
//! | `Schema.BigInt` | `#[serde(with = "bigint_string")] i64` | `"12345"` |
//! | `Schema.Duration` | `#[serde(with = "duration_millis")] std::time::Duration` | `{"_tag":"Millis","millis":2000}` |
//! | `Schema.Uint8ArrayFromBase64` | `#[serde(with = "base64_bytes")] Vec<u8>` | `"AQL/"` |
//! | `Schema.TaggedError("E", {..})` | `#[serde(tag = "_tag", rename = "E")] struct` | `{"_tag":"E",..}` |

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `Schema.Option(X)`: an option carried as a tagged object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EffectOption<T>(pub Option<T>);

#[derive(Serialize, Deserialize)]
#[serde(tag = "_tag")]
enum TaggedOption<T> {
    Some { value: T },
    None,
}

impl<T: Serialize> Serialize for EffectOption<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(value) => TaggedOption::Some { value }.serialize(serializer),
            None => TaggedOption::<&T>::None.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for EffectOption<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(EffectOption(
            match TaggedOption::deserialize(deserializer)? {
                TaggedOption::Some { value } => Some(value),
                TaggedOption::None => None,
            },
        ))
    }
}

impl<T> From<Option<T>> for EffectOption<T> {
    fn from(option: Option<T>) -> Self {
        EffectOption(option)
    }
}

/// `Schema.DateFromNumber`: a timestamp as epoch milliseconds.
pub mod epoch_millis {
    use super::*;
    use crate::time::Timestamp;

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(at.unix_millis())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let millis = i64::deserialize(deserializer)?;
        Timestamp::from_unix_millis(millis)
            .ok_or_else(|| serde::de::Error::custom(format!("{millis} ms is out of range")))
    }
}

/// `Schema.BigInt`: an integer as a decimal string.
pub mod bigint_string {
    use super::*;

    pub fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!("expected a decimal integer, got {text:?}"))
        })
    }
}

/// `Schema.Duration`: `{"_tag":"Millis","millis":n}` (whole milliseconds on output).
pub mod duration_millis {
    use super::*;
    use std::time::Duration;

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "_tag", rename = "Millis")]
    struct Millis<N> {
        millis: N,
    }

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = u64::try_from(value.as_millis()).unwrap_or(u64::MAX);
        Millis { millis }.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let Millis { millis } = Millis::<f64>::deserialize(deserializer)?;
        Duration::try_from_secs_f64(millis / 1000.0)
            .map_err(|_| serde::de::Error::custom(format!("{millis} ms is not a duration")))
    }
}

/// `Schema.Uint8ArrayFromBase64`: bytes as standard base64.
pub mod base64_bytes {
    use super::*;
    use base64::Engine;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use serde_json::json;
    use std::time::Duration;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        option: EffectOption<u32>,
        #[serde(with = "epoch_millis")]
        at: Timestamp,
        #[serde(with = "bigint_string")]
        big: i64,
        #[serde(with = "duration_millis")]
        timeout: Duration,
        #[serde(with = "base64_bytes")]
        bytes: Vec<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        omitted: Option<String>,
    }

    #[test]
    fn matches_the_schema_encodings_of_the_spec() {
        let sample = Sample {
            option: EffectOption(Some(3)),
            at: Timestamp::from_unix_millis(1_714_979_289_123).unwrap(),
            big: 1_234_567_890_123,
            timeout: Duration::from_millis(2000),
            bytes: vec![1, 2, 255],
            omitted: None,
        };
        let wire = serde_json::to_value(&sample).unwrap();
        assert_eq!(
            wire,
            json!({
                "option": {"_tag": "Some", "value": 3},
                "at": 1_714_979_289_123_i64,
                "big": "1234567890123",
                "timeout": {"_tag": "Millis", "millis": 2000},
                "bytes": "AQL/",
            })
        );
        assert_eq!(serde_json::from_value::<Sample>(wire).unwrap(), sample);
        assert_eq!(
            serde_json::to_value(EffectOption::<u32>(None)).unwrap(),
            json!({"_tag": "None"})
        );
        assert_eq!(
            serde_json::to_value(Timestamp::from_unix_millis(1_714_979_289_123).unwrap()).unwrap(),
            json!("2024-05-06T07:08:09.123Z")
        );
    }
}

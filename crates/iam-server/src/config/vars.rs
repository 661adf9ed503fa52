//! Reading the slice's environment variables: one place that trims values, treats blank as
//! unset, parses flags, numbers and durations, and words the errors (the variable's name, the
//! value as given, the expected form), so every IAM setting is read and refused the same way.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use super::IamConfigError;

/// A variable source (`get` returns the raw value of a name, if set).
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Vars<'a> {
    pub fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { get }
    }

    /// The value of `name`, trimmed; blank counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The error for a refused value (at most 120 characters of it are repeated).
    pub fn invalid(name: &'static str, value: &str, expected: impl Into<String>) -> IamConfigError {
        IamConfigError::Invalid {
            var: name,
            value: value.chars().take(120).collect(),
            expected: expected.into(),
        }
    }

    /// `true`/`1`/`on`/`yes` or `false`/`0`/`off`/`no` (any case).
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, IamConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "on" | "yes") => Ok(true),
            Some("false" | "0" | "off" | "no") => Ok(false),
            Some(other) => Err(Self::invalid(name, other, "true or false")),
        }
    }

    /// A whole number within `range`.
    pub fn number<T>(
        &self,
        name: &'static str,
        default: T,
        range: RangeInclusive<T>,
    ) -> Result<T, IamConfigError>
    where
        T: FromStr + PartialOrd + Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<T>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(Self::invalid(
                    name,
                    &v,
                    format!("a whole number from {} to {}", range.start(), range.end()),
                )),
            },
        }
    }

    /// A number of seconds within `range`.
    pub fn secs(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, IamConfigError> {
        match self.get(name) {
            None => Ok(Duration::from_secs(default)),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(Duration::from_secs(n)),
                _ => Err(Self::invalid(
                    name,
                    &v,
                    format!(
                        "a number of seconds from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn values_are_trimmed_checked_and_named_in_errors() {
        let get = vars(&[
            ("F", " Yes "),
            ("BAD", "maybe"),
            ("N", "42"),
            ("BIG", "10"),
            ("BLANK", "  "),
        ]);
        let v = Vars::new(&get);
        assert_eq!(v.flag("F", false), Ok(true));
        assert_eq!(v.flag("BLANK", true), Ok(true), "blank is unset");
        assert_eq!(v.number("N", 1u32, 1..=100), Ok(42));
        assert_eq!(v.secs("N", 1, 1..=60), Ok(Duration::from_secs(42)));
        let err = v.flag("BAD", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid BAD=`maybe`: expected true or false"
        );
        let err = v.number("BIG", 1u32, 1..=5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid BIG=`10`: expected a whole number from 1 to 5"
        );
        let err = v.secs("BIG", 1, 60..=120).unwrap_err();
        assert!(err.to_string().contains("seconds from 60 to 120"), "{err}");
    }
}

//! `Vars`: the one reader of environment variables every slice and the runtime use (issue 19,
//! point 4), so each setting is read and refused the same way: values are trimmed, blank counts as
//! unset, flags, numbers and durations are checked against their ranges, and an error names the
//! variable, repeats the value as given and says the expected form. The README's configuration
//! table documents the variables themselves.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

/// Most characters of a refused value an error repeats.
const MAX_VALUE_CHARS: usize = 120;

/// A refused value: `invalid NAME=`value`: expected <form>`. Each crate's configuration error
/// converts it into its own `Invalid` variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}=`{value}`: expected {expected}")]
pub struct VarError {
    pub var: &'static str,
    /// The value as given (at most 120 characters; `***` for secrets).
    pub value: String,
    pub expected: String,
}

/// A variable source read the common way; `get` returns the raw value of a name, if set (the
/// process environment, or a map in tests).
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vars").finish_non_exhaustive()
    }
}

impl<'a> Vars<'a> {
    pub fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { get }
    }

    /// The process environment.
    pub fn process() -> Vars<'static> {
        fn process_var(name: &str) -> Option<String> {
            std::env::var(name).ok()
        }
        Vars { get: &process_var }
    }

    /// The value of `name`, trimmed; blank counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The error for a refused value of `name`.
    pub fn invalid(name: &'static str, value: &str, expected: impl Into<String>) -> VarError {
        VarError {
            var: name,
            value: value.chars().take(MAX_VALUE_CHARS).collect(),
            expected: expected.into(),
        }
    }

    /// `true`/`1`/`on`/`yes` or `false`/`0`/`off`/`no` (any case).
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, VarError> {
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
    ) -> Result<T, VarError>
    where
        T: FromStr + PartialOrd + Display,
    {
        self.ranged(name, default, &range, "a whole number")
    }

    /// A number of seconds within `range`.
    pub fn secs(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, VarError> {
        self.ranged(name, default, &range, "a number of seconds")
            .map(Duration::from_secs)
    }

    /// A number of milliseconds within `range`.
    pub fn millis(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, VarError> {
        self.ranged(name, default, &range, "a number of milliseconds")
            .map(Duration::from_millis)
    }

    /// Any value that parses as `T` (an IP address, a port); `expected` describes the form.
    pub fn parse<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, VarError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| Self::invalid(name, &v, expected)),
        }
    }

    fn ranged<T>(
        &self,
        name: &'static str,
        default: T,
        range: &RangeInclusive<T>,
        what: &str,
    ) -> Result<T, VarError>
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
                    format!("{what} from {} to {}", range.start(), range.end()),
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
            ("OFF", "off"),
            ("BAD", "maybe"),
            ("N", "42"),
            ("BIG", "10"),
            ("BLANK", "  "),
            ("IP", " 0.0.0.0 "),
        ]);
        let v = Vars::new(&get);
        assert_eq!(v.get("BLANK"), None, "blank is unset");
        assert_eq!(v.get("F").as_deref(), Some("Yes"), "trimmed");
        assert_eq!(v.flag("F", false), Ok(true));
        assert_eq!(v.flag("OFF", true), Ok(false));
        assert_eq!(v.flag("BLANK", true), Ok(true), "blank is unset");
        assert_eq!(v.number("N", 1u32, 1..=100), Ok(42));
        assert_eq!(v.number("UNSET", 7u32, 1..=100), Ok(7));
        assert_eq!(v.secs("N", 1, 1..=60), Ok(Duration::from_secs(42)));
        assert_eq!(v.millis("N", 1, 1..=60), Ok(Duration::from_millis(42)));
        assert_eq!(
            v.parse::<std::net::IpAddr>("IP", [127, 0, 0, 1].into(), "an IP address"),
            Ok([0, 0, 0, 0].into())
        );
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
        let err = v.millis("BAD", 1, 1..=2).unwrap_err();
        assert!(
            err.to_string().contains("milliseconds from 1 to 2"),
            "{err}"
        );
        let err = v.parse::<u16>("BAD", 1, "a TCP port number").unwrap_err();
        assert_eq!(err.var, "BAD");
        assert_eq!(err.expected, "a TCP port number");
    }

    #[test]
    fn long_values_are_cut_in_errors() {
        let long = "x".repeat(500);
        let get = move |_: &str| Some(long.clone());
        let err = Vars::new(&get).flag("LONG", false).unwrap_err();
        assert_eq!(err.value.chars().count(), MAX_VALUE_CHARS);
    }
}

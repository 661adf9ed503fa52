//! Schema validation of bodies and queries, answering like better-auth's zod schemas
//! (`specs/better-auth-api.md` §1.3): every issue is collected as `[body.<field>] <text>` and a
//! failing request gets 400 `VALIDATION_ERROR` with the issues joined by `; `. It runs before
//! any session check, as in better-auth.

use serde_json::{Map, Value};

use crate::error::IamError;

/// Reads fields of one source (`body` or `query`), collecting issues.
pub struct Fields<'a> {
    source: &'static str,
    map: Option<&'a Map<String, Value>>,
    issues: Vec<String>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl<'a> Fields<'a> {
    /// The body's fields; a body that is present but not an object is an issue (an absent body
    /// is an empty object whose required fields are then missing).
    pub fn body(body: &'a Value) -> Self {
        let mut fields = Self {
            source: "body",
            map: None,
            issues: Vec::new(),
        };
        match body {
            Value::Object(map) => fields.map = Some(map),
            Value::Null => {}
            other => fields.issues.push(format!(
                "[body] Invalid input: expected object, received {}",
                type_name(other)
            )),
        }
        fields
    }

    /// The query's fields.
    pub fn query(query: &'a Map<String, Value>) -> Self {
        Self {
            source: "query",
            map: Some(query),
            issues: Vec::new(),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(name))
    }

    fn issue(&mut self, name: &str, text: impl std::fmt::Display) {
        self.issues.push(format!("[{}.{name}] {text}", self.source));
    }

    /// A required string.
    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                let t = type_name(other);
                self.issue(
                    name,
                    format!("Invalid input: expected string, received {t}"),
                );
                None
            }
            None => {
                self.issue(name, "Invalid input: expected string, received undefined");
                None
            }
        }
    }

    /// A required, non-empty string.
    pub fn nonempty_string(&mut self, name: &str) -> Option<String> {
        let value = self.string(name)?;
        if value.is_empty() {
            self.issue(name, "Too small: expected string to have >=1 characters");
            return None;
        }
        Some(value)
    }

    /// An optional string (`null` is not accepted, as with zod's `.optional()`).
    pub fn optional_string(&mut self, name: &str) -> Option<String> {
        match self.get(name) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                let t = type_name(other);
                self.issue(
                    name,
                    format!("Invalid input: expected string, received {t}"),
                );
                None
            }
        }
    }

    /// An optional string that may be `null`: `None` absent, `Some(None)` null.
    pub fn nullable_string(&mut self, name: &str) -> Option<Option<String>> {
        match self.get(name) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(other) => {
                let t = type_name(other);
                self.issue(
                    name,
                    format!("Invalid input: expected string, received {t}"),
                );
                None
            }
        }
    }

    /// An optional boolean.
    pub fn optional_bool(&mut self, name: &str) -> Option<bool> {
        match self.get(name) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                let t = type_name(other);
                self.issue(
                    name,
                    format!("Invalid input: expected boolean, received {t}"),
                );
                None
            }
        }
    }

    /// A required email address (zod's `z.email()` rules).
    pub fn email(&mut self, name: &str) -> Option<String> {
        let value = self.string(name)?;
        if !is_valid_email(&value) {
            self.issue(name, "Invalid email address");
            return None;
        }
        Some(value)
    }

    /// The raw value of a field, for shapes the helpers above do not cover (the organization
    /// plugin's objects and string-or-array fields); report problems with [`Fields::invalid`].
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.get(name)
    }

    /// Records an issue for `name`.
    pub fn invalid(&mut self, name: &str, text: impl std::fmt::Display) {
        self.issue(name, text);
    }

    /// 400 `VALIDATION_ERROR` if any issue was found.
    pub fn finish(self) -> Result<(), IamError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(IamError::validation(self.issues.join("; ")))
        }
    }
}

// api-key plugin fields (better-auth-api.md §8.3)
impl<'a> Fields<'a> {
    /// Whether the field is present (even as `null`).
    pub fn present(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The field as sent (zod's `z.any()`).
    pub fn any(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }

    /// An optional number (`null` refused), at least `min` when given.
    pub fn optional_number(&mut self, name: &str, min: Option<f64>) -> Option<f64> {
        match self.get(name) {
            None => None,
            Some(Value::Null) => {
                self.issue(name, "Invalid input: expected number, received null");
                None
            }
            Some(_) => self.nullable_number(name, min).flatten(),
        }
    }

    /// An optional number that may be `null`: `None` absent, `Some(None)` null.
    pub fn nullable_number(&mut self, name: &str, min: Option<f64>) -> Option<Option<f64>> {
        match self.get(name) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::Number(n)) => {
                let n = n.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = min.filter(|min| n.is_nan() || n < *min) {
                    self.issue(name, format!("Too small: expected number to be >={min}"));
                    return None;
                }
                Some(Some(n))
            }
            Some(other) => {
                let t = type_name(other);
                self.issue(
                    name,
                    format!("Invalid input: expected number, received {t}"),
                );
                None
            }
        }
    }

    /// An optional `{string: [string]}` record (a permission statement); `null` is refused
    /// unless `nullable`, and then reads as `Some(Value::Null)`.
    pub fn optional_statement(&mut self, name: &str, nullable: bool) -> Option<Value> {
        let value = self.get(name)?;
        let valid = match value {
            Value::Null => nullable,
            Value::Object(map) => map.values().all(|actions| {
                actions
                    .as_array()
                    .is_some_and(|list| list.iter().all(Value::is_string))
            }),
            _ => false,
        };
        if !valid {
            self.issue(name, "Invalid input: expected record of string arrays");
            return None;
        }
        Some(value.clone())
    }

    /// An optional query count (`z.coerce.number().int().nonnegative()`).
    pub fn optional_count(&mut self, name: &str) -> Option<u32> {
        let text = match self.get(name)? {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.first().and_then(Value::as_str)?.to_string(),
            other => other.to_string(),
        };
        match text.trim().parse::<f64>() {
            Ok(n) if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => Some(n as u32),
            _ => {
                self.issue(name, "Invalid input: expected a non-negative integer");
                None
            }
        }
    }

    /// An optional value among `allowed`.
    pub fn optional_enum(&mut self, name: &str, allowed: &[&'static str]) -> Option<&'static str> {
        let value = self.optional_string(name)?;
        match allowed.iter().find(|a| **a == value) {
            Some(found) => Some(found),
            None => {
                let list = allowed
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join("|");
                self.issue(name, format!("Invalid option: expected one of {list}"));
                None
            }
        }
    }
}

/// zod v4's default email check:
/// `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`
pub fn is_valid_email(value: &str) -> bool {
    if value.starts_with('.') || value.contains("..") {
        return false;
    }
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_'+-.".contains(c))
        && local
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || "_+-".contains(c));
    if !local_ok {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else {
        return false;
    };
    !rest.is_empty()
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && rest.iter().all(|label| {
            label
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn emails_follow_zods_rules() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            "o'neil@x.org",
            "A_B-C@EX-AMPLE.IO",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "a@b.c",
            ".a@b.co",
            "a..b@c.co",
            "a.@b.co",
            "a@-b.co",
            "a@b..co",
            "a b@c.co",
            "a@b.c0",
            "a@@b.co",
            "é@b.co",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn issues_name_the_field_and_the_problem() {
        let body = json!({"email": "nope", "password": 5, "rememberMe": "yes"});
        let mut f = Fields::body(&body);
        assert_eq!(f.email("email"), None);
        assert_eq!(f.string("password"), None);
        assert_eq!(f.string("name"), None);
        assert_eq!(f.optional_bool("rememberMe"), None);
        let err = f.finish().expect_err("invalid");
        let IamError::Api { message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            message,
            "[body.email] Invalid email address; [body.password] Invalid input: expected string, received number; \
             [body.name] Invalid input: expected string, received undefined; \
             [body.rememberMe] Invalid input: expected boolean, received string"
        );
        let array = json!([1]);
        let mut f = Fields::body(&array);
        let _ = f.optional_string("x");
        assert!(f.finish().is_err());
    }
}

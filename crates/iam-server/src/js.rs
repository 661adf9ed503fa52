//! JavaScript semantics that better-auth's behaviour depends on and the wire contract therefore
//! inherits: a string's `length` in UTF-16 code units (password limits) and the truthiness of a
//! JSON value (`if (body.callbackURL)`, `if (metadata)`).

use serde_json::Value;

/// JavaScript's `string.length`: UTF-16 code units.
pub fn length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// JavaScript truthiness: `null`, `false`, `0`, `NaN` and `""` are falsy; arrays and objects
/// (even empty) are truthy.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn length_counts_utf16_units() {
        assert_eq!(length("a😀"), 3);
        assert_eq!(length(""), 0);
    }

    #[test]
    fn truthiness_follows_javascript() {
        for falsy in [json!(null), json!(false), json!(0), json!(0.0), json!("")] {
            assert!(!truthy(&falsy), "{falsy}");
        }
        for t in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("0"),
            json!([]),
            json!({}),
        ] {
            assert!(truthy(&t), "{t}");
        }
    }
}

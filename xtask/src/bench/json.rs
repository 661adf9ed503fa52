//! A tiny JSON value and pretty printer, because xtask is std-only and the benchmark writes its
//! results as JSON for tools (and later runs) to compare.

use std::fmt::Write;

/// A JSON value; objects keep their keys in insertion order.
#[derive(Debug, Clone)]
pub enum Json {
    Bool(bool),
    Int(u64),
    /// Written with `decimals` digits after the point; non-finite numbers become `null`.
    Num(f64, usize),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
        Json::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    pub fn str(value: impl Into<String>) -> Json {
        Json::Str(value.into())
    }

    /// Milliseconds and ratios: three decimals are plenty.
    pub fn num(value: f64) -> Json {
        Json::Num(value, 3)
    }

    /// Indented with two spaces, newline-terminated.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Json::Int(value) => {
                let _ = write!(out, "{value}");
            }
            Json::Num(value, decimals) if value.is_finite() => {
                let _ = write!(out, "{value:.decimals$}");
            }
            Json::Num(..) => out.push_str("null"),
            Json::Str(value) => write_string(out, value),
            Json::Arr(items) => write_items(out, depth, ('[', ']'), items, |out, item| {
                item.write(out, depth + 1)
            }),
            Json::Obj(fields) => {
                write_items(out, depth, ('{', '}'), fields, |out, (key, value)| {
                    write_string(out, key);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                })
            }
        }
    }
}

fn write_items<T>(
    out: &mut String,
    depth: usize,
    (open, close): (char, char),
    items: &[T],
    mut write_one: impl FnMut(&mut String, &T),
) {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return;
    }
    for (index, item) in items.iter().enumerate() {
        out.push_str(if index == 0 { "\n" } else { ",\n" });
        out.push_str(&"  ".repeat(depth + 1));
        write_one(out, item);
    }
    out.push('\n');
    out.push_str(&"  ".repeat(depth));
    out.push(close);
}

fn write_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_nested_values_with_escapes() {
        let value = Json::obj([
            ("name", Json::str("a \"b\"\n")),
            ("n", Json::Int(3)),
            ("x", Json::num(0.12345)),
            ("nan", Json::num(f64::NAN)),
            ("list", Json::Arr(vec![Json::Bool(true), Json::Int(0)])),
            ("empty", Json::Arr(vec![])),
        ]);
        let expected = "{\n  \"name\": \"a \\\"b\\\"\\n\",\n  \"n\": 3,\n  \"x\": 0.123,\n  \
                        \"nan\": null,\n  \"list\": [\n    true,\n    0\n  ],\n  \"empty\": []\n}\n";
        assert_eq!(value.render(), expected);
    }
}

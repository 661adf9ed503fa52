//! The outcome of one call as Effect encodes it on the wire (effect-rpc-protocol.md §2): an
//! [`Exit`] is a success (with or without a value) or a failure carrying a [`Cause`]; a cause
//! is a typed failure, a defect, an interruption, or a composition of those.
//!
//! The serde derives produce exactly the shapes the TypeScript client decodes, e.g.
//! `{"_tag":"Failure","cause":{"_tag":"Interrupt","fiberId":{"_tag":"Runtime","id":-499,"startTimeMillis":0}}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `Exit.Success` / `Exit.Failure`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "_tag")]
pub enum Exit {
    /// `value` is omitted for void results and for every stream (§2.1).
    Success {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
    },
    Failure {
        cause: Cause,
    },
}

impl Exit {
    pub fn success(value: Option<Value>) -> Self {
        Exit::Success { value }
    }

    pub fn failure(cause: Cause) -> Self {
        Exit::Failure { cause }
    }

    pub fn is_success(&self) -> bool {
        matches!(self, Exit::Success { .. })
    }
}

/// Why a call did not succeed (§2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "_tag")]
pub enum Cause {
    Empty,
    /// A typed failure: the Schema-encoded error (`{"_tag":"<Name>", ...fields}`).
    Fail {
        error: Value,
    },
    /// A bug, an infrastructure fault, or a payload that does not decode.
    Die {
        defect: Defect,
    },
    Interrupt {
        #[serde(rename = "fiberId")]
        fiber_id: FiberId,
    },
    Sequential {
        left: Box<Cause>,
        right: Box<Cause>,
    },
    Parallel {
        left: Box<Cause>,
        right: Box<Cause>,
    },
}

/// The fiber id the reference server uses for "interrupted by the client".
pub const CLIENT_INTERRUPT_FIBER: i64 = -499;
/// The fiber id the reference server uses for a transient interrupt (shutdown, connection lost).
pub const TRANSIENT_INTERRUPT_FIBER: i64 = -503;

impl Cause {
    pub fn fail(error: Value) -> Self {
        Cause::Fail { error }
    }

    pub fn die(defect: impl Into<Defect>) -> Self {
        Cause::Die {
            defect: defect.into(),
        }
    }

    /// The client sent `Interrupt` (or went away over HTTP).
    pub fn interrupted_by_client() -> Self {
        Cause::Interrupt {
            fiber_id: FiberId::runtime(CLIENT_INTERRUPT_FIBER),
        }
    }

    /// The server or the connection is shutting down.
    pub fn interrupted_by_shutdown() -> Self {
        Self::transient_interrupt()
    }

    /// The transient interrupt (fiber `-503`): shutdown, a lost connection, or a service that
    /// is unavailable for now; a retry later may succeed.
    pub fn transient_interrupt() -> Self {
        Cause::Interrupt {
            fiber_id: FiberId::runtime(TRANSIENT_INTERRUPT_FIBER),
        }
    }

    pub fn is_interrupt(&self) -> bool {
        matches!(self, Cause::Interrupt { .. })
    }

    /// A one-line description for logs (never sent to clients).
    pub fn summary(&self) -> String {
        match self {
            Cause::Empty => "empty".into(),
            Cause::Fail { error } => match error.get("_tag").and_then(Value::as_str) {
                Some(tag) => format!("failure {tag}"),
                None => "failure".into(),
            },
            Cause::Die { defect } => format!("defect: {}", defect.message()),
            Cause::Interrupt { .. } => "interrupted".into(),
            Cause::Sequential { left, right } | Cause::Parallel { left, right } => {
                format!("{}; {}", left.summary(), right.summary())
            }
        }
    }
}

/// `FiberId`: required inside `Interrupt` causes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "_tag")]
pub enum FiberId {
    None,
    Runtime {
        id: i64,
        #[serde(rename = "startTimeMillis")]
        start_time_millis: i64,
    },
    Composite {
        left: Box<FiberId>,
        right: Box<FiberId>,
    },
}

impl FiberId {
    pub fn runtime(id: i64) -> Self {
        FiberId::Runtime {
            id,
            start_time_millis: 0,
        }
    }
}

/// A defect as Schema `Defect` encodes it (§2.3): an error object or a plain string. The client
/// turns the object form into an `Error` with that name and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Defect {
    Error {
        #[serde(default)]
        name: String,
        message: String,
    },
    Message(String),
}

impl Defect {
    pub fn error(name: impl Into<String>, message: impl Into<String>) -> Self {
        Defect::Error {
            name: name.into(),
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Defect::Error { message, .. } | Defect::Message(message) => message,
        }
    }
}

impl From<String> for Defect {
    fn from(message: String) -> Self {
        Defect::Message(message)
    }
}

impl From<&str> for Defect {
    fn from(message: &str) -> Self {
        Defect::Message(message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_the_shapes_of_the_protocol() {
        let exit = Exit::success(None);
        assert_eq!(
            serde_json::to_value(&exit).unwrap(),
            json!({"_tag": "Success"})
        );
        let exit = Exit::failure(Cause::interrupted_by_client());
        assert_eq!(
            serde_json::to_value(&exit).unwrap(),
            json!({"_tag": "Failure", "cause": {"_tag": "Interrupt",
                "fiberId": {"_tag": "Runtime", "id": -499, "startTimeMillis": 0}}})
        );
        let cause = Cause::Sequential {
            left: Box::new(Cause::fail(json!({"_tag": "E", "message": "a"}))),
            right: Box::new(Cause::die(Defect::error("Error", "x"))),
        };
        assert_eq!(
            serde_json::to_value(&cause).unwrap(),
            json!({"_tag": "Sequential",
                "left": {"_tag": "Fail", "error": {"_tag": "E", "message": "a"}},
                "right": {"_tag": "Die", "defect": {"name": "Error", "message": "x"}}})
        );
        assert_eq!(
            serde_json::to_value(Cause::die("boom")).unwrap(),
            json!({"_tag": "Die", "defect": "boom"})
        );
    }

    #[test]
    fn decodes_what_it_encodes() {
        let text = r#"{"_tag":"Failure","cause":{"_tag":"Parallel","left":{"_tag":"Empty"},"right":{"_tag":"Interrupt","fiberId":{"_tag":"None"}}}}"#;
        let exit: Exit = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&exit).unwrap(), text);
        let success: Exit = serde_json::from_str(r#"{"_tag":"Success","value":null}"#).unwrap();
        assert!(success.is_success());
    }
}

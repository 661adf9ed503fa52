//! The protocol's messages (effect-rpc-protocol.md §1): decoding what clients send, tolerant of
//! what the spec says to accept (missing `headers`, extra fields), and the server's replies.
//!
//! Decoding never fails silently: a message that cannot be processed becomes a [`Rejected`],
//! answered per request when its id is known and with a connection-level `Defect` otherwise.

use crate::rpc::{Cause, Defect, Exit};
use serde::Serialize;
use serde_json::{Map, Value};

/// A request id as the client wrote it: the decimal string of a non-negative integer. It is
/// echoed verbatim in every reply to that request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub(crate) struct RequestId(String);

impl RequestId {
    /// Longer than any id a JS bigint counter reaches in practice.
    const MAX_DIGITS: usize = 40;

    pub(crate) fn parse(text: &str) -> Option<Self> {
        let valid = !text.is_empty()
            && text.len() <= Self::MAX_DIGITS
            && text.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| RequestId(text.to_string()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The caller's span, carried by the Request when client tracing is on (§7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerTrace {
    /// 32 lowercase hex characters.
    pub trace_id: String,
    /// 16 lowercase hex characters.
    pub span_id: String,
    pub sampled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub id: RequestId,
    pub tag: String,
    /// Absent for payload-less procedures.
    pub payload: Option<Value>,
    /// Per-call headers, names lowercased.
    pub headers: Vec<(String, String)>,
    pub trace: Option<CallerTrace>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ClientMessage {
    Request(Request),
    Ack(RequestId),
    Interrupt(RequestId),
    Ping,
    Eof,
    /// An Ack or Interrupt without a usable request id: nothing to do.
    Ignored,
}

/// A message the connection cannot process, and how to say so.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rejected {
    /// No request id is known: a connection-level `Defect`.
    Defect(Defect),
    /// The request id is known: that request's `Exit`, a `Die` with this message.
    Request { id: RequestId, message: String },
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "_tag")]
pub(crate) enum ServerMessage {
    Chunk {
        #[serde(rename = "requestId")]
        request_id: RequestId,
        /// Never empty.
        values: Vec<Value>,
    },
    Exit {
        #[serde(rename = "requestId")]
        request_id: RequestId,
        exit: Exit,
    },
    Defect {
        defect: Defect,
    },
    Pong,
}

impl ServerMessage {
    pub(crate) fn failure(request_id: RequestId, cause: Cause) -> Self {
        ServerMessage::Exit {
            request_id,
            exit: Exit::failure(cause),
        }
    }
}

/// Echoed client input is cut to this many characters in defects.
const MAX_ECHOED_CHARS: usize = 200;

/// Decodes one NDJSON line or JSON body.
pub(crate) fn decode(bytes: &[u8]) -> Result<ClientMessage, Rejected> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Rejected::Defect(Defect::error("SyntaxError", format!("Invalid JSON: {e}")))
    })?;
    let Value::Object(fields) = value else {
        return Err(unknown_tag("undefined"));
    };
    let tag = match fields.get("_tag") {
        Some(Value::String(tag)) => tag.clone(),
        Some(other) => return Err(unknown_tag(&js_text(other))),
        None => return Err(unknown_tag("undefined")),
    };
    match tag.as_str() {
        "Request" => decode_request(fields).map(ClientMessage::Request),
        "Ack" => Ok(request_id_of(&fields).map_or(ClientMessage::Ignored, ClientMessage::Ack)),
        "Interrupt" => {
            Ok(request_id_of(&fields).map_or(ClientMessage::Ignored, ClientMessage::Interrupt))
        }
        "Ping" => Ok(ClientMessage::Ping),
        "Eof" => Ok(ClientMessage::Eof),
        other => Err(unknown_tag(other)),
    }
}

fn decode_request(mut fields: Map<String, Value>) -> Result<Request, Rejected> {
    let id = match fields.get("id") {
        Some(Value::String(text)) => RequestId::parse(text),
        _ => None,
    };
    let Some(id) = id else {
        let shown = fields.get("id").map_or("undefined".to_string(), js_text);
        return Err(Rejected::Defect(Defect::Message(format!(
            "Invalid request id: {}",
            truncate(&shown)
        ))));
    };
    let tag = match fields.remove("tag") {
        Some(Value::String(tag)) => tag,
        other => {
            let shown = other.as_ref().map_or("undefined".to_string(), js_text);
            return Err(Rejected::Request {
                id,
                message: format!("Unknown request tag: {}", truncate(&shown)),
            });
        }
    };
    Ok(Request {
        id,
        tag,
        payload: fields.remove("payload"),
        headers: headers_of(fields.remove("headers")),
        trace: trace_of(&fields),
    })
}

fn request_id_of(fields: &Map<String, Value>) -> Option<RequestId> {
    fields
        .get("requestId")
        .and_then(Value::as_str)
        .and_then(RequestId::parse)
}

/// `[[name, value], ...]`; anything else (missing, an object) counts as no header, and
/// malformed pairs are skipped.
fn headers_of(value: Option<Value>) -> Vec<(String, String)> {
    let Some(Value::Array(pairs)) = value else {
        return Vec::new();
    };
    pairs
        .into_iter()
        .filter_map(|pair| match pair {
            Value::Array(mut pair) if pair.len() == 2 => match (pair.pop(), pair.pop()) {
                (Some(Value::String(value)), Some(Value::String(name))) => {
                    Some((name.to_ascii_lowercase(), value))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The caller's span ids, when they are well-formed (they never change behaviour).
fn trace_of(fields: &Map<String, Value>) -> Option<CallerTrace> {
    let hex = |name: &str, len: usize| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
    };
    Some(CallerTrace {
        trace_id: hex("traceId", 32)?,
        span_id: hex("spanId", 16)?,
        sampled: fields
            .get("sampled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

fn unknown_tag(tag: &str) -> Rejected {
    Rejected::Defect(Defect::Message(format!(
        "Unknown request tag: {}",
        truncate(tag)
    )))
}

/// How a JS template literal would show a JSON value (strings bare, the rest as JSON).
fn js_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(text: &str) -> RequestId {
        RequestId::parse(text).unwrap()
    }

    #[test]
    fn decodes_what_the_real_client_sends() {
        let line = br#"{"_tag":"Request","id":"4","tag":"countTo","traceId":"932830843a478aa69449f0a010dce03e","payload":{"n":3},"spanId":"a451f2a901f51545","sampled":true,"headers":[["X-Foo","Bar"]]}"#;
        let ClientMessage::Request(request) = decode(line).unwrap() else {
            panic!("not a request")
        };
        assert_eq!(request.id, id("4"));
        assert_eq!(request.tag, "countTo");
        assert_eq!(request.payload, Some(json!({"n": 3})));
        assert_eq!(request.headers, vec![("x-foo".into(), "Bar".into())]);
        assert_eq!(request.trace.unwrap().span_id, "a451f2a901f51545");

        let bare = decode(br#"{"_tag":"Request","id":"0","tag":"getHealth"}"#).unwrap();
        let ClientMessage::Request(bare) = bare else {
            panic!("not a request")
        };
        assert_eq!(
            (bare.payload, bare.headers, bare.trace),
            (None, vec![], None)
        );

        assert_eq!(
            decode(br#"{"_tag":"Ack","requestId":"4"}"#).unwrap(),
            ClientMessage::Ack(id("4"))
        );
        assert_eq!(
            decode(br#"{"_tag":"Interrupt","requestId":"6"}"#).unwrap(),
            ClientMessage::Interrupt(id("6"))
        );
        assert_eq!(
            decode(br#" {"_tag":"Ping"} "#).unwrap(),
            ClientMessage::Ping
        );
        assert_eq!(decode(br#"{"_tag":"Eof"}"#).unwrap(), ClientMessage::Eof);
        assert_eq!(
            decode(br#"{"_tag":"Ack","requestId":5}"#).unwrap(),
            ClientMessage::Ignored
        );
    }

    #[test]
    fn rejects_like_the_reference_server() {
        let defect = |bytes: &[u8]| match decode(bytes) {
            Err(Rejected::Defect(defect)) => serde_json::to_value(defect).unwrap(),
            other => panic!("expected a defect, got {other:?}"),
        };
        assert_eq!(
            defect(br#"{"_tag":"Nope"}"#),
            json!("Unknown request tag: Nope")
        );
        assert_eq!(defect(br#"[1,2]"#), json!("Unknown request tag: undefined"));
        assert_eq!(
            defect(br#"{"id":"1"}"#),
            json!("Unknown request tag: undefined")
        );
        assert_eq!(
            defect(br#"{"_tag":"Request","id":5,"tag":"echo"}"#),
            json!("Invalid request id: 5")
        );
        assert_eq!(
            defect(br#"{"_tag":"Request","id":"x1","tag":"echo"}"#),
            json!("Invalid request id: x1")
        );
        assert_eq!(defect(b"not json")["name"], json!("SyntaxError"));
        assert_eq!(
            decode(br#"{"_tag":"Request","id":"7"}"#),
            Err(Rejected::Request {
                id: id("7"),
                message: "Unknown request tag: undefined".into()
            })
        );
    }

    #[test]
    fn encodes_replies_in_the_wire_shape() {
        let exit = ServerMessage::Exit {
            request_id: id("1"),
            exit: Exit::success(Some(json!({"text": "hi"}))),
        };
        assert_eq!(
            serde_json::to_string(&exit).unwrap(),
            r#"{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{"text":"hi"}}}"#
        );
        let chunk = ServerMessage::Chunk {
            request_id: id("4"),
            values: vec![json!(1)],
        };
        assert_eq!(
            serde_json::to_string(&chunk).unwrap(),
            r#"{"_tag":"Chunk","requestId":"4","values":[1]}"#
        );
        assert_eq!(
            serde_json::to_string(&ServerMessage::Pong).unwrap(),
            r#"{"_tag":"Pong"}"#
        );
    }
}

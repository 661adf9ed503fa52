//! Bytes to messages and back (effect-rpc-protocol.md §3): the NDJSON line splitter with a
//! bounded pending line, and the encoders of NDJSON lines and HTTP JSON arrays.
//!
//! A line longer than the frame limit is never buffered: its bytes are counted and dropped
//! until its `\n`, keeping only a short prefix to find the request id it belongs to, so one
//! oversized request fails alone instead of the whole connection.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

use super::message::{RequestId, ServerMessage};

/// Bytes kept from the start of an oversized line to find its request id.
pub(crate) const SNIFFED_PREFIX_BYTES: usize = 256;

/// One complete line of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    Complete(Vec<u8>),
    /// Longer than the limit (`bytes` counted, at least, when reading stopped early);
    /// `request_id` when the line starts like a Request.
    Oversized {
        bytes: usize,
        request_id: Option<RequestId>,
    },
}

/// Splits a byte stream into `\n`-terminated lines of at most `max_line` bytes.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max_line: usize,
    pending: Vec<u8>,
    oversized: Option<OversizedLine>,
}

#[derive(Debug)]
struct OversizedLine {
    bytes: usize,
    prefix: Vec<u8>,
}

impl LineSplitter {
    pub(crate) fn new(max_line: usize) -> Self {
        Self {
            max_line,
            pending: Vec::new(),
            oversized: None,
        }
    }

    /// The lines `chunk` completes, in order; an unterminated tail waits for the next chunk.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.append(&rest[..end]);
            lines.push(self.take_line());
            rest = &rest[end + 1..];
        }
        self.append(rest);
        lines
    }

    /// End of input: the unterminated last line, if any (HTTP bodies; the reference drops it,
    /// answering it is kinder and costs nothing).
    pub(crate) fn finish(&mut self) -> Option<Line> {
        let has_tail = self.oversized.is_some() || !self.pending.is_empty();
        has_tail.then(|| self.take_line())
    }

    fn append(&mut self, part: &[u8]) {
        if let Some(oversized) = &mut self.oversized {
            oversized.bytes += part.len();
            return;
        }
        if self.pending.len() + part.len() <= self.max_line {
            self.pending.extend_from_slice(part);
            return;
        }
        // Over the limit: keep a short prefix, release the buffer, count the rest.
        let bytes = self.pending.len() + part.len();
        let mut prefix = self.pending[..self.pending.len().min(SNIFFED_PREFIX_BYTES)].to_vec();
        let missing = SNIFFED_PREFIX_BYTES - prefix.len();
        prefix.extend_from_slice(&part[..missing.min(part.len())]);
        self.pending = Vec::new();
        self.oversized = Some(OversizedLine { bytes, prefix });
    }

    fn take_line(&mut self) -> Line {
        match self.oversized.take() {
            Some(oversized) => Line::Oversized {
                bytes: oversized.bytes,
                request_id: sniff_request_id(&oversized.prefix),
            },
            None => Line::Complete(std::mem::take(&mut self.pending)),
        }
    }
}

/// The id of an oversized line that starts like a Request: `{"_tag":"Request",` then, within
/// the prefix, `"id":"<digits>"`. Only `headers` (an array of strings) may come before `id` when
/// keys are sorted, and the real client writes `id` second, so the first match is the id.
pub(crate) fn sniff_request_id(prefix: &[u8]) -> Option<RequestId> {
    const START: &[u8] = br#"{"_tag":"Request","#;
    const ID: &[u8] = br#""id":""#;
    let rest = prefix.strip_prefix(START)?;
    let at = rest.windows(ID.len()).position(|w| w == ID)?;
    let digits = &rest[at + ID.len()..];
    let end = digits.iter().position(|&b| b == b'"')?;
    RequestId::parse(std::str::from_utf8(&digits[..end]).ok()?)
}

/// Appends `message` as one NDJSON line. `ascii_only` escapes every non-ASCII character as
/// `\uXXXX`: the client's HTTP NDJSON decoder corrupts multi-byte characters split across
/// network reads (§3.1), and pure-ASCII lines cannot be split inside a character.
pub(crate) fn write_line(out: &mut Vec<u8>, message: &ServerMessage, ascii_only: bool) {
    write_json(out, message, ascii_only);
    out.push(b'\n');
}

/// The HTTP JSON response body: one array of every message, in order (§3.2).
pub(crate) fn json_array(messages: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = messages.iter().map(|m| m.len() + 1).sum();
    let mut body = Vec::with_capacity(total + 2);
    body.push(b'[');
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(message);
    }
    body.push(b']');
    body
}

/// One message as JSON (no newline).
pub(crate) fn write_json(out: &mut Vec<u8>, message: &ServerMessage, ascii_only: bool) {
    let start = out.len();
    let written = if ascii_only {
        message.serialize(&mut Serializer::with_formatter(&mut *out, AsciiOnly))
    } else {
        message.serialize(&mut Serializer::new(&mut *out))
    };
    if let Err(e) = written {
        // Unreachable with `serde_json::Value` contents; never emit half a line.
        tracing::error!(error = %e, "cannot encode an RPC message");
        out.truncate(start);
        out.extend_from_slice(br#"{"_tag":"Defect","defect":"internal error"}"#);
    }
}

/// A JSON formatter that writes non-ASCII characters as `\uXXXX` escapes.
struct AsciiOnly;

impl Formatter for AsciiOnly {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut ascii_run = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[ascii_run..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            ascii_run = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[ascii_run..])
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> std::io::Result<()> {
        serde_json::ser::CompactFormatter.write_char_escape(writer, escape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::Exit;
    use serde_json::json;

    fn complete(text: &str) -> Line {
        Line::Complete(text.as_bytes().to_vec())
    }

    #[test]
    fn lines_may_span_chunks_and_chunks_may_hold_lines() {
        let mut splitter = LineSplitter::new(64);
        assert_eq!(splitter.push(b"{\"a\":"), vec![]);
        assert_eq!(
            splitter.push(b"1}\n{\"b\":2}\n{\"c\""),
            vec![complete("{\"a\":1}"), complete("{\"b\":2}")]
        );
        assert_eq!(splitter.push(b":3}\n"), vec![complete("{\"c\":3}")]);
        assert_eq!(splitter.finish(), None);
        assert_eq!(splitter.push(b"tail"), vec![]);
        assert_eq!(splitter.finish(), Some(complete("tail")));
    }

    #[test]
    fn oversized_lines_are_counted_not_buffered_and_keep_their_request_id() {
        let mut splitter = LineSplitter::new(40);
        let head = br#"{"_tag":"Request","id":"17","tag":"echo","payload":{"text":""#;
        assert_eq!(splitter.push(head), vec![]);
        assert_eq!(splitter.push(&[b'x'; 1000]), vec![]);
        assert!(splitter.pending.capacity() <= 64, "nothing big is buffered");
        assert!(splitter.oversized.as_ref().unwrap().prefix.len() <= SNIFFED_PREFIX_BYTES);
        let lines = splitter.push(b"\"}}\n{\"_tag\":\"Ping\"}\n");
        assert_eq!(
            lines,
            vec![
                Line::Oversized {
                    bytes: head.len() + 1000 + 3,
                    request_id: RequestId::parse("17"),
                },
                complete(r#"{"_tag":"Ping"}"#),
            ]
        );
        let mut splitter = LineSplitter::new(4);
        assert_eq!(
            splitter.push(b"[1,2,3,4]\n"),
            vec![Line::Oversized {
                bytes: 9,
                request_id: None
            }]
        );
    }

    #[test]
    fn request_ids_are_sniffed_in_the_client_order_and_in_sorted_order() {
        let id = |text: &str| sniff_request_id(text.as_bytes()).map(|id| id.to_string());
        assert_eq!(
            id(r#"{"_tag":"Request","id":"12","tag":"echo","payload":{"#),
            Some("12".into())
        );
        assert_eq!(
            id(r#"{"_tag":"Request","headers":[["x-id","1"]],"id":"7","payload":{"id":"9"#),
            Some("7".into())
        );
        assert_eq!(id(r#"{"_tag":"Request","traceId":"abc","#), None);
        assert_eq!(id(r#"{"_tag":"Ping","id":"3"}"#), None);
        assert_eq!(id(r#"{"_tag":"Request","id":"x"}"#), None);
    }

    #[test]
    fn ascii_only_lines_escape_every_non_ascii_character() {
        let message = ServerMessage::Exit {
            request_id: RequestId::parse("1").unwrap(),
            exit: Exit::success(Some(json!({"text": "héllo 🌍 \"q\"\n"}))),
        };
        let mut out = Vec::new();
        write_line(&mut out, &message, true);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.is_ascii());
        assert!(
            text.contains(r#"h\u00e9llo \ud83c\udf0d \"q\"\n"#),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        let decoded: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(decoded["exit"]["value"]["text"], "héllo 🌍 \"q\"\n");
        let mut plain = Vec::new();
        write_line(&mut plain, &message, false);
        assert!(String::from_utf8(plain).unwrap().contains("héllo 🌍"));
    }

    #[test]
    fn json_bodies_are_arrays() {
        assert_eq!(json_array(&[]), b"[]");
        assert_eq!(
            json_array(&[b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]),
            b"[{\"a\":1},{\"b\":2}]"
        );
    }
}

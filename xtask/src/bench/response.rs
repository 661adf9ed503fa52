//! Finding one complete HTTP/1.1 response at the start of a buffer, for the event-loop load
//! generator ([`super::load`]): it reads whatever the socket has, and asks here whether a whole
//! response (head and `Content-Length` or chunked body) has arrived yet.

/// A complete response at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    pub status: u16,
    /// Bytes of the buffer the response took.
    pub consumed: usize,
    /// Whether the server ends keep-alive after it (`Connection: close`).
    pub close: bool,
}

/// Whether `buf` starts with a complete response; its (de-chunked) body goes to `body`.
/// `Ok(None)`: not complete yet, read more. Responses framed by closing the connection are
/// refused: a load generator must not mistake a short read for an answer.
pub fn parse(buf: &[u8], body: &mut Vec<u8>) -> Result<Option<Parsed>, String> {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > 64 * 1024 {
            return Err("response head larger than 64 KiB".into());
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.split_whitespace();
    let status = match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(version), Some(Ok(status))) if version.starts_with("HTTP/1.") => status,
        _ => return Err(format!("bad status line `{status_line}`")),
    };
    let (mut length, mut chunked, mut close) = (None, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("bad Content-Length `{value}`"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let body_start = head_end + 4;
    body.clear();
    let consumed = if status < 200 || status == 204 || status == 304 {
        Some(body_start)
    } else if chunked {
        dechunk(&buf[body_start..], body)?.map(|used| body_start + used)
    } else if let Some(length) = length {
        let end = body_start + length;
        (buf.len() >= end).then(|| {
            body.extend_from_slice(&buf[body_start..end]);
            end
        })
    } else {
        return Err("a response without Content-Length or chunked framing".into());
    };
    Ok(consumed.map(|consumed| Parsed {
        status,
        consumed,
        close,
    }))
}

/// Decodes a chunked body at the start of `buf` into `body`; the bytes it took, once complete.
fn dechunk(buf: &[u8], body: &mut Vec<u8>) -> Result<Option<usize>, String> {
    let mut at = 0;
    loop {
        let Some(line_end) = find(&buf[at..], b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[at..at + line_end]).map_err(|_| "bad chunk line")?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size line `{line}`"))?;
        at += line_end + 2;
        if size == 0 {
            // Trailers (rare) end with an empty line, as the head does.
            return Ok(if buf[at..].starts_with(b"\r\n") {
                Some(at + 2)
            } else {
                find(&buf[at..], b"\r\n\r\n").map(|end| at + end + 4)
            });
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_framed_response_is_complete_only_with_its_body() {
        let full = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKHTTP/1.1";
        let mut body = Vec::new();
        for cut in [10, 38, 39] {
            assert_eq!(parse(&full[..cut], &mut body), Ok(None), "cut at {cut}");
        }
        let parsed = parse(full, &mut body).unwrap().unwrap();
        assert_eq!(
            (parsed.status, parsed.consumed, parsed.close),
            (200, 40, false)
        );
        assert_eq!(body, b"OK");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let full = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nConnection: close\r\n\r\n\
                     3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let mut body = Vec::new();
        assert_eq!(parse(&full[..full.len() - 1], &mut body), Ok(None));
        let parsed = parse(full, &mut body).unwrap().unwrap();
        assert_eq!(parsed.consumed, full.len());
        assert!(parsed.close);
        assert_eq!(body, b"abcde");
    }

    #[test]
    fn no_body_statuses_and_bad_heads() {
        let mut body = Vec::new();
        let parsed = parse(b"HTTP/1.1 204 No Content\r\n\r\n", &mut body)
            .unwrap()
            .unwrap();
        assert_eq!(parsed.consumed, 27);
        assert!(parse(b"HTTP/1.1 200 OK\r\n\r\n", &mut body).is_err());
        assert!(parse(b"SMTP 200\r\n\r\n", &mut body).is_err());
    }
}

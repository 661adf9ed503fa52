//! The WebSocket side of the RPC load: one thread per connection, all released at once, each
//! keeping `in_flight` Requests outstanding (pipelined, distinct ids) on one socket and sending the
//! next Request as soon as an Exit comes back, for a fixed duration. Latency is per call, from the
//! Request frame written to its Exit read.
//!
//! The socket is a sync `tungstenite` client (the workspace's WebSocket implementation, without
//! tokio), so the load generator stays plain std threads like the HTTP one.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use tungstenite::{Message, WebSocket};

use super::http::Target;
use super::load::LoadResult;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// What to drive at an RPC endpoint over WebSocket/NDJSON.
#[derive(Debug, Clone)]
pub struct WsSpec {
    pub target: Target,
    /// The RPC path, e.g. `/v1/shared/rpc`.
    pub path: String,
    /// The procedure called, payload-less (e.g. `getHealth`).
    pub tag: String,
    /// Bytes every successful Exit carries (e.g. `"exit":{"_tag":"Success"`).
    pub success: String,
    pub connections: usize,
    /// Calls each connection keeps outstanding.
    pub in_flight: usize,
    pub duration: Duration,
}

/// The NDJSON line of a payload-less Request (what the real client sends, tracing disabled).
pub fn request_line(id: u64, tag: &str) -> String {
    format!("{{\"_tag\":\"Request\",\"id\":\"{id}\",\"tag\":\"{tag}\",\"headers\":[]}}\n")
}

/// What one server line says about a call.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// An Exit for `id`; `ok` when it carried the expected success.
    Exit { id: u64, ok: bool },
    /// A Chunk, Pong or anything else tied to no finished call.
    Other,
    /// A connection-level Defect: every call in flight failed.
    Defect,
}

/// Reads one NDJSON line of the server (compact JSON, as the server writes it).
pub fn parse_reply(line: &str, success: &str) -> Reply {
    if line.contains("\"_tag\":\"Defect\"") && !line.contains("\"requestId\"") {
        return Reply::Defect;
    }
    if !line.contains("\"_tag\":\"Exit\"") {
        return Reply::Other;
    }
    let id = line
        .split_once("\"requestId\":\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .and_then(|(id, _)| id.parse().ok());
    match id {
        Some(id) => Reply::Exit {
            id,
            ok: line.contains(success),
        },
        None => Reply::Other,
    }
}

/// The `ws://` URL of `path` on `target`.
pub fn url(target: &Target, path: &str) -> String {
    format!("{}{path}", target.base_url.replacen("http://", "ws://", 1))
}

/// Opens a WebSocket to `path` (the upgrade is checked by tungstenite: 101 and the accept key).
pub fn connect(target: &Target, path: &str) -> Result<WebSocket<TcpStream>, String> {
    let url = url(target, path);
    let stream = TcpStream::connect_timeout(&target.addr, IO_TIMEOUT)
        .map_err(|error| format!("cannot connect to {url}: {error}"))?;
    stream
        .set_nodelay(true)
        .and_then(|()| stream.set_read_timeout(Some(IO_TIMEOUT)))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|error| format!("cannot configure the socket to {url}: {error}"))?;
    let (socket, _) = tungstenite::client(url.as_str(), stream)
        .map_err(|error| format!("WebSocket upgrade at {url} failed: {error}"))?;
    Ok(socket)
}

/// The text of the next data frame (text or binary), skipping control frames.
pub fn read_text(socket: &mut WebSocket<TcpStream>) -> Result<String, String> {
    loop {
        match socket.read() {
            Ok(Message::Text(text)) => return Ok(text.as_str().to_owned()),
            Ok(Message::Binary(bytes)) => {
                return String::from_utf8(bytes.to_vec())
                    .map_err(|_| "the server sent a binary frame that is not UTF-8".to_owned())
            }
            Ok(Message::Close(frame)) => {
                return Err(format!("the server closed the WebSocket ({frame:?})"))
            }
            Ok(_) => continue,
            Err(error) => return Err(format!("WebSocket read failed: {error}")),
        }
    }
}

/// Runs `spec` and blocks until every connection is done.
pub fn run(spec: &WsSpec) -> Result<LoadResult, String> {
    let start_line = Barrier::new(spec.connections + 1);
    let (started, per_connection) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..spec.connections)
            .map(|_| scope.spawn(|| drive(spec, &start_line)))
            .collect();
        start_line.wait();
        let started = Instant::now();
        let samples: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        (started, samples)
    });
    let elapsed = started.elapsed();
    let mut latencies_ns = Vec::new();
    let mut errors = 0;
    for samples in per_connection {
        let (latencies, failed) =
            samples.map_err(|_| "a WebSocket load thread panicked".to_string())??;
        latencies_ns.extend(latencies);
        errors += failed;
    }
    Ok(LoadResult::new(latencies_ns, errors, elapsed))
}

/// One connection: connect, wait for the others, keep `in_flight` calls outstanding until the
/// deadline, then collect the outstanding Exits. Returns the latencies and the failed calls.
fn drive(spec: &WsSpec, start_line: &Barrier) -> Result<(Vec<u64>, u64), String> {
    let connected = connect(&spec.target, &spec.path);
    start_line.wait();
    let mut socket = connected?;
    let deadline = Instant::now() + spec.duration;
    let mut calls = Calls::default();
    for _ in 0..spec.in_flight {
        calls.send(&mut socket, &spec.tag)?;
    }
    flush(&mut socket)?;
    while !calls.sent_at.is_empty() {
        let text = match read_text(&mut socket) {
            Ok(text) => text,
            Err(error) => {
                // The calls outstanding are lost; the run fails (a lost socket is a server bug
                // worth a clear message, not a footnote in the numbers).
                return Err(format!(
                    "{} with {} calls outstanding",
                    error,
                    calls.sent_at.len()
                ));
            }
        };
        let mut replaced = false;
        for line in text.split('\n').filter(|line| !line.trim().is_empty()) {
            match parse_reply(line, &spec.success) {
                Reply::Exit { id, ok } => {
                    if !calls.finish(id, ok) {
                        return Err(format!("the server answered an unknown request id: {line}"));
                    }
                    if Instant::now() < deadline {
                        calls.send(&mut socket, &spec.tag)?;
                        replaced = true;
                    }
                }
                Reply::Defect => return Err(format!("the server sent a Defect: {line}")),
                Reply::Other => {}
            }
        }
        if replaced {
            flush(&mut socket)?;
        }
    }
    // Best effort: the numbers are in; the server ends the connection either way.
    let _ = socket.close(None);
    let _ = socket.flush();
    Ok((calls.latencies_ns, calls.errors))
}

fn flush(socket: &mut WebSocket<TcpStream>) -> Result<(), String> {
    socket
        .flush()
        .map_err(|error| format!("WebSocket write failed: {error}"))
}

/// The calls of one connection: when each outstanding one was sent, and how the finished ones went.
#[derive(Default)]
struct Calls {
    next_id: u64,
    sent_at: HashMap<u64, Instant>,
    latencies_ns: Vec<u64>,
    errors: u64,
}

impl Calls {
    /// Queues the next Request (sent at the next flush).
    fn send(&mut self, socket: &mut WebSocket<TcpStream>, tag: &str) -> Result<(), String> {
        let id = self.next_id;
        self.next_id += 1;
        socket
            .write(Message::text(request_line(id, tag)))
            .map_err(|error| format!("WebSocket write failed: {error}"))?;
        self.sent_at.insert(id, Instant::now());
        Ok(())
    }

    /// Records the Exit of `id`; false when no such call was outstanding.
    fn finish(&mut self, id: u64, ok: bool) -> bool {
        let Some(sent) = self.sent_at.remove(&id) else {
            return false;
        };
        if ok {
            self.latencies_ns.push(sent.elapsed().as_nanos() as u64);
        } else {
            self.errors += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A WebSocket RPC server for `connections` connections: answers every Request at once with
    /// its Exit (a failure for id 2), and puts a Pong line in front of every third reply's frame.
    fn serve_rpc(connections: usize) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let stream = stream.expect("accept");
                std::thread::spawn(move || {
                    let mut socket = tungstenite::accept(stream).expect("upgrade");
                    for replies in 1.. {
                        let text = match socket.read() {
                            Ok(Message::Text(text)) => text.as_str().to_owned(),
                            Ok(Message::Close(_)) | Err(_) => return,
                            Ok(_) => continue,
                        };
                        let id = text
                            .split("\"id\":\"")
                            .nth(1)
                            .and_then(|rest| rest.split('"').next())
                            .expect("a Request with an id")
                            .to_owned();
                        let exit = if id == "2" {
                            r#"{"_tag":"Failure","cause":{"_tag":"Die","defect":"x"}}"#
                        } else {
                            r#"{"_tag":"Success","value":{"status":"ok"}}"#
                        };
                        let mut frame = String::new();
                        if replies % 3 == 0 {
                            frame.push_str("{\"_tag\":\"Pong\"}\n");
                        }
                        frame += &format!(
                            "{{\"_tag\":\"Exit\",\"requestId\":\"{id}\",\"exit\":{exit}}}\n"
                        );
                        if socket.send(Message::text(frame)).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Target::parse(&url).expect("target")
    }

    #[test]
    fn pipelined_calls_are_counted_per_exit() {
        let spec = WsSpec {
            target: serve_rpc(2),
            path: "/rpc".into(),
            tag: "getHealth".into(),
            success: SUCCESS.into(),
            connections: 2,
            in_flight: 4,
            duration: Duration::from_millis(300),
        };
        let result = run(&spec).expect("run");
        // Id 2 fails on each connection; everything else succeeds, nothing is left behind.
        assert_eq!(result.errors, 2);
        assert!(result.ok > 2 * 4, "only {} calls succeeded", result.ok);
        assert!(result.percentile_ms(99.0) > 0.0);
    }

    const SUCCESS: &str = r#""exit":{"_tag":"Success","value":{"status":"ok"}}"#;

    #[test]
    fn requests_are_ndjson_lines_with_string_ids() {
        assert_eq!(
            request_line(7, "getHealth"),
            "{\"_tag\":\"Request\",\"id\":\"7\",\"tag\":\"getHealth\",\"headers\":[]}\n"
        );
    }

    #[test]
    fn exits_are_matched_by_request_id() {
        let ok =
            r#"{"_tag":"Exit","requestId":"12","exit":{"_tag":"Success","value":{"status":"ok"}}}"#;
        assert_eq!(parse_reply(ok, SUCCESS), Reply::Exit { id: 12, ok: true });
        let failed = r#"{"_tag":"Exit","requestId":"3","exit":{"_tag":"Failure","cause":{"_tag":"Die","defect":"x"}}}"#;
        assert_eq!(
            parse_reply(failed, SUCCESS),
            Reply::Exit { id: 3, ok: false }
        );
        assert_eq!(parse_reply(r#"{"_tag":"Pong"}"#, SUCCESS), Reply::Other);
        assert_eq!(
            parse_reply(
                r#"{"_tag":"Defect","defect":"Unknown request tag: x"}"#,
                SUCCESS
            ),
            Reply::Defect
        );
    }

    #[test]
    fn urls_switch_to_the_ws_scheme() {
        let target = Target::parse("http://127.0.0.1:8080").expect("target");
        assert_eq!(
            url(&target, "/v1/shared/rpc"),
            "ws://127.0.0.1:8080/v1/shared/rpc"
        );
    }
}

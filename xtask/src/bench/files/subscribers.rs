//! Live `eventStream_connect` streams of one user, as that many browser tabs would hold them:
//! one WebSocket per stream with the session cookie on the upgrade, NDJSON, one `Ack` per
//! `Chunk` (the protocol's back-pressure). Each stream has its own thread that notes the moment
//! a frame carrying `Files.Uploaded` was read (before acknowledging it), so the benchmark can
//! tell when every subscriber had a given file's event.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::super::http::Target;
use super::super::ws;
use super::api::{string_field, RPC_PATH};

/// The stream's Request, and the Ack sent for each of its Chunks.
const CONNECT: &str =
    "{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"eventStream_connect\",\"headers\":[]}\n";
const ACK: &str = "{\"_tag\":\"Ack\",\"requestId\":\"1\"}\n";
const UPLOADED: &str = "\"_tag\":\"Files.Uploaded\"";
/// Longer than the server's 3 s keep-alive: a silent stream is a broken one.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Enough for a reader thread that only parses lines.
const THREAD_STACK: usize = 256 * 1024;

/// A subscriber saw `file_id`'s event at `at`.
struct Arrival {
    subscriber: usize,
    file_id: String,
    at: Instant,
}

/// What a reader thread reports.
enum Note {
    Connected(TcpStream),
    Arrived(Arrival),
    Failed(usize, String),
}

/// `count` open event streams of one user.
pub struct Subscribers {
    count: usize,
    sockets: Vec<TcpStream>,
    threads: Vec<JoinHandle<()>>,
    notes: mpsc::Receiver<Note>,
    stopping: Arc<AtomicBool>,
}

impl Subscribers {
    /// Opens `count` streams on `target` with `cookie` and waits until each has sent its
    /// Request. (The subscription starts when the server has handled it: call
    /// [`Self::wait_for`] with a first event before measuring.)
    pub fn connect(target: &Target, cookie: &str, count: usize) -> Result<Self, String> {
        let (sender, notes) = mpsc::channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let mut subscribers = Self {
            count,
            sockets: Vec::with_capacity(count),
            threads: Vec::with_capacity(count),
            notes,
            stopping: stopping.clone(),
        };
        for index in 0..count {
            let (target, cookie) = (target.clone(), cookie.to_owned());
            let (sender, stopping) = (sender.clone(), stopping.clone());
            let thread = std::thread::Builder::new()
                .name(format!("subscriber-{index}"))
                .stack_size(THREAD_STACK)
                .spawn(move || subscribe(index, &target, &cookie, &sender, &stopping))
                .map_err(|error| format!("bench: cannot start subscriber thread: {error}"))?;
            subscribers.threads.push(thread);
        }
        let deadline = Instant::now() + READ_TIMEOUT + Duration::from_secs(count as u64 / 50);
        while subscribers.sockets.len() < count {
            match subscribers.next_note(deadline)? {
                Note::Connected(socket) => subscribers.sockets.push(socket),
                Note::Arrived(_) => {}
                Note::Failed(index, error) => {
                    return Err(format!("bench: event stream {index}: {error}"))
                }
            }
        }
        Ok(subscribers)
    }

    fn next_note(&self, deadline: Instant) -> Result<Note, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.notes.recv_timeout(left).map_err(|_| {
            format!(
                "bench: {} event streams: no word from them within the deadline",
                self.count
            )
        })
    }

    /// Waits until every stream has read `file_id`'s `Files.Uploaded`; returns when each did,
    /// in no particular order. Arrivals of other files (an earlier upload) are skipped.
    pub fn wait_for(&self, file_id: &str, within: Duration) -> Result<Vec<Instant>, String> {
        let deadline = Instant::now() + within;
        let mut seen = vec![false; self.count];
        let mut arrivals = Vec::with_capacity(self.count);
        while arrivals.len() < self.count {
            let note = self.next_note(deadline).map_err(|_| {
                format!(
                    "bench: only {} of {} event streams had {file_id}'s Files.Uploaded within {} s",
                    arrivals.len(),
                    self.count,
                    within.as_secs()
                )
            })?;
            match note {
                Note::Arrived(arrival)
                    if arrival.file_id == file_id
                        && !std::mem::replace(&mut seen[arrival.subscriber], true) =>
                {
                    arrivals.push(arrival.at);
                }
                Note::Failed(index, error) => {
                    return Err(format!("bench: event stream {index}: {error}"))
                }
                _ => {}
            }
        }
        Ok(arrivals)
    }
}

impl Drop for Subscribers {
    /// Shuts the sockets down (their reads fail at once) and joins the threads; a thread still
    /// connecting sees the stop flag after its next frame (a keep-alive at the latest).
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        for socket in &self.sockets {
            let _ = socket.shutdown(Shutdown::Both);
        }
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
    }
}

/// One stream's thread: connect, subscribe, then read until stopped.
fn subscribe(
    index: usize,
    target: &Target,
    cookie: &str,
    notes: &mpsc::Sender<Note>,
    stopping: &AtomicBool,
) {
    let outcome = connect(target, cookie).and_then(|(mut socket, handle)| {
        send(&mut socket, CONNECT)?;
        let _ = notes.send(Note::Connected(handle));
        read(index, &mut socket, notes, stopping)
    });
    if let Err(error) = outcome {
        if !stopping.load(Ordering::SeqCst) {
            let _ = notes.send(Note::Failed(index, error));
        }
    }
}

/// A WebSocket to the RPC endpoint with the session cookie on the upgrade request; also a
/// handle on its TCP stream, to shut it down from outside.
fn connect(target: &Target, cookie: &str) -> Result<(WebSocket<TcpStream>, TcpStream), String> {
    let url = ws::url(target, RPC_PATH);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|error| format!("bad WebSocket URL {url}: {error}"))?;
    let value = cookie
        .parse()
        .map_err(|_| "the session cookie is not a valid header value".to_owned())?;
    request.headers_mut().insert("cookie", value);
    let stream = TcpStream::connect_timeout(&target.addr, READ_TIMEOUT)
        .map_err(|error| format!("cannot connect to {url}: {error}"))?;
    stream
        .set_nodelay(true)
        .and_then(|()| stream.set_read_timeout(Some(READ_TIMEOUT)))
        .and_then(|()| stream.set_write_timeout(Some(READ_TIMEOUT)))
        .map_err(|error| format!("cannot configure the socket to {url}: {error}"))?;
    let handle = stream
        .try_clone()
        .map_err(|error| format!("cannot clone the socket to {url}: {error}"))?;
    // Small buffers: a thousand idle streams should not hold a quarter of a gigabyte.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (socket, _) = tungstenite::client::client_with_config(request, stream, Some(config))
        .map_err(|error| format!("WebSocket upgrade at {url} failed: {error}"))?;
    Ok((socket, handle))
}

fn send(socket: &mut WebSocket<TcpStream>, line: &str) -> Result<(), String> {
    socket
        .send(Message::text(line))
        .map_err(|error| format!("WebSocket write failed: {error}"))
}

/// Reads frames until the socket fails: notes each `Files.Uploaded` with the time its frame was
/// read, and acknowledges every Chunk.
fn read(
    index: usize,
    socket: &mut WebSocket<TcpStream>,
    notes: &mpsc::Sender<Note>,
    stopping: &AtomicBool,
) -> Result<(), String> {
    loop {
        let text = ws::read_text(socket)?;
        let at = Instant::now();
        if stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        for line in text.split('\n').filter(|line| !line.trim().is_empty()) {
            if line.contains("\"_tag\":\"Exit\"") || line.contains("\"_tag\":\"Defect\"") {
                return Err(format!("the stream ended: {}", super::api::cut(line)));
            }
            if !line.contains("\"_tag\":\"Chunk\"") {
                continue;
            }
            for file_id in uploaded_file_ids(line) {
                let arrival = Arrival {
                    subscriber: index,
                    file_id,
                    at,
                };
                if notes.send(Note::Arrived(arrival)).is_err() {
                    return Ok(());
                }
            }
            send(socket, ACK)?;
        }
    }
}

/// The file ids of the `Files.Uploaded` events in one Chunk line, in order.
fn uploaded_file_ids(line: &str) -> Vec<String> {
    line.match_indices(UPLOADED)
        .filter_map(|(at, _)| {
            let rest = &line[at..];
            let file = rest.find("\"file\":{")?;
            string_field(&rest[file..], "id")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_events_are_found_in_chunks_among_keep_alives() {
        let line = r#"{"_tag":"Chunk","requestId":"1","values":[[{"_tag":"Files.Uploaded","file":{"_rowId":1,"id":"shared_file__a","userId":"u"}},{"_tag":"Files.Uploaded","file":{"id":"shared_file__b"}}],[{"_tag":"Ka"}]]}"#;
        assert_eq!(
            uploaded_file_ids(line),
            ["shared_file__a", "shared_file__b"]
        );
        let keep_alive = r#"{"_tag":"Chunk","requestId":"1","values":[[{"_tag":"Ka"}]]}"#;
        assert!(uploaded_file_ids(keep_alive).is_empty());
    }
}

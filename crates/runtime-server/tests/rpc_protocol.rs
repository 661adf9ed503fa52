//! The RPC wire protocol seen by a raw client (no Effect library): framing, every kind of bad
//! input, stream back-pressure and interruption, the per-connection limits, keep-alive, and
//! clients that never read. Each test serves a small group on port 0 with small limits.

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream};
use futures::{SinkExt, StreamExt};
use runtime_server::rpc::{self, RpcLimits};
use runtime_server::AppConfig;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared_server::auth::AuthContext;
use shared_server::rpc::{health_group, RpcError, RpcGroup, RpcResult};
use shared_server::Context;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------------------------------------
// The served group.

#[derive(Clone, Default)]
struct ActiveStreams(Arc<AtomicUsize>);

struct StreamAlive(Arc<AtomicUsize>);

impl Drop for StreamAlive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn stream_alive(ctx: &Context) -> RpcResult<StreamAlive> {
    let active = ctx.get::<ActiveStreams>().map_err(RpcError::internal)?;
    active.0.fetch_add(1, Ordering::SeqCst);
    Ok(StreamAlive(active.0.clone()))
}

#[derive(Serialize, Deserialize)]
struct Text {
    text: String,
}

#[derive(Deserialize)]
struct CountTo {
    n: u64,
}

async fn echo(_: Context, payload: Text) -> RpcResult<Text> {
    Ok(payload)
}

async fn count_to(ctx: Context, p: CountTo) -> RpcResult<impl Stream<Item = RpcResult<u64>>> {
    let alive = stream_alive(&ctx)?;
    Ok(stream::iter(1..=p.n).map(move |i| {
        let _alive = &alive;
        Ok(i)
    }))
}

async fn ticks(ctx: Context, _: ()) -> RpcResult<impl Stream<Item = RpcResult<u64>>> {
    let alive = stream_alive(&ctx)?;
    Ok(stream::unfold((alive, 1u64), |(alive, next)| async move {
        tokio::time::sleep(Duration::from_millis(2)).await;
        Some((Ok(next), (alive, next + 1)))
    }))
}

async fn active_streams(ctx: Context, _: ()) -> RpcResult<usize> {
    let active = ctx.get::<ActiveStreams>().map_err(RpcError::internal)?;
    Ok(active.0.load(Ordering::SeqCst))
}

async fn panics(_: Context, _: ()) -> RpcResult<()> {
    panic!("a bug in a handler")
}

async fn who_am_i(_: Context, caller: AuthContext, _: ()) -> RpcResult<String> {
    Ok(caller.user.id.to_string())
}

fn group() -> RpcGroup {
    RpcGroup::new("test")
        .public("echo", echo)
        .public_stream("countTo", count_to)
        .public_stream("ticks", ticks)
        .public("activeStreams", active_streams)
        .public("panics", panics)
        .authenticated("whoAmI", who_am_i)
}

fn small_limits() -> RpcLimits {
    RpcLimits {
        max_frame_bytes: 1024,
        max_in_flight: 4,
        idle_timeout: Duration::from_secs(30),
        send_timeout: Duration::from_secs(1),
    }
}

struct Server {
    base: String,
    active: ActiveStreams,
}

impl Server {
    async fn start(limits: RpcLimits) -> Server {
        let active = ActiveStreams::default();
        let ctx = Context::new().with(active.clone());
        let app = rpc::router([health_group(), group()], ctx, limits);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server { base, active }
    }

    fn url(&self) -> String {
        format!("{}/v1/test/rpc", self.base)
    }

    fn active_streams(&self) -> usize {
        self.active.0.load(Ordering::SeqCst)
    }

    async fn wait_for_no_stream(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.active_streams() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} stream handler(s) still running after {within:?}",
                self.active_streams()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A Request line in the real client's key order (`JSON.stringify` keeps insertion order).
fn request(id: &str, tag: &str, payload: Value) -> String {
    format!(r#"{{"_tag":"Request","id":"{id}","tag":"{tag}","payload":{payload},"headers":[]}}"#)
}

fn exit_of(messages: &[Value], id: &str) -> Value {
    messages
        .iter()
        .find(|m| m["_tag"] == "Exit" && m["requestId"] == id)
        .unwrap_or_else(|| panic!("no Exit for {id} in {messages:?}"))["exit"]
        .clone()
}

fn die_message(exit: &Value) -> String {
    assert_eq!(exit["cause"]["_tag"], "Die", "{exit}");
    exit["cause"]["defect"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// HTTP.

async fn post(url: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (String, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "RPC answers are always 200");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (content_type, response.bytes().await.unwrap().to_vec())
}

async fn post_ndjson(url: &str, body: String) -> (String, Vec<Value>) {
    let (content_type, bytes) = post(url, "application/ndjson", body).await;
    assert_eq!(content_type, "application/ndjson");
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "every line ends with \\n: {text:?}"
    );
    let messages = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (text, messages)
}

#[tokio::test]
async fn http_ndjson_answers_every_request_of_the_body() {
    let server = Server::start(small_limits()).await;
    let body = [
        request("1", "echo", json!({"text": "héllo 🌍"})),
        request("2", "countTo", json!({"n": 3})),
        r#"{"_tag":"Ping"}"#.to_string(),
        // Payload-less, without `headers`, and not terminated: still answered.
        r#"{"_tag":"Request","id":"3","tag":"activeStreams"}"#.to_string(),
    ]
    .join("\n");
    let (text, messages) = post_ndjson(&server.url(), body).await;
    assert!(text.is_ascii(), "HTTP NDJSON is ASCII-only: {text}");
    assert_eq!(
        exit_of(&messages, "1"),
        json!({"_tag": "Success", "value": {"text": "héllo 🌍"}})
    );
    let values: Vec<Value> = messages
        .iter()
        .filter(|m| m["_tag"] == "Chunk" && m["requestId"] == "2")
        .flat_map(|m| m["values"].as_array().unwrap().clone())
        .collect();
    assert_eq!(values, vec![json!(1), json!(2), json!(3)]);
    assert_eq!(exit_of(&messages, "2"), json!({"_tag": "Success"}));
    assert!(messages.contains(&json!({"_tag": "Pong"})));
    assert_eq!(exit_of(&messages, "3")["_tag"], "Success");

    let (_, health) = post_ndjson(
        &format!("{}/v1/shared/rpc", server.base),
        request("9", "getHealth", Value::Null) + "\n",
    )
    .await;
    assert_eq!(
        health,
        vec![
            json!({"_tag": "Exit", "requestId": "9", "exit": {"_tag": "Success", "value": {"status": "ok"}}})
        ]
    );
}

#[tokio::test]
async fn bad_input_is_answered_as_the_protocol_says_and_good_input_still_works() {
    let server = Server::start(small_limits()).await;
    let body = [
        "not json".to_string(),
        r#"{"_tag":"Nope"}"#.to_string(),
        r#"{"_tag":"Request","id":5,"tag":"echo","headers":[]}"#.to_string(),
        request("6", "nope", Value::Null),
        request("7", "echo", json!({"text": 3})),
        request("8", "echo", json!({"text": "fine"})),
        request("9", "panics", Value::Null),
        request("10", "whoAmI", Value::Null),
        r#"{"_tag":"Ack","requestId":"404"}"#.to_string(),
        r#"{"_tag":"Interrupt","requestId":"404"}"#.to_string(),
        String::new(),
    ]
    .join("\n");
    let (_, messages) = post_ndjson(&server.url(), body).await;
    let defects: Vec<&Value> = messages
        .iter()
        .filter(|m| m["_tag"] == "Defect")
        .map(|m| &m["defect"])
        .collect();
    assert_eq!(defects.len(), 3, "{messages:?}");
    assert_eq!(defects[0]["name"], "SyntaxError");
    assert_eq!(*defects[1], json!("Unknown request tag: Nope"));
    assert_eq!(*defects[2], json!("Invalid request id: 5"));
    assert_eq!(
        die_message(&exit_of(&messages, "6")),
        "Unknown request tag: nope"
    );
    assert!(die_message(&exit_of(&messages, "7")).starts_with("Invalid payload for echo"));
    assert_eq!(exit_of(&messages, "8")["value"], json!({"text": "fine"}));
    assert_eq!(
        exit_of(&messages, "9")["cause"],
        json!({"_tag": "Die", "defect": {"name": "Error", "message": "internal error"}}),
        "a panicking handler is a defect of its call only"
    );
    assert_eq!(
        exit_of(&messages, "10")["cause"],
        json!({"_tag": "Fail", "error": {"_tag": "Unauthorized", "message": "Missing authorization header"}})
    );
    assert_eq!(
        messages.len(),
        3 + 5,
        "nothing answers Ack/Interrupt of unknown ids"
    );
}

#[tokio::test]
async fn http_json_answers_one_array() {
    let server = Server::start(small_limits()).await;
    let (content_type, body) = post(
        &server.url(),
        "application/json",
        request("1", "countTo", json!({"n": 2})),
    )
    .await;
    assert_eq!(content_type, "application/json");
    let body: Value = serde_json::from_slice(&body).unwrap();
    let messages = body.as_array().expect("an array");
    assert_eq!(messages.last().unwrap()["exit"], json!({"_tag": "Success"}));
    assert_eq!(messages[0]["_tag"], "Chunk");

    // An array is not a batch: it is one message without `_tag`.
    let (_, body) = post(&server.url(), "application/json", "[1,2]").await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!([{"_tag": "Defect", "defect": "Unknown request tag: undefined"}])
    );

    // Larger than the frame limit: the sniffed request fails alone.
    let big = request("4", "echo", json!({"text": "x".repeat(5000)}));
    let (_, body) = post(&server.url(), "application/json", big).await;
    let messages: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert!(die_message(&exit_of(&messages, "4")).contains("exceeds the limit of 1024 bytes"));

    // A stream whose JSON answer would outgrow the limit ends with a Die, memory stays bounded.
    let (_, body) = post(
        &server.url(),
        "application/json",
        request("5", "ticks", Value::Null),
    )
    .await;
    let messages: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert!(die_message(&exit_of(&messages, "5")).contains("use NDJSON or WebSocket"));
    let bytes: usize = messages.iter().map(|m| m.to_string().len()).sum();
    assert!(bytes < 2048, "{bytes} bytes");
    server.wait_for_no_stream(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_client_that_goes_away_interrupts_its_http_calls() {
    let server = Server::start(small_limits()).await;
    let response = reqwest::Client::new()
        .post(server.url())
        .header("content-type", "application/ndjson")
        .body(request("1", "ticks", Value::Null) + "\n")
        .send()
        .await
        .unwrap();
    let mut response = response;
    let first = response.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(br#"{"_tag":"Chunk","requestId":"1""#));
    assert_eq!(server.active_streams(), 1);
    drop(response);
    server.wait_for_no_stream(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_and_its_calls_end() {
    let server = Server::start(small_limits()).await;
    let address = server.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let body = request("1", "countTo", json!({"n": 1_000_000_000u64})) + "\n";
    let head = format!(
        "POST /v1/test/rpc HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/ndjson\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body.as_bytes()).await.unwrap();
    // Never read: the server's buffers fill, its send times out, the stream is dropped.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.active_streams(), 1);
    server.wait_for_no_stream(Duration::from_secs(20)).await;
    drop(socket);
}

// ---------------------------------------------------------------------------------------------
// WebSocket.

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Ws {
    socket: Socket,
    pending: VecDeque<Value>,
}

impl Ws {
    async fn connect(server: &Server) -> Ws {
        let url = server.url().replace("http://", "ws://");
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Ws {
            socket,
            pending: VecDeque::new(),
        }
    }

    async fn send(&mut self, line: &str) {
        self.socket
            .send(Message::text(format!("{line}\n")))
            .await
            .unwrap();
    }

    async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.unwrap();
    }

    /// The next RPC message, if one comes within `wait`.
    async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Some(message);
            }
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            match frame.unwrap() {
                Message::Text(text) => {
                    assert!(text.ends_with('\n'), "every line ends with \\n");
                    for line in text.lines() {
                        self.pending.push_back(serde_json::from_str(line).unwrap());
                    }
                }
                Message::Close(frame) => panic!("closed by the server: {frame:?}"),
                _ => {}
            }
        }
    }

    async fn recv(&mut self) -> Value {
        self.recv_within(Duration::from_secs(5))
            .await
            .expect("a message within 5 s")
    }

    /// Messages until the Exit of `id` (included).
    async fn until_exit(&mut self, id: &str) -> Vec<Value> {
        let mut messages = Vec::new();
        loop {
            let message = self.recv().await;
            let done = message["_tag"] == "Exit" && message["requestId"] == id;
            messages.push(message);
            if done {
                return messages;
            }
        }
    }

    /// The close frame's code, reading past anything else (replies, pings).
    async fn close_code(&mut self, within: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("the server closes the socket in time");
            match frame {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

#[tokio::test]
async fn websocket_lines_may_span_frames_and_frames_may_hold_lines() {
    let server = Server::start(small_limits()).await;
    let mut ws = Ws::connect(&server).await;
    let line = request("1", "echo", json!({"text": "héllo 🌍"}));
    let (head, tail) = line.split_at(10);
    ws.send_raw(Message::text(head)).await;
    ws.send_raw(Message::binary(format!(
        "{tail}\n{}\n",
        request("2", "echo", json!({"text": "b"}))
    )))
    .await;
    let first = ws.until_exit("1").await;
    assert_eq!(
        first.last().unwrap()["exit"]["value"]["text"],
        "héllo 🌍",
        "WebSocket lines keep UTF-8"
    );
    ws.until_exit("2").await;
    // Trace fields and a missing `headers` are fine.
    ws.send(r#"{"_tag":"Request","id":"3","tag":"echo","payload":{"text":"t"},"traceId":"932830843a478aa69449f0a010dce03e","spanId":"a451f2a901f51545","sampled":true}"#).await;
    assert_eq!(
        ws.until_exit("3").await.last().unwrap()["exit"]["_tag"],
        "Success"
    );
    ws.send(r#"{"_tag":"Ping"}"#).await;
    assert_eq!(ws.recv().await, json!({"_tag": "Pong"}));
    ws.send(r#"{"_tag":"Eof"}"#).await;
    ws.send(&request("4", "echo", json!({"text": "after eof"})))
        .await;
    ws.until_exit("4").await;
}

#[tokio::test]
async fn websocket_streams_wait_for_each_ack() {
    let server = Server::start(small_limits()).await;
    let mut ws = Ws::connect(&server).await;
    ws.send(&request("1", "ticks", Value::Null)).await;
    for expected in 1..=3 {
        let chunk = ws.recv().await;
        assert_eq!(chunk["_tag"], "Chunk");
        assert_eq!(chunk["values"], json!([expected]));
        assert_eq!(
            ws.recv_within(Duration::from_millis(200)).await,
            None,
            "nothing more before the Ack"
        );
        ws.send(r#"{"_tag":"Ack","requestId":"1"}"#).await;
    }
    ws.send(r#"{"_tag":"Interrupt","requestId":"1"}"#).await;
    ws.until_exit("1").await;

    // Elements already produced travel together; the Exit of a stream has no value.
    ws.send(&request("2", "countTo", json!({"n": 3}))).await;
    assert_eq!(
        ws.recv().await,
        json!({"_tag": "Chunk", "requestId": "2", "values": [1, 2, 3]})
    );
    ws.send(r#"{"_tag":"Ack","requestId":"2"}"#).await;
    assert_eq!(
        ws.recv().await,
        json!({"_tag": "Exit", "requestId": "2", "exit": {"_tag": "Success"}})
    );
}

#[tokio::test]
async fn interrupt_cancels_the_running_handler() {
    let server = Server::start(small_limits()).await;
    let mut ws = Ws::connect(&server).await;
    ws.send(&request("1", "ticks", Value::Null)).await;
    assert_eq!(ws.recv().await["_tag"], "Chunk");
    assert_eq!(server.active_streams(), 1);
    ws.send(r#"{"_tag":"Interrupt","requestId":"1"}"#).await;
    let exit = ws.until_exit("1").await.pop().unwrap();
    assert_eq!(
        exit["exit"],
        json!({"_tag": "Failure", "cause": {"_tag": "Interrupt",
            "fiberId": {"_tag": "Runtime", "id": -499, "startTimeMillis": 0}}})
    );
    server.wait_for_no_stream(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn calls_in_flight_are_limited_per_connection_without_dropping_it() {
    let server = Server::start(small_limits()).await;
    let mut ws = Ws::connect(&server).await;
    // Four streams that wait for Acks hold the four slots.
    for id in 1..=4 {
        ws.send(&request(&id.to_string(), "ticks", Value::Null))
            .await;
        assert_eq!(ws.recv().await["_tag"], "Chunk");
    }
    ws.send(&request("5", "echo", json!({"text": "x"}))).await;
    let refused = ws.until_exit("5").await.pop().unwrap();
    assert!(die_message(&refused["exit"]).contains("Too many requests in flight"));
    // A duplicate id in flight is a protocol error of the client, not a new call.
    ws.send(&request("1", "echo", json!({"text": "x"}))).await;
    assert_eq!(
        ws.recv().await,
        json!({"_tag": "Defect", "defect": "Duplicate request id: 1"})
    );

    ws.send(r#"{"_tag":"Interrupt","requestId":"1"}"#).await;
    ws.until_exit("1").await;
    ws.send(&request("6", "echo", json!({"text": "room again"})))
        .await;
    let exit = ws.until_exit("6").await.pop().unwrap();
    assert_eq!(exit["exit"]["value"]["text"], "room again");
}

#[tokio::test]
async fn oversized_messages_fail_alone_and_the_socket_stays_usable() {
    let server = Server::start(small_limits()).await;
    let mut ws = Ws::connect(&server).await;
    ws.send(&request("1", "echo", json!({"text": "x".repeat(5000)})))
        .await;
    let exit = ws.until_exit("1").await.pop().unwrap();
    assert!(die_message(&exit["exit"]).contains("exceeds the limit of 1024 bytes"));
    // The same, spread over several frames, and with no id to find: a Defect.
    for _ in 0..5 {
        ws.send_raw(Message::text("y".repeat(1000))).await;
    }
    ws.send_raw(Message::text("\n")).await;
    assert_eq!(ws.recv().await["_tag"], "Defect");
    ws.send(&request("2", "echo", json!({"text": "still usable"})))
        .await;
    assert_eq!(
        ws.until_exit("2").await.pop().unwrap()["exit"]["value"]["text"],
        "still usable"
    );
    // Beyond what the socket layer accepts at all: closed with 1009, like the reference.
    ws.send_raw(Message::text("z".repeat(200 * 1024))).await;
    assert_eq!(ws.close_code(Duration::from_secs(5)).await, Some(1009));
}

#[tokio::test]
async fn idle_sockets_are_pinged_then_closed_and_live_ones_stay_open() {
    let limits = RpcLimits {
        idle_timeout: Duration::from_millis(600),
        ..small_limits()
    };
    let server = Server::start(limits).await;

    // A client that reads answers the server's pings (tungstenite does): it stays open.
    let mut live = Ws::connect(&server).await;
    assert_eq!(live.recv_within(Duration::from_millis(1500)).await, None);
    live.send(&request("1", "echo", json!({"text": "alive"})))
        .await;
    live.until_exit("1").await;

    // A silent client that reads nothing gets a ping, then a close (1001).
    let mut silent = Ws::connect(&server).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(silent.close_code(Duration::from_secs(2)).await, Some(1001));
}

#[tokio::test]
async fn a_websocket_client_that_never_reads_is_disconnected() {
    let server = Server::start(small_limits()).await;
    let mut ws = Ws::connect(&server).await;
    let text = json!({"text": "x".repeat(900)});
    // Flood requests without reading a single reply, until the server stops reading too.
    let flood = async {
        for id in 0..50_000 {
            let line = request(&id.to_string(), "echo", text.clone()) + "\n";
            if ws.socket.send(Message::text(line)).await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), flood).await;
    // The server closed the connection: reading drains what was sent, then ends.
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(frame)) = ws.socket.next().await {
            if frame.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the server ends a connection whose client does not read"
    );
    // And it still serves others.
    let mut other = Ws::connect(&server).await;
    other
        .send(&request("1", "echo", json!({"text": "hi"})))
        .await;
    other.until_exit("1").await;
}

// ---------------------------------------------------------------------------------------------
// Configuration.

#[test]
fn limits_come_from_app_rpc_variables() {
    let data = common::DataDir::new();
    let defaults = common::config(&data, &[]).rpc;
    assert_eq!(defaults, RpcLimits::default());
    let vars = [
        ("APP_RPC_MAX_FRAME_BYTES", "4096"),
        ("APP_RPC_MAX_IN_FLIGHT", "8"),
        ("APP_RPC_IDLE_TIMEOUT_SECS", "60"),
        ("APP_RPC_SEND_TIMEOUT_SECS", "5"),
    ];
    let limits = common::config(&data, &vars).rpc;
    assert_eq!(
        limits,
        RpcLimits {
            max_frame_bytes: 4096,
            max_in_flight: 8,
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(5),
        }
    );
    let zero = AppConfig::from_source(&common::vars(&data, &[("APP_RPC_MAX_IN_FLIGHT", "0")]));
    let error = zero.unwrap_err().to_string();
    assert!(error.contains("APP_RPC_MAX_IN_FLIGHT"), "{error}");
}

#[tokio::test]
async fn shutdown_closes_websockets_going_away_and_interrupts_their_calls() {
    let active = ActiveStreams::default();
    let shutdown = rpc::RpcShutdown::new();
    let ctx = Context::new().with(active.clone()).with(shutdown.clone());
    let app = rpc::router([health_group(), group()], ctx, small_limits());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let server = Server { base, active };

    let mut ws = Ws::connect(&server).await;
    ws.send(&request("1", "ticks", json!(null))).await;
    let first = ws.recv().await;
    assert_eq!(first["_tag"], "Chunk", "{first}");
    assert_eq!(server.active_streams(), 1);

    shutdown.trigger();
    assert_eq!(ws.close_code(Duration::from_secs(5)).await, Some(1001));
    server.wait_for_no_stream(Duration::from_secs(5)).await;
    // A socket opened after the shutdown signal is closed at once.
    let mut late = Ws::connect(&server).await;
    assert_eq!(late.close_code(Duration::from_secs(5)).await, Some(1001));
}

//! Random frames against the RPC transports (property test): whatever a client sends, the
//! server never panics, answers only well-formed protocol messages, and the connection keeps
//! serving well-formed calls afterwards (WebSocket) or every POST gets a complete answer (HTTP).
//!
//! Frames mix random bytes, random text, message templates with odd field values, and valid
//! messages cut at random points, so both the NDJSON framing and message decoding are hit.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use proptest::prelude::*;
use runtime_server::rpc::{self, RpcLimits};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared_server::rpc::{health_group, RpcGroup, RpcResult};
use shared_server::Context;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

#[derive(Serialize, Deserialize)]
struct Text {
    text: String,
}

#[derive(Deserialize)]
struct CountTo {
    n: u8,
}

async fn echo(_: Context, payload: Text) -> RpcResult<Text> {
    Ok(payload)
}

async fn count_to(_: Context, p: CountTo) -> RpcResult<impl futures::Stream<Item = RpcResult<u8>>> {
    Ok(futures::stream::iter((1..=p.n).map(Ok)))
}

fn group() -> RpcGroup {
    RpcGroup::new("test")
        .public("echo", echo)
        .public_stream("countTo", count_to)
}

/// One server for all cases of a test, on its own runtime.
fn serve() -> (Runtime, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let limits = RpcLimits {
        max_frame_bytes: 512,
        max_in_flight: 8,
        ..RpcLimits::default()
    };
    let app = rpc::router([health_group(), group()], Context::new(), limits);
    let base = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    });
    (runtime, base)
}

fn json_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("5".to_string()),
        Just("-1".to_string()),
        Just("\"\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("[[\"authorization\",\"Bearer x\"]]".to_string()),
        Just("{\"n\":3}".to_string()),
        Just("{\"text\":\"h\u{e9}\"}".to_string()),
        (0u32..20).prop_map(|id| format!("\"{id}\"")),
        "[a-zA-Z_]{0,8}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn message_tag() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"Request\"".to_string()),
        Just("\"Ack\"".to_string()),
        Just("\"Interrupt\"".to_string()),
        Just("\"Ping\"".to_string()),
        Just("\"Eof\"".to_string()),
        json_fragment(),
    ]
}

fn rpc_tag() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"echo\"".to_string()),
        Just("\"countTo\"".to_string()),
        Just("\"getHealth\"".to_string()),
        json_fragment(),
    ]
}

/// A message-shaped object whose fields take odd values.
fn templated() -> impl Strategy<Value = String> {
    (
        message_tag(),
        json_fragment(),
        rpc_tag(),
        json_fragment(),
        json_fragment(),
    )
        .prop_map(|(tag, id, rpc, payload, headers)| {
            format!(
                r#"{{"_tag":{tag},"id":{id},"requestId":{id},"tag":{rpc},"payload":{payload},"headers":{headers}}}"#
            )
        })
}

/// Bytes of one frame; lines may be left unterminated.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        ".{0,48}".prop_map(String::into_bytes),
        templated().prop_map(|t| format!("{t}\n").into_bytes()),
        (templated(), 0usize..80).prop_map(|(t, cut)| t.as_bytes()[..cut.min(t.len())].to_vec()),
        (0usize..700).prop_map(|n| vec![b'x'; n]),
        Just(b"\n".to_vec()),
    ]
}

/// Every line the server wrote is a protocol message.
fn assert_well_formed(line: &str) {
    let message: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("the server wrote invalid JSON ({e}): {line}"));
    let tag = message["_tag"].as_str().unwrap_or_default();
    assert!(
        ["Chunk", "Exit", "Defect", "Pong"].contains(&tag),
        "unexpected message {line}"
    );
}

const PROBE: &str =
    r#"{"_tag":"Request","id":"4242","tag":"echo","payload":{"text":"probe"},"headers":[]}"#;

/// Enough cases to cover every kind of frame and their mixes, in a few seconds.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(64)
}

#[test]
fn random_websocket_frames_never_break_the_connection() {
    let (runtime, base) = serve();
    let url = format!("{base}/v1/test/rpc").replace("http://", "ws://");
    proptest!(config(), |(frames in proptest::collection::vec(frame(), 1..8))| {
        runtime.block_on(async {
            let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
            for frame in frames {
                let message = match String::from_utf8(frame) {
                    Ok(text) => Message::text(text),
                    Err(bytes) => Message::binary(bytes.into_bytes()),
                };
                socket.send(message).await.unwrap();
            }
            // End whatever line is pending, then a well-formed call must still be answered.
            socket.send(Message::text(format!("\n{PROBE}\n"))).await.unwrap();
            let answered = tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(frame) = socket.next().await {
                    let Ok(Message::Text(text)) = frame else { continue };
                    for line in text.lines() {
                        assert_well_formed(line);
                        if line.contains(r#""requestId":"4242""#) && line.contains(r#""_tag":"Exit""#) {
                            assert!(line.contains("probe"), "{line}");
                            return true;
                        }
                    }
                }
                false
            })
            .await;
            assert_eq!(answered, Ok(true), "the connection still serves calls");
        });
    });
}

#[test]
fn random_http_bodies_always_get_a_complete_answer() {
    let (runtime, base) = serve();
    let url = format!("{base}/v1/test/rpc");
    let client = reqwest::Client::new();
    proptest!(config(), |(frames in proptest::collection::vec(frame(), 1..6), ndjson in any::<bool>())| {
        runtime.block_on(async {
            let content_type = if ndjson { "application/ndjson" } else { "application/json" };
            let mut body = frames.concat();
            if ndjson {
                // After whatever came before, a well-formed call must still be answered.
                body.extend_from_slice(format!("\n{PROBE}\n").as_bytes());
            }
            let response = client
                .post(url.as_str())
                .header("content-type", content_type)
                .body(body)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let text = response.text().await.unwrap();
            if ndjson {
                assert!(text.ends_with('\n'));
                text.lines().for_each(assert_well_formed);
                assert!(
                    text.lines().any(|l| l.contains(r#""requestId":"4242""#) && l.contains("probe")),
                    "the probe was answered: {text}"
                );
            } else {
                let replies: Vec<Value> = serde_json::from_str(&text).unwrap();
                replies.iter().for_each(|m| assert_well_formed(&m.to_string()));
            }
        });
    });
}

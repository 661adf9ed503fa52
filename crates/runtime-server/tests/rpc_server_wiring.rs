//! RPC endpoints inside the composed server: mounted as extra routes, they still stream through
//! the whole middleware stack (request ids, CORS, security headers, compression) and upgrade to
//! WebSocket; and the slices' own groups are served at `/v1/<group>/rpc`.

mod common;

use std::time::Duration;

use futures::stream::{self, Stream};
use futures::{SinkExt, StreamExt};
use runtime_server::rpc::{self, RpcLimits};
use runtime_server::{server_layer_with, ExtraRoutes, HttpServer, ServerRuntime};
use shared_server::rpc::{RpcGroup, RpcResult};
use shared_server::Context;
use tokio_tungstenite::tungstenite::Message;

/// An endless stream: only an interruption ends it.
async fn ticks(_: Context, _: ()) -> RpcResult<impl Stream<Item = RpcResult<u64>>> {
    Ok(stream::unfold(1u64, |next| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Some((Ok(next), next + 1))
    }))
}

async fn start(extra: ExtraRoutes) -> (ServerRuntime, String, common::DataDir) {
    let data = common::DataDir::new();
    let runtime = ServerRuntime::new(server_layer_with(common::config(&data, &[]), extra));
    let ctx = runtime.context().await.expect("server starts");
    let base = ctx.get::<HttpServer>().unwrap().base_url.clone();
    (runtime, base, data)
}

#[tokio::test]
async fn extra_rpc_routes_stream_through_the_middleware_stack() {
    let group = RpcGroup::new("test").public_stream("ticks", ticks);
    let extra = ExtraRoutes {
        public: rpc::router([group], Context::new(), RpcLimits::default()),
        ..ExtraRoutes::default()
    };
    let (runtime, base, _data) = start(extra).await;

    // HTTP NDJSON: lines arrive while the stream runs, whatever the client accepts.
    let mut response = reqwest::Client::new()
        .post(format!("{base}/v1/test/rpc"))
        .header("content-type", "application/ndjson")
        .header("accept-encoding", "gzip, deflate")
        .body("{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"ticks\",\"headers\":[]}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.headers()["content-type"], "application/ndjson");
    let first = tokio::time::timeout(Duration::from_secs(5), response.chunk())
        .await
        .expect("the first Chunk is not held back (e.g. by compression)")
        .unwrap()
        .unwrap();
    assert!(
        first.starts_with(b"{\"_tag\":\"Chunk\",\"requestId\":\"1\""),
        "uncompressed NDJSON: {first:?}"
    );
    drop(response);

    // WebSocket: the upgrade passes the stack.
    let url = format!("{base}/v1/test/rpc").replace("http://", "ws://");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(Message::text("{\"_tag\":\"Ping\"}\n"))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::text("{\"_tag\":\"Pong\"}\n"));
    drop(socket);
    runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn the_shared_group_is_served_by_the_composed_server() {
    let (runtime, base, _data) = start(ExtraRoutes::default()).await;
    let body = reqwest::Client::new()
        .post(format!("{base}/v1/shared/rpc"))
        .header("content-type", "application/json")
        .body(r#"{"_tag":"Request","id":"1","tag":"getHealth","headers":[]}"#)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        body,
        r#"[{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{"status":"ok"}}}]"#
    );
    runtime.dispose().await.unwrap();
}

//! A client closing its RPC WebSocket (issue 20, effect-rpc-protocol.md §4.2): the server echoes
//! the close frame, so the client sees its own code 1000 (not 1006, an abnormal end), and the
//! connection's running stream and in-flight call are ended (their handlers are dropped).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream};
use futures::{SinkExt, StreamExt};
use runtime_server::rpc::{self, RpcLimits};
use runtime_server::{server_layer_with, ExtraRoutes, HttpServer, ServerRuntime};
use shared_server::rpc::{RpcGroup, RpcResult};
use shared_server::Context;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Counts the handlers (stream or call) that were dropped, i.e. ended by the server.
#[derive(Clone, Default)]
struct Ended(Arc<AtomicUsize>);

/// Held by a running handler; counts when the handler is dropped.
struct EndsOnDrop(Ended);

impl Drop for EndsOnDrop {
    fn drop(&mut self) {
        self.0 .0.fetch_add(1, Ordering::SeqCst);
    }
}

fn group(ended: Ended) -> RpcGroup {
    let for_stream = ended.clone();
    RpcGroup::new("close")
        .public_stream("ticks", move |_: Context, _: ()| {
            let guard = EndsOnDrop(for_stream.clone());
            async move { ticks(guard) }
        })
        .public("hang", move |_: Context, _: ()| {
            let guard = EndsOnDrop(ended.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                RpcResult::<()>::Ok(())
            }
        })
}

/// An endless stream holding `guard`.
fn ticks(guard: EndsOnDrop) -> RpcResult<impl Stream<Item = RpcResult<u64>>> {
    Ok(stream::unfold((1u64, guard), |(next, guard)| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Some((Ok(next), (next + 1, guard)))
    }))
}

#[tokio::test]
async fn a_client_close_is_echoed_and_ends_the_connections_calls() {
    let ended = Ended::default();
    let extra = ExtraRoutes {
        public: rpc::router([group(ended.clone())], Context::new(), RpcLimits::default()),
        ..ExtraRoutes::default()
    };
    let data = common::DataDir::new();
    let runtime = ServerRuntime::new(server_layer_with(common::config(&data, &[]), extra));
    let ctx = runtime.context().await.expect("server starts");
    let base = ctx.get::<HttpServer>().unwrap().base_url.clone();

    let url = format!("{base}/v1/close/rpc").replace("http://", "ws://");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    for line in [
        "{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"ticks\",\"headers\":[]}\n",
        "{\"_tag\":\"Request\",\"id\":\"2\",\"tag\":\"hang\",\"headers\":[]}\n",
    ] {
        socket.send(Message::text(line)).await.unwrap();
    }
    // The stream runs: its first Chunk arrives (and waits for an Ack that never comes).
    let first = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a Chunk")
        .unwrap()
        .unwrap();
    assert!(
        first
            .to_text()
            .unwrap()
            .starts_with("{\"_tag\":\"Chunk\",\"requestId\":\"1\""),
        "{first:?}"
    );

    socket
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })))
        .await
        .unwrap();
    let mut echoed = None;
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = socket.next().await {
            match frame {
                Ok(Message::Close(frame)) => echoed = Some(frame),
                Ok(other) => panic!("nothing may follow the client's close: {other:?}"),
                Err(error) => return Err(error.to_string()),
            }
        }
        Ok(())
    })
    .await
    .expect("the server completes the closing handshake");
    assert!(answer.is_ok(), "the connection ends cleanly: {answer:?}");
    let echoed = echoed.expect("the server echoes the close frame");
    assert_eq!(
        echoed.map(|frame| frame.code),
        Some(CloseCode::Normal),
        "the client sees code 1000"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ended.0.load(Ordering::SeqCst) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream and the in-flight call end with the connection ({} of 2)",
            ended.0.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    runtime.dispose().await.unwrap();
}

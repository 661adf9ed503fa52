//! SIGTERM while requests are in flight: the server stops accepting, every in-flight request
//! completes, then the runtime is disposed. (Own test binary: it signals its own process.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use runtime_server::{server_layer_with, ExtraRoutes, HttpServer, ServerRuntime, ShutdownSignals};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish() {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let extra = ExtraRoutes {
        public: axum::Router::new().route(
            "/slow",
            get(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(800)).await;
                    "done"
                }
            }),
        ),
        ..ExtraRoutes::default()
    };
    let data = common::DataDir::new();
    let runtime = ServerRuntime::new(server_layer_with(common::config(&data, &[]), extra));
    let base = runtime
        .context()
        .await
        .unwrap()
        .get::<HttpServer>()
        .unwrap()
        .base_url
        .clone();
    let signals = ShutdownSignals::install().unwrap();

    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/slow");
            tokio::spawn(async move { client.get(url).send().await?.text().await })
        })
        .collect();
    while started.load(Ordering::SeqCst) < 8 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let pid = std::process::id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(5), signals.wait_then_arm_force_exit())
        .await
        .expect("SIGTERM received");
    runtime.dispose().await.unwrap();

    for request in requests {
        assert_eq!(
            request.await.unwrap().unwrap(),
            "done",
            "an in-flight request was cut"
        );
    }
    assert!(
        reqwest::get(format!("{base}/v1/health")).await.is_err(),
        "new connections are refused after shutdown"
    );
}

/// Disposing the server closes open RPC WebSockets (1001) instead of leaving them to the
/// process's exit, and the drain does not wait for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispose_closes_rpc_websockets() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let data = common::DataDir::new();
    let runtime = ServerRuntime::new(server_layer_with(
        common::config(&data, &[("APP_SHUTDOWN_TIMEOUT_SECS", "20")]),
        ExtraRoutes::default(),
    ));
    let base = runtime
        .context()
        .await
        .unwrap()
        .get::<HttpServer>()
        .unwrap()
        .base_url
        .clone();
    let url = format!("{}/v1/shared/rpc", base.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(Message::text(
            "{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"getHealth\",\"headers\":[]}\n",
        ))
        .await
        .unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains("\"Exit\""), "{reply:?}");

    let started = std::time::Instant::now();
    let disposing = tokio::spawn(async move { runtime.dispose().await });
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the socket is closed in time");
    assert_eq!(close, Some(1001));
    disposing.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "dispose did not wait out the drain timeout for the socket: {:?}",
        started.elapsed()
    );
}

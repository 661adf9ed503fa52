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
        protected: axum::Router::new(),
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

//! The production HTTP stack, black-box on port 0: CORS rules, request ids, error envelopes for
//! every kind of bad input (oversized body, slow client, unknown route, wrong method, bad JSON,
//! panicking handler), security headers, compression and the Prometheus endpoint.

mod common;

use std::time::Duration;

use axum::routing::{get, post};
use axum::Json;
use runtime_server::{server_layer_with, ExtraRoutes, HttpServer, ServerRuntime};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn test_routes() -> ExtraRoutes {
    ExtraRoutes {
        public: axum::Router::new()
            .route("/test/echo", post(|body: String| async move { body }))
            .route(
                "/test/json",
                post(|Json(v): Json<Value>| async move { Json(v) }),
            )
            .route(
                "/test/big",
                get(|| async {
                    Json(serde_json::json!({ "items": vec!["compressible text"; 500] }))
                }),
            )
            .route(
                "/test/panic",
                get(|| async {
                    if true {
                        panic!("database invariant broken: secret detail");
                    }
                    "unreachable"
                }),
            ),
        ..ExtraRoutes::default()
    }
}

struct Server {
    runtime: ServerRuntime,
    base: String,
    _data: common::DataDir,
}

async fn start(vars: &[(&str, &str)]) -> Server {
    let data = common::DataDir::new();
    let runtime = ServerRuntime::new(server_layer_with(
        common::config(&data, vars),
        test_routes(),
    ));
    let ctx = runtime.context().await.expect("server starts");
    let base = ctx.get::<HttpServer>().unwrap().base_url.clone();
    Server {
        runtime,
        base,
        _data: data,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

async fn envelope(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "status {status}"
    );
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["code"].as_str().unwrap().to_string(),
        body["message"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn cors_follows_the_original_rules() {
    let allow_origin = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };
    // No trusted origins: `*`.
    let server = start(&[]).await;
    let r = client()
        .get(format!("{}/v1/health", server.base))
        .header("origin", "https://x.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allow_origin(&r).as_deref(), Some("*"));
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/any/path/at/all", server.base),
        )
        .header("origin", "https://x.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET, POST, PUT, DELETE, PATCH"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "Content-Type, Authorization, B3, traceparent, x-captcha-response, x-captcha-user-remote-ip"
    );
    let malformed = client()
        .get(format!("{}/v1/health", server.base))
        .header("origin", "not an origin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allow_origin(&malformed),
        None,
        "malformed Origin: no CORS headers"
    );
    assert!(malformed
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    server.runtime.dispose().await.unwrap();

    // One trusted origin: always that one.
    let server = start(&[("SECURITY_TRUSTED_ORIGINS", "https://app.example.com/")]).await;
    let r = client()
        .get(format!("{}/v1/health", server.base))
        .header("origin", "https://other.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allow_origin(&r).as_deref(), Some("https://app.example.com"));
    server.runtime.dispose().await.unwrap();

    // Several: echoed only when listed, with Vary: Origin.
    let server = start(&[(
        "SECURITY_TRUSTED_ORIGINS",
        "https://a.example.com,https://b.example.com",
    )])
    .await;
    let listed = client()
        .get(format!("{}/v1/health", server.base))
        .header("origin", "https://b.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allow_origin(&listed).as_deref(),
        Some("https://b.example.com")
    );
    assert!(listed
        .headers()
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().contains("Origin")));
    let unlisted = client()
        .get(format!("{}/v1/health", server.base))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allow_origin(&unlisted), None);
    server.runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn request_ids_are_returned_and_caller_ids_kept() {
    let server = start(&[]).await;
    let generated = client()
        .get(format!("{}/v1/ready", server.base))
        .send()
        .await
        .unwrap();
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 32);
    let kept = client()
        .get(format!("{}/v1/ready", server.base))
        .header("x-request-id", "req-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "req-abc-123");
    let replaced = client()
        .get(format!("{}/v1/ready", server.base))
        .header("x-request-id", "has spaces in it")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "has spaces in it");
    server.runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn bad_input_gets_the_envelope_and_the_server_stays_up() {
    let server = start(&[
        ("APP_BODY_LIMIT_BYTES", "1024"),
        ("APP_REQUEST_TIMEOUT_SECS", "1"),
    ])
    .await;
    let base = &server.base;

    let (status, code, _) = envelope(
        client()
            .get(format!("{base}/v1/nope"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "not_found"));

    let (status, code, _) = envelope(
        client()
            .delete(format!("{base}/v1/ready"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (405, "method_not_allowed"));

    let (status, code, _) = envelope(
        client()
            .post(format!("{base}/test/echo"))
            .body(vec![b'x'; 4096])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    let small = client()
        .post(format!("{base}/test/echo"))
        .body("fits")
        .send()
        .await
        .unwrap();
    assert_eq!(small.text().await.unwrap(), "fits");

    let (status, code, message) = envelope(
        client()
            .post(format!("{base}/test/json"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "bad_request"));
    assert!(message.contains("JSON"), "actionable message: {message}");
    let (status, code, _) = envelope(
        client()
            .post(format!("{base}/test/json"))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (415, "unsupported_media_type"));

    let (status, code, message) = envelope(
        client()
            .get(format!("{base}/test/panic"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (500, "internal_error", "Internal server error")
    );

    // A slow client: announces a body and trickles it; the timeout answers 408.
    let address = base.strip_prefix("http://").unwrap();
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket
        .write_all(
            format!("POST /test/echo HTTP/1.1\r\nHost: {address}\r\nContent-Length: 100\r\n\r\nab")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 1024];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&response).contains("\"code\"") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answered the slow client");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");

    let health = client()
        .get(format!("{base}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the server stays up");
    server.runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn security_headers_compression_and_hsts_in_prod() {
    let server = start(&[]).await;
    let r = client()
        .get(format!("{}/test/big", server.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(
        r.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    assert!(r.headers().get("strict-transport-security").is_none());
    server.runtime.dispose().await.unwrap();

    let secret = "0123456789abcdef0123456789abcdef";
    let server = start(&[
        ("APP_ENV", "prod"),
        ("BETTER_AUTH_SECRET", secret),
        ("UPLOAD_SIGNING_SECRET", secret),
        ("EMAIL_TRANSPORT", "log"),
        ("EMAIL_FROM", "App <no-reply@example.com>"),
    ])
    .await;
    let r = client()
        .get(format!("{}/v1/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    server.runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn metrics_endpoint_is_scrapable() {
    let server = start(&[]).await;
    for _ in 0..3 {
        client()
            .get(format!("{}/v1/ready", server.base))
            .send()
            .await
            .unwrap();
    }
    client()
        .get(format!("{}/v1/missing", server.base))
        .send()
        .await
        .unwrap();
    let text = client()
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut samples = std::collections::HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, value) = line.rsplit_once(' ').expect("`name value` lines");
        samples.insert(
            name.to_string(),
            value.parse::<f64>().expect("numeric sample"),
        );
    }
    let ready = samples
        .iter()
        .find(|(k, _)| {
            k.starts_with("http_requests_total{")
                && k.contains("route=\"/v1/ready\"")
                && k.contains("status=\"200\"")
        })
        .map(|(_, v)| *v)
        .expect("request counter for /v1/ready");
    assert!(ready >= 3.0, "{ready}");
    assert!(samples
        .keys()
        .any(|k| k.contains("route=\"unmatched\"") && k.contains("status=\"404\"")));
    assert!(samples
        .keys()
        .any(|k| k.starts_with("http_request_duration_seconds_bucket{")
            && k.contains("le=\"0.005\"")));
    assert!(samples.contains_key("http_requests_in_flight"));
    assert!(samples
        .get("db_pool_max_connections")
        .is_some_and(|v| *v >= 1.0));
    server.runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn request_ids_stay_unique_across_10k_requests() {
    let server = start(&[]).await;
    let client = client();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, url) = (client.clone(), format!("{}/v1/health", server.base));
        tasks.spawn(async move {
            let mut ids = Vec::with_capacity(1250);
            for _ in 0..1250 {
                let response = client.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                ids.push(
                    response.headers()["x-request-id"]
                        .to_str()
                        .unwrap()
                        .to_string(),
                );
            }
            ids
        });
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(ids) = tasks.join_next().await {
        for id in ids.unwrap() {
            assert_eq!(id.len(), 32, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
            assert!(seen.insert(id.clone()), "duplicate request id {id}");
        }
    }
    assert_eq!(seen.len(), 10_000);
    server.runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn small_bodies_are_not_compressed_and_preflights_carry_request_ids() {
    let server = start(&[]).await;
    let small = client()
        .get(format!("{}/v1/ready", server.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    assert!(small.headers().get("content-encoding").is_none());
    assert_eq!(small.headers()["x-content-type-options"], "nosniff");
    let body: Value = small.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/ready", server.base),
        )
        .header("origin", "https://x.example.com")
        .header("x-request-id", "preflight-1")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["x-request-id"], "preflight-1");
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    server.runtime.dispose().await.unwrap();
}

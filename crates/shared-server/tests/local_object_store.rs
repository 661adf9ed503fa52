//! Black-box tests of the local object store: the `ObjectStore` contract on a temp directory, and
//! its presigned URLs exercised over real HTTP (axum on 127.0.0.1:0, reqwest as the client).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use shared_server::storage::{
    object_routes, LocalObjectStore, ObjectMeta, ObjectStore, StorageError,
};
use tempfile::TempDir;

const SECRET: &[u8] = b"test signing secret";
const KEY: &str = "/dev/tenants/ab/individual/org1/user/u1/avatar/2026/01/shared_file__1.png";

fn store(dir: &TempDir) -> LocalObjectStore {
    LocalObjectStore::new(dir.path().join("objects"), SECRET.to_vec(), "http://unused")
        .expect("store opens")
}

/// Serves `object_routes` on an ephemeral port and points the store's URLs at it.
async fn serve(store: LocalObjectStore) -> Arc<LocalObjectStore> {
    let store = Arc::new(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    store.set_base_url(&format!("http://{addr}/"));
    let app = object_routes(Arc::clone(&store));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    store
}

/// Sends a presigned request with its headers (plus `extra` ones) and `body`.
async fn send(
    request: &shared_server::storage::PresignedRequest,
    extra: &[(&str, &str)],
    body: Vec<u8>,
) -> reqwest::Response {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
    let mut builder = client.request(method, &request.url);
    for (name, value) in &request.headers {
        if !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            builder = builder.header(name, value);
        }
    }
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    builder.body(body).send().await.expect("request sent")
}

async fn error_code(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body["code"].as_str().expect("code").to_owned()
}

/// `url` with the query parameter `name` set to `value` (presigned URLs carry plain values).
fn with_query_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').expect("query");
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == name => format!("{k}={value}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn query_param(url: &str, name: &str) -> String {
    let (_, query) = url.split_once('?').expect("query");
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .expect("parameter present")
        .to_owned()
}

#[tokio::test]
async fn put_get_head_delete_round_trip() {
    let dir = TempDir::new().expect("temp dir");
    let store = store(&dir);
    assert_eq!(store.backend(), "local");
    store.check().await.expect("fresh store is ready");

    store
        .put(KEY, Bytes::from_static(b"png bytes"), Some("image/png"))
        .await
        .expect("put");

    let object = store.get(KEY).await.expect("get");
    assert_eq!(object.body, Bytes::from_static(b"png bytes"));
    assert_eq!(object.size, 9);
    assert_eq!(object.content_type.as_deref(), Some("image/png"));

    // The same object without the leading slash.
    let meta = store.head(&KEY[1..]).await.expect("head");
    assert_eq!(
        meta,
        Some(ObjectMeta {
            size: 9,
            content_type: Some("image/png".into())
        })
    );
    assert!(dir.path().join("objects/objects").join(&KEY[1..]).is_file());

    // Overwrite: new bytes, no content type.
    store
        .put(KEY, Bytes::from_static(b"v2"), None)
        .await
        .expect("overwrite");
    let object = store.get(KEY).await.expect("get v2");
    assert_eq!(object.body, Bytes::from_static(b"v2"));
    assert_eq!(object.content_type, None);

    store.delete(KEY).await.expect("delete");
    assert_eq!(store.head(KEY).await.expect("head after delete"), None);
    store
        .delete(KEY)
        .await
        .expect("deleting a missing key is ok");

    // Nothing is left behind in the upload area.
    let leftovers = std::fs::read_dir(dir.path().join("objects/tmp"))
        .expect("tmp dir")
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn delete_many_removes_every_key() {
    let dir = TempDir::new().expect("temp dir");
    let store = store(&dir);
    let keys: Vec<String> = (0..3).map(|i| format!("/dev/many/{i}.txt")).collect();
    for key in &keys {
        store
            .put(key, Bytes::from_static(b"x"), Some("text/plain"))
            .await
            .expect("put");
    }
    store
        .put("/dev/keep.txt", Bytes::from_static(b"k"), None)
        .await
        .expect("put");

    let mut to_delete = keys.clone();
    to_delete.push("/dev/many/missing.txt".into());
    store.delete_many(&to_delete).await.expect("delete_many");

    for key in &keys {
        assert_eq!(store.head(key).await.expect("head"), None, "{key}");
    }
    assert!(store.head("/dev/keep.txt").await.expect("head").is_some());

    // One invalid key rejects the whole batch before anything is deleted.
    let err = store
        .delete_many(&["/dev/keep.txt".into(), "/dev/../x".into()])
        .await
        .expect_err("invalid key in batch");
    assert!(matches!(err, StorageError::InvalidKey { .. }), "{err:?}");
    assert!(store.head("/dev/keep.txt").await.expect("head").is_some());
}

#[tokio::test]
async fn missing_keys_are_not_found() {
    let dir = TempDir::new().expect("temp dir");
    let store = store(&dir);

    let err = store.get("/dev/nothing.bin").await.expect_err("missing");
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        err,
        StorageError::NotFound {
            key: "/dev/nothing.bin".into()
        }
    );
    assert_eq!(store.head("/dev/nothing.bin").await.expect("head"), None);

    // A "directory" of other objects is not an object.
    store
        .put("/dev/dir/file.txt", Bytes::from_static(b"x"), None)
        .await
        .expect("put");
    assert!(store.get("/dev/dir").await.is_err_and(|e| e.is_not_found()));
    assert_eq!(store.head("/dev/dir").await.expect("head"), None);
}

#[tokio::test]
async fn path_escaping_and_malformed_keys_are_rejected() {
    let dir = TempDir::new().expect("temp dir");
    let store = store(&dir);
    let too_long = format!("/{}", "a".repeat(1025));
    for key in [
        "",
        "/",
        "../escape.txt",
        "/dev/../../escape.txt",
        "/dev/./x",
        "/dev//x",
        "dev\\..\\x",
        "/dev/x\0y",
        too_long.as_str(),
    ] {
        let err = store
            .put(key, Bytes::from_static(b"x"), None)
            .await
            .expect_err("rejected");
        assert!(
            matches!(err, StorageError::InvalidKey { .. }),
            "{key:?}: {err:?}"
        );
        assert!(matches!(
            store.get(key).await,
            Err(StorageError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.presign_get(key, Duration::from_secs(60)).await,
            Err(StorageError::InvalidKey { .. })
        ));
    }
    assert!(!dir.path().join("escape.txt").exists());
    assert!(!dir.path().join("objects/escape.txt").exists());
}

#[tokio::test]
async fn presigned_put_then_get_over_http() {
    let dir = TempDir::new().expect("temp dir");
    let store = serve(store(&dir)).await;
    let key = "/dev/uploads/a file+name.txt";
    let body = b"hello from the client".to_vec();

    let put = store
        .presign_put(key, "text/plain", None, Duration::from_secs(300))
        .await
        .expect("presign put");
    assert_eq!(put.method, "PUT");
    assert!(put
        .url
        .contains("/v1/shared/objects/dev/uploads/a%20file%2Bname.txt?expires="));
    assert_eq!(
        put.headers,
        vec![("Content-Type".into(), "text/plain".into())]
    );
    let ttl = put.expires_at - chrono::Utc::now();
    assert!(ttl > chrono::Duration::seconds(290) && ttl <= chrono::Duration::seconds(301));

    let response = send(&put, &[], body.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // MD5("hello from the client"), computed independently.
    assert_eq!(
        etag.as_deref(),
        Some("\"543307cc9d21ec70a29fa14306ef38fd\"")
    );

    let stored = store.get(key).await.expect("stored through HTTP");
    assert_eq!(stored.body, Bytes::from(body.clone()));
    assert_eq!(stored.content_type.as_deref(), Some("text/plain"));

    let get = store
        .presign_get(key, Duration::from_secs(60))
        .await
        .expect("presign get");
    let response = send(&get, &[], Vec::new()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/plain"[..])
    );
    assert_eq!(
        response
            .headers()
            .get("content-length")
            .map(|v| v.as_bytes()),
        Some(body.len().to_string().as_bytes())
    );
    assert_eq!(response.bytes().await.expect("body").as_ref(), &body[..]);

    // A GET URL does not authorize a PUT to the same key.
    let response = send(
        &shared_server::storage::PresignedRequest {
            method: "PUT",
            headers: vec![("Content-Type".into(), "text/plain".into())],
            ..get.clone()
        },
        &[],
        b"overwrite".to_vec(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "signature_invalid");
}

#[tokio::test]
async fn tampered_signature_key_or_expiry_is_refused() {
    let dir = TempDir::new().expect("temp dir");
    let store = serve(store(&dir)).await;
    store
        .put("/dev/a.txt", Bytes::from_static(b"a"), Some("text/plain"))
        .await
        .expect("put");
    let get = store
        .presign_get("/dev/a.txt", Duration::from_secs(60))
        .await
        .expect("presign get");

    let signature = query_param(&get.url, "signature");
    assert_eq!(signature.len(), 64);
    let flipped = format!(
        "{}{}",
        if signature.starts_with('0') { '1' } else { '0' },
        &signature[1..]
    );

    let tampered = [
        with_query_param(&get.url, "signature", &flipped),
        with_query_param(&get.url, "signature", "not-hex"),
        with_query_param(&get.url, "expires", "99999999999"),
        get.url.replace("/dev/a.txt", "/dev/b.txt"),
        get.url.split('?').next().expect("base").to_owned(),
    ];
    for url in tampered {
        let request = shared_server::storage::PresignedRequest {
            url: url.clone(),
            ..get.clone()
        };
        let response = send(&request, &[], Vec::new()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{url}");
        assert_eq!(error_code(response).await, "signature_invalid", "{url}");
    }

    // A URL signed with another secret is refused too.
    let other = LocalObjectStore::new(
        dir.path().join("other"),
        b"another secret".to_vec(),
        store.base_url(),
    )
    .expect("other store");
    let forged = other
        .presign_get("/dev/a.txt", Duration::from_secs(60))
        .await
        .expect("presign");
    let response = send(&forged, &[], Vec::new()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The untampered URL still works.
    let response = send(&get, &[], Vec::new()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn expired_urls_are_refused() {
    let dir = TempDir::new().expect("temp dir");
    let store = serve(store(&dir)).await;
    let put = store
        .presign_put("/dev/late.txt", "text/plain", None, Duration::from_secs(1))
        .await
        .expect("presign put");
    let get = store
        .presign_get("/dev/late.txt", Duration::from_secs(1))
        .await
        .expect("presign get");
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let response = send(&put, &[], b"late".to_vec()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "url_expired");
    assert_eq!(store.head("/dev/late.txt").await.expect("head"), None);

    let response = send(&get, &[], Vec::new()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "url_expired");
}

#[tokio::test]
async fn wrong_content_type_is_refused() {
    let dir = TempDir::new().expect("temp dir");
    let store = serve(store(&dir)).await;
    let put = store
        .presign_put("/dev/img.png", "image/png", None, Duration::from_secs(60))
        .await
        .expect("presign put");

    let response = send(&put, &[("Content-Type", "text/html")], b"<script>".to_vec()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "signature_invalid");
    assert_eq!(store.head("/dev/img.png").await.expect("head"), None);

    // Same URL with the signed content type succeeds.
    let response = send(&put, &[], b"png".to_vec()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn content_md5_is_enforced_when_signed() {
    let dir = TempDir::new().expect("temp dir");
    let store = serve(store(&dir)).await;
    let body = b"exact bytes".to_vec();
    // MD5("exact bytes"), computed independently; the client may give it as hex.
    let hex_md5 = "4710f657835a0dd125073a54344e6ed0";
    let put = store
        .presign_put(
            "/dev/md5.bin",
            "application/octet-stream",
            Some(hex_md5),
            Duration::from_secs(60),
        )
        .await
        .expect("presign put");
    let signed_md5 = put
        .headers
        .iter()
        .find(|(name, _)| name == "Content-MD5")
        .map(|(_, value)| value.clone())
        .expect("Content-MD5 header is required");
    assert_eq!(signed_md5, "RxD2V4NaDdElBzpUNE5u0A==");

    // Without the signed Content-MD5 header: refused.
    let response = reqwest::Client::new()
        .put(&put.url)
        .header("Content-Type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Signed header, but the body differs: the digest does not match.
    let response = send(&put, &[], b"other bytes".to_vec()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "bad_digest");
    assert_eq!(store.head("/dev/md5.bin").await.expect("head"), None);

    let response = send(&put, &[], body.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        store.get("/dev/md5.bin").await.expect("get").body,
        Bytes::from(body)
    );
}

#[tokio::test]
async fn get_of_a_missing_object_is_404() {
    let dir = TempDir::new().expect("temp dir");
    let store = serve(store(&dir)).await;
    let get = store
        .presign_get("/dev/never-uploaded.txt", Duration::from_secs(60))
        .await
        .expect("presign get");
    let response = send(&get, &[], Vec::new()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "object_not_found");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let dir = TempDir::new().expect("temp dir");
    let store = serve(store(&dir).with_max_upload_bytes(16)).await;
    let put = store
        .presign_put(
            "/dev/big.bin",
            "application/octet-stream",
            None,
            Duration::from_secs(60),
        )
        .await
        .expect("presign put");

    let response = send(&put, &[], vec![7u8; 17]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(response).await, "payload_too_large");
    assert_eq!(store.head("/dev/big.bin").await.expect("head"), None);

    let response = send(&put, &[], vec![7u8; 16]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        store
            .head("/dev/big.bin")
            .await
            .expect("head")
            .map(|m| m.size),
        Some(16)
    );
}

#[tokio::test]
async fn invalid_keys_in_the_path_are_400() {
    let dir = TempDir::new().expect("temp dir");
    let store = serve(store(&dir)).await;
    // `%5C` decodes to a backslash on the server.
    let url = format!(
        "{}/v1/shared/objects/dev/..%5C..%5Cetc/passwd?expires=1&signature=00",
        store.base_url()
    );
    let response = reqwest::get(&url).await.expect("sent");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "invalid_key");

    // HTTP clients resolve `..` themselves, so send the raw request line.
    let response = raw_get(&store.base_url(), "/v1/shared/objects/dev/../../etc/passwd").await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("\"invalid_key\""), "{response}");
}

/// A GET written byte for byte on a fresh connection; returns the whole response as text.
async fn raw_get(base_url: &str, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

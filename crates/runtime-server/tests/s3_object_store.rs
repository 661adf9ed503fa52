//! `S3ObjectStore` against a real S3 protocol server started in-process: s3s + s3s-fs on
//! 127.0.0.1:0 with SigV4 authentication, serving a temp directory (one subdirectory per bucket).
//! Presigned URLs are exercised with reqwest, a plain HTTP client that knows nothing about S3.

use std::time::Duration;

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use reqwest::StatusCode;
use runtime_server::persistence::s3::{S3Config, S3ObjectStore};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use shared_server::storage::{ObjectMeta, ObjectStore, PresignedRequest, StorageError};
use tempfile::TempDir;

const ACCESS_KEY: &str = "AKIATESTACCESSKEY";
const SECRET_KEY: &str = "test-secret-key-0123456789";
const BUCKET: &str = "files";
const KEY: &str = "/dev/tenants/ab/individual/org1/user/u1/document/2026/01/shared_file__1.pdf";

/// A running s3s server; its data lives as long as this value.
struct S3Server {
    endpoint: String,
    root: TempDir,
}

async fn start_s3_server() -> S3Server {
    let root = TempDir::new().expect("temp dir");
    std::fs::create_dir(root.path().join(BUCKET)).expect("bucket dir");
    let filesystem = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
    let mut builder = S3ServiceBuilder::new(filesystem);
    builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    S3Server {
        endpoint: format!("http://{addr}"),
        root,
    }
}

fn config(server: &S3Server) -> S3Config {
    S3Config {
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        endpoint: Some(server.endpoint.clone()),
        force_path_style: true,
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(SECRET_KEY.into()),
        session_token: None,
    }
}

fn store(server: &S3Server) -> S3ObjectStore {
    S3ObjectStore::new(config(server)).expect("store builds")
}

/// Sends a presigned request as a browser would: its URL, method and headers, nothing else.
async fn send(request: &PresignedRequest, body: Vec<u8>) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
    let mut builder = reqwest::Client::new().request(method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    builder.body(body).send().await.expect("request sent")
}

fn header<'r>(request: &'r PresignedRequest, name: &str) -> Option<&'r str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn put_get_head_delete_round_trip() {
    let server = start_s3_server().await;
    let store = store(&server);
    assert_eq!(store.backend(), "s3");
    store.check().await.expect("bucket is reachable");

    store
        .put(
            KEY,
            Bytes::from_static(b"%PDF-1.7 test"),
            Some("application/pdf"),
        )
        .await
        .expect("put");
    // s3s-fs stores the object under bucket/name: the leading `/` is not part of the S3 name.
    assert!(server.root.path().join(BUCKET).join(&KEY[1..]).is_file());

    let object = store.get(KEY).await.expect("get");
    assert_eq!(object.body, Bytes::from_static(b"%PDF-1.7 test"));
    assert_eq!(object.size, 13);
    assert_eq!(object.content_type.as_deref(), Some("application/pdf"));

    assert_eq!(
        store.head(&KEY[1..]).await.expect("head without the slash"),
        Some(ObjectMeta {
            size: 13,
            content_type: Some("application/pdf".into())
        })
    );

    store.delete(KEY).await.expect("delete");
    assert_eq!(store.head(KEY).await.expect("head after delete"), None);
    store
        .delete(KEY)
        .await
        .expect("deleting a missing key is ok");
}

#[tokio::test]
async fn delete_many_removes_every_key() {
    let server = start_s3_server().await;
    let store = store(&server);
    let keys: Vec<String> = (0..3).map(|i| format!("/dev/batch/{i}.txt")).collect();
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
    to_delete.push("/dev/batch/missing.txt".into());
    store.delete_many(&to_delete).await.expect("delete_many");
    for key in &keys {
        assert_eq!(store.head(key).await.expect("head"), None, "{key}");
    }
    assert!(store.head("/dev/keep.txt").await.expect("head").is_some());
    store
        .delete_many(&[])
        .await
        .expect("empty batch is a no-op");
}

#[tokio::test]
async fn missing_objects_and_invalid_keys() {
    let server = start_s3_server().await;
    let store = store(&server);

    assert_eq!(store.head("/dev/absent.bin").await.expect("head"), None);
    let err = store.get("/dev/absent.bin").await.expect_err("missing");
    assert_eq!(
        err,
        StorageError::NotFound {
            key: "/dev/absent.bin".into()
        }
    );

    for key in ["", "/dev/../x", "/dev//x", "a\\b"] {
        let err = store
            .put(key, Bytes::new(), None)
            .await
            .expect_err("invalid");
        assert!(matches!(err, StorageError::InvalidKey { .. }), "{key:?}");
    }
}

#[tokio::test]
async fn missing_bucket_is_reported() {
    let server = start_s3_server().await;
    let store = S3ObjectStore::new(S3Config {
        bucket: "no-such-bucket".into(),
        ..config(&server)
    })
    .expect("store builds");

    let err = store.check().await.expect_err("bucket is missing");
    assert_eq!(
        err,
        StorageError::NoSuchBucket {
            bucket: "no-such-bucket".into()
        }
    );
    let err = store.delete(KEY).await.expect_err("bucket is missing");
    assert!(matches!(err, StorageError::NoSuchBucket { .. }), "{err:?}");
}

#[tokio::test]
async fn wrong_credentials_are_access_denied() {
    let server = start_s3_server().await;
    let wrong_secret = S3ObjectStore::new(S3Config {
        secret_access_key: Some("not-the-secret".into()),
        ..config(&server)
    })
    .expect("store builds");

    for result in [
        wrong_secret.check().await,
        wrong_secret.put(KEY, Bytes::from_static(b"x"), None).await,
    ] {
        let err = result.expect_err("signature must be refused");
        assert!(matches!(err, StorageError::AccessDenied { .. }), "{err:?}");
        assert!(!err.to_string().contains("not-the-secret"), "{err}");
    }
    assert!(!server.root.path().join(BUCKET).join(&KEY[1..]).exists());

    let wrong_key = S3ObjectStore::new(S3Config {
        access_key_id: Some("AKIAUNKNOWN".into()),
        ..config(&server)
    })
    .expect("store builds");
    let err = wrong_key.check().await.expect_err("unknown access key");
    assert!(matches!(err, StorageError::AccessDenied { .. }), "{err:?}");
}

#[tokio::test]
async fn presigned_put_and_get_work_with_a_plain_http_client() {
    let server = start_s3_server().await;
    let store = store(&server);
    let body = b"uploaded straight to the bucket".to_vec();

    let put = store
        .presign_put(KEY, "application/pdf", None, Duration::from_secs(300))
        .await
        .expect("presign put");
    assert_eq!(put.method, "PUT");
    assert!(put.url.starts_with(&server.endpoint), "{}", put.url);
    assert!(put.url.contains("X-Amz-Signature="), "{}", put.url);
    assert_eq!(header(&put, "content-type"), Some("application/pdf"));
    assert_eq!(header(&put, "host"), None);
    let ttl = put.expires_at - chrono::Utc::now();
    assert!(ttl > chrono::Duration::seconds(290) && ttl <= chrono::Duration::seconds(301));

    let response = send(&put, body.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);

    let object = store.get(KEY).await.expect("uploaded object");
    assert_eq!(object.body, Bytes::from(body.clone()));
    assert_eq!(object.content_type.as_deref(), Some("application/pdf"));

    let get = store
        .presign_get(KEY, Duration::from_secs(60))
        .await
        .expect("presign get");
    assert_eq!(get.method, "GET");
    let response = send(&get, Vec::new()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.expect("body").as_ref(), &body[..]);
}

#[tokio::test]
async fn presigned_put_is_bound_to_its_content_type_and_md5() {
    let server = start_s3_server().await;
    let store = store(&server);
    let body = b"exact bytes".to_vec();
    // MD5("exact bytes") as hex, computed independently; S3 wants base64.
    let put = store
        .presign_put(
            "/dev/md5.bin",
            "application/octet-stream",
            Some("4710f657835a0dd125073a54344e6ed0"),
            Duration::from_secs(60),
        )
        .await
        .expect("presign put");
    assert_eq!(
        header(&put, "content-md5"),
        Some("RxD2V4NaDdElBzpUNE5u0A==")
    );

    // Another content type than the signed one: the signature no longer matches.
    let mut wrong_type = put.clone();
    for (name, value) in &mut wrong_type.headers {
        if name.eq_ignore_ascii_case("content-type") {
            *value = "text/html".into();
        }
    }
    let response = send(&wrong_type, body.clone()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(store.head("/dev/md5.bin").await.expect("head"), None);

    // Right headers, other bytes: the digest check fails (400 BadDigest). s3s-fs checks the
    // digest after writing, unlike S3, so the test does not look at the bucket here.
    let response = send(&put, b"other bytes".to_vec()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.expect("error body");
    assert!(text.contains("BadDigest"), "{text}");

    let response = send(&put, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        store
            .head("/dev/md5.bin")
            .await
            .expect("head")
            .map(|m| m.size),
        Some(11)
    );
}

#[tokio::test]
async fn tampered_or_expired_presigned_urls_are_refused() {
    let server = start_s3_server().await;
    let store = store(&server);
    store
        .put(
            KEY,
            Bytes::from_static(b"secret report"),
            Some("text/plain"),
        )
        .await
        .expect("put");

    let get = store
        .presign_get(KEY, Duration::from_secs(60))
        .await
        .expect("presign get");
    let (before, signature) = get.url.split_once("X-Amz-Signature=").expect("signature");
    let signature: String = signature.chars().take(64).collect();
    let flipped = format!(
        "{}{}",
        if signature.starts_with('0') { '1' } else { '0' },
        &signature[1..]
    );
    let tampered = [
        format!("{before}X-Amz-Signature={flipped}"),
        get.url.replace("X-Amz-Expires=60", "X-Amz-Expires=600"),
        get.url.replace("shared_file__1.pdf", "shared_file__2.pdf"),
    ];
    for url in tampered {
        assert_ne!(url, get.url);
        let response = send(
            &PresignedRequest {
                url: url.clone(),
                ..get.clone()
            },
            Vec::new(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{url}");
    }
    let response = send(&get, Vec::new()).await;
    assert_eq!(response.status(), StatusCode::OK, "untampered URL works");

    let short_lived = store
        .presign_get(KEY, Duration::from_secs(1))
        .await
        .expect("presign get");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = send(&short_lived, Vec::new()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text().await.expect("error body");
    assert!(text.contains("expired"), "{text}");
}

#[test]
fn configuration_errors_are_clear_and_never_leak_secrets() {
    let base = S3Config {
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        endpoint: Some("http://127.0.0.1:9".into()),
        force_path_style: true,
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(SECRET_KEY.into()),
        session_token: Some("session-token-value".into()),
    };

    let debug = format!("{base:?}");
    assert!(!debug.contains(SECRET_KEY), "{debug}");
    assert!(!debug.contains("session-token-value"), "{debug}");
    assert!(
        debug.contains(ACCESS_KEY) && debug.contains("***"),
        "{debug}"
    );

    let err = S3ObjectStore::new(S3Config {
        secret_access_key: None,
        ..base.clone()
    })
    .expect_err("missing secret");
    let message = err.to_string();
    assert!(message.contains("AWS_ACCESS_KEY_ID"), "{message}");
    assert!(message.contains("AWS_SECRET_ACCESS_KEY"), "{message}");

    let err = S3ObjectStore::new(S3Config {
        endpoint: Some("not a url".into()),
        ..base.clone()
    })
    .expect_err("bad endpoint");
    assert!(matches!(err, StorageError::Misconfigured { .. }), "{err:?}");

    let store = S3ObjectStore::new(base).expect("valid config");
    let debug = format!("{store:?}");
    assert!(!debug.contains(SECRET_KEY), "{debug}");
}

/// An `https://` endpoint goes through the rustls (ring) connector: a peer that is not a TLS
/// server gives a typed storage error, not a panic or a hang.
#[tokio::test]
async fn https_endpoints_use_tls_and_fail_cleanly_on_a_non_tls_peer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = socket.write_all(b"HTTP/1.1 400 Not TLS\r\n\r\n").await;
        }
    });
    let store = S3ObjectStore::new(S3Config {
        bucket: "bucket".into(),
        region: "us-east-1".into(),
        endpoint: Some(format!("https://{address}")),
        force_path_style: true,
        access_key_id: Some("key".into()),
        secret_access_key: Some("secret".into()),
        session_token: None,
    })
    .expect("store builds");
    let err = tokio::time::timeout(std::time::Duration::from_secs(60), store.check())
        .await
        .expect("the TLS failure is reported in time")
        .expect_err("not a TLS server");
    assert!(matches!(err, StorageError::Backend { .. }), "{err:?}");
    assert!(
        err.to_string().contains("TLS"),
        "a TLS handshake was tried: {err}"
    );
    assert!(!err.to_string().contains("secret"), "{err}");
}

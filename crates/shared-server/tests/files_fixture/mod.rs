//! What the `files_*` test files share (they were one file until it passed 900 lines): a test
//! app per backend (SQLite, and PostgreSQL when `TEST_POSTGRES_URL` is set) whose object store
//! is a local store served on its own port, uploads driven like a browser (initiate over RPC,
//! PUT the bytes to the presigned URL with a plain HTTP client, complete), and the strict shape
//! checks of a `File`. Each test file uses only some of these helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use md5::Digest as _;
use serde_json::{json, Value};
use shared_server::db::repo::Sql;
use shared_server::files::UploadConfig;
use shared_server::layer::Layer;
use shared_server::rpc::{GroupEntry, SharedRpc};
use shared_server::storage::{object_routes, LocalObjectStore, ObjectStore};
use shared_server::testing::{TestApp, TestUser};
use shared_server::Timestamp;
use tempfile::TempDir;

/// A test app whose object store is a local store served on its own port.
pub struct Fixture {
    pub app: TestApp,
    pub store: Arc<LocalObjectStore>,
    pub _dir: TempDir,
}

pub async fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for db in shared_server::testing::all_backends().await {
        let dir = TempDir::new().unwrap();
        let store = Arc::new(
            LocalObjectStore::new(
                dir.path().to_path_buf(),
                b"object-url-secret-0123456789abcdef".to_vec(),
                "http://unset",
            )
            .unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        store.set_base_url(&format!("http://{}", listener.local_addr().unwrap()));
        let routes = object_routes(store.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, routes).await;
        });
        let dyn_store: Arc<dyn ObjectStore> = store.clone();
        let inputs = Layer::merge_all([
            Layer::shared("LocalObjectStore", dyn_store),
            Layer::value("UploadConfig", UploadConfig::development()),
        ]);
        let layer = shared_server::layer().provide_merge(&inputs);
        let app = TestApp::spawn(db, layer, &[], &[GroupEntry::of::<SharedRpc>()]).await;
        out.push(Fixture {
            app,
            store,
            _dir: dir,
        });
    }
    out
}

pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(md5::Md5::digest(bytes))
}

pub fn initiate_payload(who: &TestUser, name: &str, bytes: &[u8], folder: Value) -> Value {
    json!({
        "fileName": name,
        "fileSize": bytes.len(),
        "mimeType": "text/plain",
        "entityKind": "user",
        "entityIdentifier": who.user.id.as_str(),
        "entityAttribute": "document",
        "folderId": folder,
        "metadata": {"extension": "txt", "md5Hash": md5_hex(bytes), "name": name},
    })
}

/// PUTs `bytes` to the presigned URL as a browser would: Content-Type and Content-MD5 only.
pub async fn put(
    initiated: &Value,
    content_type: &str,
    md5_base64: &str,
    bytes: &[u8],
) -> reqwest::StatusCode {
    reqwest::Client::new()
        .put(initiated["presignedUrl"].as_str().unwrap())
        .header("content-type", content_type)
        .header("content-md5", md5_base64)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

pub fn md5_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

/// Initiates, uploads and completes `name` with `bytes`; returns the File.
pub async fn upload(
    app: &TestApp,
    who: &TestUser,
    name: &str,
    bytes: &[u8],
    folder: Value,
) -> Value {
    let initiated = app
        .rpc(
            who,
            "files_initiateUpload",
            initiate_payload(who, name, bytes, folder),
        )
        .await
        .success();
    assert!(put(&initiated, "text/plain", &md5_base64(bytes), bytes)
        .await
        .is_success());
    app.rpc(
        who,
        "files_completeUpload",
        json!({"fileKey": initiated["fileKey"]}),
    )
    .await
    .success()
}

pub fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// `File` exactly as §0.5/§1.1 shape it: every column, camelCase, absent optionals omitted.
pub fn assert_file_shape(file: &Value, with_folder: bool) {
    let mut expected: BTreeSet<&str> = [
        "_rowId",
        "id",
        "organizationId",
        "key",
        "url",
        "name",
        "size",
        "mimeType",
        "userId",
        "uploadedByUserId",
        "metadata",
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "version",
        "source",
    ]
    .into();
    if with_folder {
        expected.insert("folderId");
    }
    assert_eq!(keys(file), expected, "{file}");
    assert!(file["_rowId"].is_i64());
    assert!(file["size"].is_i64());
    assert!(file["createdAt"].as_str().unwrap().ends_with('Z'));
}

pub async fn sql(app: &TestApp, sql: Sql) -> u64 {
    let mut pooled = app.db().acquire().await.unwrap();
    sql.execute(&mut pooled.conn()).await.unwrap()
}

/// Moves `key`'s upload session one second into the past.
pub async fn expire(app: &TestApp, key: &str) {
    let mut expire = Sql::new("UPDATE shared_upload_session SET expires_at = ");
    expire
        .push_bind(Timestamp::now().minus(std::time::Duration::from_secs(1)))
        .push(" WHERE file_key = ")
        .push_bind(key);
    assert_eq!(sql(app, expire).await, 1);
}

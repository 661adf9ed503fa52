//! The shared files flow end to end (issue 11): the shared slice served over the real RPC
//! transport on port 0 (SQLite, and PostgreSQL when `TEST_POSTGRES_URL` is set), its objects in
//! a real S3-compatible server (s3s + s3s-fs on 127.0.0.1:0 with SigV4), driven by the real
//! `@effect/rpc` client over WebSocket/NDJSON, HTTP/NDJSON and HTTP/JSON
//! (`tests/js/effect-rpc/files.mjs`), the bytes PUT to the presigned S3 URL by `fetch`. A member
//! of another organization sees none of it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use runtime_server::persistence::s3::{S3Config, S3ObjectStore};
use s3s::auth::SimpleAuth;
use s3s::dto::{
    DeleteObjectInput, DeleteObjectOutput, DeleteObjectsInput, DeleteObjectsOutput, GetObjectInput,
    GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput,
    PutObjectInput, PutObjectOutput,
};
use s3s::service::S3ServiceBuilder;
use s3s::{S3Request, S3Response, S3Result};
use serde_json::{json, Value};
use shared_server::auth::{AuthResolver, OrgMembers};
use shared_server::files::{content_routes, ContentRouteState, UploadConfig, UploadService};
use shared_server::layer::Layer;
use shared_server::repos::FileRepo;
use shared_server::rpc::{GroupEntry, SharedRpc};
use shared_server::storage::ObjectStore;
use shared_server::testing::TestApp;
use tempfile::TempDir;

const ACCESS_KEY: &str = "AKIATESTACCESSKEY";
const SECRET_KEY: &str = "test-secret-key-0123456789";
const BUCKET: &str = "files";

/// s3s-fs keeps each object's attributes in a file named after the base64 of the whole key,
/// which exceeds the filesystem's 255-byte name limit for keys of the §1.4 layout (~190
/// bytes). This backend hands s3s-fs the hex SHA-256 of each key instead; the S3 protocol,
/// SigV4 and presigned-URL verification included, is still s3s's own, on the real keys.
struct HashedKeys(s3s_fs::FileSystem);

fn hashed(key: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

#[async_trait::async_trait]
impl s3s::S3 for HashedKeys {
    async fn put_object(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        req.input.key = hashed(&req.input.key);
        self.0.put_object(req).await
    }
    async fn get_object(
        &self,
        mut req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        req.input.key = hashed(&req.input.key);
        self.0.get_object(req).await
    }
    async fn head_object(
        &self,
        mut req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        req.input.key = hashed(&req.input.key);
        self.0.head_object(req).await
    }
    async fn delete_object(
        &self,
        mut req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        req.input.key = hashed(&req.input.key);
        self.0.delete_object(req).await
    }
    async fn delete_objects(
        &self,
        mut req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        for object in &mut req.input.delete.objects {
            object.key = hashed(&object.key);
        }
        self.0.delete_objects(req).await
    }
    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.0.head_bucket(req).await
    }
}

/// An s3s server over a temp directory; returns its endpoint (the data lives with the dir).
async fn start_s3_server(root: &TempDir) -> String {
    std::fs::create_dir(root.path().join(BUCKET)).expect("bucket dir");
    let filesystem = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
    let mut builder = S3ServiceBuilder::new(HashedKeys(filesystem));
    builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
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
    format!("http://{addr}")
}

/// Serves the content route over `app`'s services; returns its origin.
async fn serve_content_route(app: &TestApp) -> String {
    let ctx = app.ctx();
    let routes = content_routes(ContentRouteState {
        files: (*ctx.get::<FileRepo>().unwrap()).clone(),
        uploads: ctx.get::<UploadService>().unwrap(),
        resolver: ctx.get::<dyn AuthResolver>().unwrap(),
        members: ctx.get::<dyn OrgMembers>().ok(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, routes).await;
    });
    origin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_client_uploads_lists_moves_and_deletes_files_on_s3() {
    let dir = common::node::effect_rpc_dir();
    for db in shared_server::testing::all_backends().await {
        let root = TempDir::new().unwrap();
        let endpoint = start_s3_server(&root).await;
        let store: Arc<dyn ObjectStore> = Arc::new(
            S3ObjectStore::new(S3Config {
                bucket: BUCKET.into(),
                region: "us-east-1".into(),
                endpoint: Some(endpoint),
                force_path_style: true,
                access_key_id: Some(ACCESS_KEY.into()),
                secret_access_key: Some(SECRET_KEY.into()),
                session_token: None,
            })
            .expect("the S3 store builds"),
        );
        let inputs = Layer::merge_all([
            Layer::shared("S3ObjectStore", store.clone()),
            Layer::value("UploadConfig", UploadConfig::development()),
        ]);
        let layer = shared_server::layer().provide_merge(&inputs);
        let app = TestApp::spawn(db, layer, &[], &[GroupEntry::of::<SharedRpc>()]).await;
        let backend = app.backend();
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let content = serve_content_route(&app).await;

        let (url, token_a, user_a, token_b, script_dir) = (
            app.url().to_string(),
            ada.token.clone(),
            ada.user.id.to_string(),
            bea.token.clone(),
            dir.clone(),
        );
        let output = tokio::task::spawn_blocking(move || {
            let env = [
                ("RPC_BASE_URL", url.as_str()),
                ("CONTENT_BASE_URL", content.as_str()),
                ("TOKEN_A", token_a.as_str()),
                ("USER_A", user_a.as_str()),
                ("TOKEN_B", token_b.as_str()),
            ];
            common::node::run_node(&script_dir, "files.mjs", &env, Duration::from_secs(180))
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{backend:?}: the Node client failed:\n{stderr}"
        );
        let results: Vec<Value> = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("unreadable client output ({e}):\n{stderr}"));
        assert_eq!(results.len(), 3);
        for result in &results {
            let transport = result["transport"].as_str().unwrap();
            let at = format!("{backend:?} over {transport}");
            let file = &result["file"];
            let key = file["key"].as_str().unwrap();
            assert_eq!(result["early"]["tag"], "UploadNotReceivedError", "{at}");
            assert_eq!(result["early"]["typed"], true, "{at}");
            assert_eq!(result["putStatus"], 200, "{at}: {}", result["putBody"]);
            assert_eq!(key, result["initiatedKey"], "{at}");
            assert_eq!(file["name"], format!("{transport}.txt"), "{at}");
            assert_eq!(file["userId"], ada.user.id.as_str(), "{at}");
            assert_eq!(
                result["replay"]["tag"], "UploadSessionNotFoundError",
                "{at}"
            );
            if transport == "http-json" {
                assert_eq!(result["event"], Value::Null, "{at}");
            } else {
                assert_eq!(
                    result["event"],
                    json!({"_tag": "Files.Uploaded", "file": file}),
                    "{at}"
                );
                assert!(
                    result["eventTags"]
                        .as_array()
                        .unwrap()
                        .contains(&json!("Files.Uploaded")),
                    "{at}"
                );
            }
            assert_eq!(result["download"]["status"], 302, "{at}");
            let location = result["download"]["location"].as_str().unwrap();
            assert!(location.contains("X-Amz-Signature"), "{at}: {location}");
            assert_eq!(result["download"]["objectStatus"], 200, "{at}");
            assert_eq!(
                result["download"]["objectBody"],
                format!("hello from {transport}"),
                "{at}"
            );

            let listed = &result["listed"];
            assert_eq!(
                listed.as_array().unwrap().len(),
                1,
                "{at}: one element, then end"
            );
            assert!(
                listed[0]["rootFiles"].as_array().unwrap().contains(file),
                "{at}"
            );
            assert_eq!(result["byKeys"], json!([file, null]), "{at}");
            let folder_id = &result["folder"]["id"];
            let moved_folder = result["moved"][0]["folders"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| &f["id"] == folder_id)
                .cloned()
                .unwrap();
            assert_eq!(moved_folder["uploadedFiles"][0]["id"], file["id"], "{at}");
            assert_eq!(
                moved_folder["uploadedFiles"][0]["folderId"], *folder_id,
                "{at}"
            );
            assert_eq!(
                result["missingFolder"]["tag"], "FolderNotFoundError",
                "{at}"
            );
            assert_eq!(result["tooLarge"]["tag"], "FileTooLargeError", "{at}");
            assert_eq!(result["tooLarge"]["limit"], 100_000_000, "{at}");
            assert_eq!(result["tooManyKeys"]["tag"], "ValidationError", "{at}");
            assert_eq!(result["tooManyKeys"]["path"], "keys", "{at}");

            // The other tenant saw nothing and deleted nothing.
            assert_eq!(
                result["bea"]["listed"],
                json!([{"rootFiles": [], "folders": []}]),
                "{at}"
            );
            assert_eq!(result["bea"]["byKeys"], json!([null]), "{at}");
            let still = &result["stillThere"][0];
            assert!(
                still["folders"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| &f["id"] == folder_id),
                "{at}"
            );
            // Ada's folder deletion took the file with it, object included.
            let after = &result["afterDelete"][0];
            assert!(
                !after["folders"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| &f["id"] == folder_id),
                "{at}"
            );
            assert!(
                store.head(key).await.unwrap().is_none(),
                "{at}: the object is gone"
            );
        }
        app.stop().await;
    }
}

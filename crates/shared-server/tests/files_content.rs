//! `GET /v1/shared/files/{fileId}/content` (slices.md §1.6): the owner is redirected to a
//! presigned download; another tenant, a colleague and a missing id all get the same 404; and
//! with `OBJECT_PUBLIC_BASE_URL` a file's `url` is that base and its key.

mod files_fixture;

use std::sync::Arc;

use files_fixture::{fixtures, initiate_payload, upload, Fixture};
use serde_json::{json, Value};
use shared_server::auth::{AuthResolver, OrgMembers};
use shared_server::entities::FileId;
use shared_server::files::{content_routes, ContentRouteState, UploadConfig, UploadService};
use shared_server::layer::Layer;
use shared_server::repos::FileRepo;
use shared_server::rpc::{GroupEntry, SharedRpc};
use shared_server::storage::{LocalObjectStore, ObjectStore};
use shared_server::testing::TestApp;
use tempfile::TempDir;

/// Serves the content route over `app`'s services on its own port; returns its origin.
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

#[tokio::test]
async fn the_content_route_redirects_the_owner_to_a_presigned_download() {
    for Fixture { app, .. } in fixtures().await {
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let cid = app.join(&ada, "cid", "member").await;
        let origin = serve_content_route(&app).await;
        let bytes = b"downloadable";
        let file = upload(&app, &ada, "d.txt", bytes, Value::Null).await;
        let url = format!("{origin}{}", file["url"].as_str().unwrap());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();

        let found = client
            .get(&url)
            .header("authorization", app.bearer(&ada))
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), reqwest::StatusCode::FOUND);
        let location = found.headers()["location"].to_str().unwrap().to_string();
        assert!(location.contains("/v1/shared/objects/"), "{location}");
        let download = reqwest::get(&location).await.unwrap();
        assert!(download.status().is_success());
        assert_eq!(download.bytes().await.unwrap().as_ref(), bytes);

        // Another tenant or a colleague: exactly like a missing file.
        let missing_url = url.replace(file["id"].as_str().unwrap(), FileId::new().as_str());
        for (who, target) in [(&bea, &url), (&cid, &url), (&ada, &missing_url)] {
            let response = client
                .get(target.as_str())
                .header("authorization", app.bearer(who))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body,
                json!({"code": "NOT_FOUND", "message": "file not found"})
            );
        }
        let anonymous = client.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
        let malformed = client
            .get(format!("{origin}/v1/shared/files/..%2f..%2fetc/content"))
            .header("authorization", app.bearer(&ada))
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), reqwest::StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn with_a_public_base_url_a_file_url_is_the_base_and_its_key() {
    let db = shared_server::testing::sqlite().await;
    let dir = TempDir::new().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(
        LocalObjectStore::new(
            dir.path().to_path_buf(),
            b"object-url-secret-0123456789abcdef".to_vec(),
            "http://127.0.0.1:9",
        )
        .unwrap(),
    );
    let mut config = UploadConfig::development();
    config.public_base_url = Some("https://cdn.example.com".into());
    let inputs = Layer::merge_all([
        Layer::shared("LocalObjectStore", store.clone()),
        Layer::value("UploadConfig", config),
    ]);
    let layer = shared_server::layer().provide_merge(&inputs);
    let app = TestApp::spawn(db, layer, &[], &[GroupEntry::of::<SharedRpc>()]).await;
    let ada = app.member("ada").await;
    let bytes = b"cdn";
    let initiated = app
        .rpc(
            &ada,
            "files_initiateUpload",
            initiate_payload(&ada, "c.txt", bytes, Value::Null),
        )
        .await
        .success();
    let key = initiated["fileKey"].as_str().unwrap();
    store
        .put(key, bytes::Bytes::from_static(bytes), Some("text/plain"))
        .await
        .unwrap();
    let file = app
        .rpc(&ada, "files_completeUpload", json!({"fileKey": key}))
        .await
        .success();
    assert_eq!(file["url"], format!("https://cdn.example.com{key}"));
}

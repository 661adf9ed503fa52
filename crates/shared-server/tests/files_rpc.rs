//! The `files_*` procedures of the `shared` group (slices.md §1.5, §1.7), black-box: the shared
//! layer served over the real RPC transport on port 0 (SQLite, and PostgreSQL when
//! `TEST_POSTGRES_URL` is set), the local object store's signed routes on their own port, and
//! the bytes PUT to the presigned URL by a plain HTTP client. Every read is made by a member of
//! a second organization too, who must see none of it.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use md5::Digest as _;
use serde_json::{json, Value};
use shared_server::auth::{AuthResolver, OrgMembers};
use shared_server::db::repo::Sql;
use shared_server::entities::FileId;
use shared_server::files::{content_routes, ContentRouteState, UploadConfig, UploadService};
use shared_server::layer::Layer;
use shared_server::repos::FileRepo;
use shared_server::rpc::{GroupEntry, SharedRpc};
use shared_server::storage::{object_routes, LocalObjectStore, ObjectStore};
use shared_server::testing::{TestApp, TestUser};
use shared_server::Timestamp;
use tempfile::TempDir;

/// A test app whose object store is a local store served on its own port.
struct Fixture {
    app: TestApp,
    store: Arc<LocalObjectStore>,
    _dir: TempDir,
}

async fn fixtures() -> Vec<Fixture> {
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

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(md5::Md5::digest(bytes))
}

fn initiate_payload(who: &TestUser, name: &str, bytes: &[u8], folder: Value) -> Value {
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
async fn put(
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

fn md5_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

/// Initiates, uploads and completes `name` with `bytes`; returns the File.
async fn upload(app: &TestApp, who: &TestUser, name: &str, bytes: &[u8], folder: Value) -> Value {
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

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// `File` exactly as §0.5/§1.1 shape it: every column, camelCase, absent optionals omitted.
fn assert_file_shape(file: &Value, with_folder: bool) {
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

async fn sql(app: &TestApp, sql: Sql) -> u64 {
    let mut pooled = app.db().acquire().await.unwrap();
    sql.execute(&mut pooled.conn()).await.unwrap()
}

#[tokio::test]
async fn an_upload_becomes_a_listed_file_that_only_its_owner_sees() {
    for Fixture { app, store, .. } in fixtures().await {
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let cid = app.join(&ada, "cid", "member").await;
        let bytes = b"hello, files";

        let initiated = app
            .rpc(
                &ada,
                "files_initiateUpload",
                initiate_payload(&ada, " notes.txt ", bytes, Value::Null),
            )
            .await
            .success();
        assert_eq!(
            keys(&initiated),
            [
                "expiresAt",
                "fileKey",
                "metadata",
                "presignedUrl",
                "signature"
            ]
            .into()
        );
        let key = initiated["fileKey"].as_str().unwrap();
        let descriptor = &initiated["metadata"];
        assert_eq!(
            keys(descriptor),
            [
                "expiresAt",
                "fileId",
                "fileKey",
                "fileName",
                "fileSize",
                "folderId",
                "metadata",
                "mimeType",
                "organizationId",
                "userId"
            ]
            .into()
        );
        assert_eq!(descriptor["fileKey"], key);
        assert_eq!(descriptor["fileName"], "notes.txt");
        assert_eq!(descriptor["folderId"], Value::Null);
        let file_id = descriptor["fileId"].as_str().unwrap();
        let expected_prefix = format!(
            "/dev/tenants/{}/individual/{}/user/{}/document/",
            shared_server::files::shard_of(&file_id.parse().unwrap()),
            ada.organization.id,
            ada.user.id
        );
        assert!(key.starts_with(&expected_prefix), "{key}");
        assert!(key.ends_with(&format!("/{file_id}.txt")), "{key}");
        let signature = initiated["signature"].as_str().unwrap();
        assert!(signature.starts_with("hmac-sha256=") && signature.len() == 12 + 64);

        assert!(put(&initiated, "text/plain", &md5_base64(bytes), bytes)
            .await
            .is_success());
        // Another tenant and a colleague cannot complete it: it looks missing to them.
        for stranger in [&bea, &cid] {
            let refused = app
                .rpc(stranger, "files_completeUpload", json!({"fileKey": key}))
                .await
                .failure();
            assert_eq!(refused["_tag"], "UploadSessionNotFoundError", "{refused}");
        }
        let file = app
            .rpc(&ada, "files_completeUpload", json!({"fileKey": key}))
            .await
            .success();
        assert_file_shape(&file, false);
        assert_eq!(file["id"], file_id);
        assert_eq!(file["key"], key);
        assert_eq!(file["name"], "notes.txt");
        assert_eq!(file["size"], bytes.len());
        assert_eq!(file["url"], format!("/v1/shared/files/{file_id}/content"));
        assert_eq!(file["source"], "api");
        assert_eq!(file["metadata"]["md5Hash"], md5_hex(bytes));
        assert_eq!(store.get(key).await.unwrap().body.as_ref(), bytes);

        // Completing again is a replay.
        let replay = app
            .rpc(&ada, "files_completeUpload", json!({"fileKey": key}))
            .await
            .failure();
        assert_eq!(replay["_tag"], "UploadSessionNotFoundError");

        let listing = app
            .rpc_stream(&ada, "files_list", Value::Null)
            .await
            .success();
        assert_eq!(
            listing.as_array().unwrap().len(),
            1,
            "one element, then end"
        );
        assert_eq!(keys(&listing[0]), ["folders", "rootFiles"].into());
        assert_eq!(listing[0]["rootFiles"], json!([file]));
        for stranger in [&bea, &cid] {
            let theirs = app
                .rpc_stream(stranger, "files_list", Value::Null)
                .await
                .success();
            assert_eq!(theirs, json!([{"rootFiles": [], "folders": []}]));
            let lookup = app
                .rpc(stranger, "files_getFilesByKeys", json!({"keys": [key]}))
                .await
                .success();
            assert_eq!(lookup, json!([null]));
        }
        let lookup = app
            .rpc(
                &ada,
                "files_getFilesByKeys",
                json!({"keys": ["not a key", key, key.replace(".txt", ".pdf")]}),
            )
            .await
            .success();
        assert_eq!(lookup, json!([null, file, null]));

        // Others cannot delete it; its owner deletes the row and the object.
        for stranger in [&bea, &cid] {
            let done = app
                .rpc(stranger, "files_deleteFiles", json!({"fileIds": [file_id]}))
                .await
                .success();
            assert_eq!(done, Value::Null);
        }
        assert!(store.head(key).await.unwrap().is_some());
        app.rpc(
            &ada,
            "files_deleteFiles",
            json!({"fileIds": [file_id, "nonsense"]}),
        )
        .await
        .success();
        assert!(
            store.head(key).await.unwrap().is_none(),
            "{:?}",
            app.backend()
        );
        let listing = app
            .rpc_stream(&ada, "files_list", Value::Null)
            .await
            .success();
        assert_eq!(listing, json!([{"rootFiles": [], "folders": []}]));
    }
}

#[tokio::test]
async fn folders_are_created_moved_into_and_deleted_by_their_owner_only() {
    for Fixture { app, store, .. } in fixtures().await {
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let cid = app.join(&ada, "cid", "member").await;

        let folder = app
            .rpc(
                &ada,
                "files_createFolder",
                json!({"folderName": "  Reports "}),
            )
            .await
            .success();
        assert_eq!(
            keys(&folder),
            [
                "_rowId",
                "createdAt",
                "createdBy",
                "id",
                "name",
                "organizationId",
                "updatedAt",
                "updatedBy",
                "userId",
                "version"
            ]
            .into()
        );
        assert_eq!(folder["name"], "Reports");
        let blank = app
            .rpc(&ada, "files_createFolder", json!({"folderName": "   "}))
            .await
            .failure();
        assert_eq!(blank["_tag"], "ValidationError");
        assert_eq!(blank["path"], "folderName");

        let file = upload(&app, &ada, "a.txt", b"aaa", Value::Null).await;
        let inside = upload(&app, &ada, "b.txt", b"bbb", folder["id"].clone()).await;
        assert_file_shape(&inside, true);
        assert_eq!(inside["folderId"], folder["id"]);

        // A folder of a colleague or of another tenant is not found, whether uploading or moving.
        let cids = app
            .rpc(&cid, "files_createFolder", json!({"folderName": "mine"}))
            .await
            .success();
        let beas = app
            .rpc(&bea, "files_createFolder", json!({"folderName": "mine"}))
            .await
            .success();
        for foreign in [&cids, &beas] {
            let refused = app
                .rpc(
                    &ada,
                    "files_initiateUpload",
                    initiate_payload(&ada, "c.txt", b"c", foreign["id"].clone()),
                )
                .await
                .failure();
            assert_eq!(refused["_tag"], "FolderNotFoundError", "{refused}");
            assert_eq!(refused["id"], foreign["id"]);
            let refused = app
                .rpc(
                    &ada,
                    "files_moveFiles",
                    json!({"fileIds": [file["id"]], "folderId": foreign["id"]}),
                )
                .await
                .failure();
            assert_eq!(refused["_tag"], "FolderNotFoundError", "{refused}");
        }

        // Moving: into the folder, others' moves ignored, back to the root with null.
        app.rpc(
            &ada,
            "files_moveFiles",
            json!({"fileIds": [file["id"]], "folderId": folder["id"]}),
        )
        .await
        .success();
        app.rpc(
            &cid,
            "files_moveFiles",
            json!({"fileIds": [file["id"]], "folderId": cids["id"]}),
        )
        .await
        .success();
        let listing = app
            .rpc_stream(&ada, "files_list", Value::Null)
            .await
            .success();
        let listed = &listing[0];
        assert_eq!(listed["rootFiles"], json!([]));
        let folders = listed["folders"].as_array().unwrap();
        assert_eq!(folders.len(), 1);
        let mut expected_folder_keys = keys(&folder);
        expected_folder_keys.insert("uploadedFiles");
        assert_eq!(keys(&folders[0]), expected_folder_keys);
        let names: Vec<&str> = folders[0]["uploadedFiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b.txt", "a.txt"], "newest first");
        app.rpc(
            &ada,
            "files_moveFiles",
            json!({"fileIds": [file["id"]], "folderId": null}),
        )
        .await
        .success();
        let listing = app
            .rpc_stream(&ada, "files_list", Value::Null)
            .await
            .success();
        assert_eq!(listing[0]["rootFiles"][0]["id"], file["id"]);
        assert!(listing[0]["rootFiles"][0].get("folderId").is_none());

        // Deleting folders: others' attempts are ignored; the owner's cascades to the files and
        // their objects.
        for stranger in [&bea, &cid] {
            app.rpc(
                stranger,
                "files_deleteFolders",
                json!({"folderIds": [folder["id"]]}),
            )
            .await
            .success();
        }
        let inside_key = inside["key"].as_str().unwrap();
        assert!(store.head(inside_key).await.unwrap().is_some());
        app.rpc(
            &ada,
            "files_deleteFolders",
            json!({"folderIds": [folder["id"]]}),
        )
        .await
        .success();
        assert!(store.head(inside_key).await.unwrap().is_none());
        let listing = app
            .rpc_stream(&ada, "files_list", Value::Null)
            .await
            .success();
        assert_eq!(listing[0]["folders"], json!([]));
        assert_eq!(listing[0]["rootFiles"].as_array().unwrap().len(), 1);
        // cid's folder is untouched.
        let theirs = app
            .rpc_stream(&cid, "files_list", Value::Null)
            .await
            .success();
        assert_eq!(theirs[0]["folders"][0]["id"], cids["id"]);
    }
}

#[tokio::test]
async fn initiation_refuses_bad_requests_with_typed_failures() {
    for Fixture { app, .. } in fixtures().await {
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let base = initiate_payload(&ada, "a.txt", b"abc", Value::Null);
        let with = |field: &str, value: Value| {
            let mut payload = base.clone();
            payload[field] = value;
            payload
        };
        let cases = [
            (
                with("fileSize", json!(100_000_001)),
                "FileTooLargeError",
                None,
            ),
            (
                with("fileSize", json!(-1)),
                "ValidationError",
                Some("fileSize"),
            ),
            (
                with("fileName", json!("  ")),
                "ValidationError",
                Some("fileName"),
            ),
            (
                with("mimeType", json!("application/x-msdownload")),
                "ValidationError",
                Some("mimeType"),
            ),
            (
                with("mimeType", json!("text/html")),
                "ValidationError",
                Some("mimeType"),
            ),
            (
                with("mimeType", json!("image/png")),
                "ValidationError",
                Some("metadata.extension"),
            ),
            (
                with("metadata", json!({"extension": "exe"})),
                "ValidationError",
                Some("metadata.extension"),
            ),
            (
                with("metadata", json!({"size": 3})),
                "ValidationError",
                Some("metadata.extension"),
            ),
            (
                with("metadata", json!({"extension": "txt", "md5Hash": "nope"})),
                "ValidationError",
                Some("metadata.md5Hash"),
            ),
            (
                with("entityKind", json!("robot")),
                "ValidationError",
                Some("entityKind"),
            ),
            (
                with("entityAttribute", json!("Bad_Attr")),
                "ValidationError",
                Some("entityAttribute"),
            ),
            (
                with("entityIdentifier", json!(bea.user.id.as_str())),
                "ValidationError",
                Some("entityIdentifier"),
            ),
            (
                with("entityKind", json!("organization")),
                "ValidationError",
                Some("entityIdentifier"),
            ),
        ];
        for (payload, tag, path) in cases {
            let failure = app
                .rpc(&ada, "files_initiateUpload", payload.clone())
                .await
                .failure();
            assert_eq!(failure["_tag"], tag, "{payload}: {failure}");
            if let Some(path) = path {
                assert_eq!(failure["path"], path, "{payload}: {failure}");
            }
        }
        let too_large = app
            .rpc(
                &ada,
                "files_initiateUpload",
                with("fileSize", json!(100_000_001)),
            )
            .await
            .failure();
        assert_eq!(
            too_large,
            json!({"_tag": "FileTooLargeError", "limit": 100_000_000})
        );

        // The active organization is a valid entity; so is a wildcard type with its extension.
        let mut org_upload = with("entityKind", json!("organization"));
        org_upload["entityIdentifier"] = json!(ada.organization.id.as_str());
        app.rpc(&ada, "files_initiateUpload", org_upload)
            .await
            .success();
        let mut image = with("mimeType", json!("image/png"));
        image["metadata"] = json!({"extension": "PNG"});
        let initiated = app.rpc(&ada, "files_initiateUpload", image).await.success();
        assert!(initiated["fileKey"].as_str().unwrap().ends_with(".png"));

        // More than 100 keys in one lookup.
        let many: Vec<String> = (0..101).map(|i| format!("/k{i}")).collect();
        let failure = app
            .rpc(&ada, "files_getFilesByKeys", json!({"keys": many}))
            .await
            .failure();
        assert_eq!(failure["_tag"], "ValidationError");
        assert_eq!(failure["path"], "keys");
    }
}

#[tokio::test]
async fn completion_refuses_what_was_not_uploaded_as_promised() {
    for Fixture { app, store, .. } in fixtures().await {
        let ada = app.member("ada").await;
        let bytes = b"twelve bytes";

        // A Content-MD5 that does not match the bytes: the store refuses the PUT.
        let initiated = app
            .rpc(
                &ada,
                "files_initiateUpload",
                initiate_payload(&ada, "a.txt", bytes, Value::Null),
            )
            .await
            .success();
        let key = initiated["fileKey"].as_str().unwrap().to_string();
        let status = put(
            &initiated,
            "text/plain",
            &md5_base64(b"other bytes!"),
            bytes,
        )
        .await;
        assert!(status.is_client_error(), "{status}");
        // A Content-Type other than the promised one is refused too.
        let status = put(&initiated, "image/png", &md5_base64(bytes), bytes).await;
        assert!(status.is_client_error(), "{status}");
        assert!(store.head(&key).await.unwrap().is_none());

        // Before the upload.
        let early = app
            .rpc(&ada, "files_completeUpload", json!({"fileKey": key}))
            .await
            .failure();
        assert_eq!(early["_tag"], "UploadNotReceivedError", "{early}");

        // The wrong size: announced 12 bytes, stored 5 (an unbound upload for this test).
        let mut payload = initiate_payload(&ada, "b.txt", bytes, Value::Null);
        payload["metadata"] = json!({"extension": "txt"});
        let unbound = app
            .rpc(&ada, "files_initiateUpload", payload)
            .await
            .success();
        let status = reqwest::Client::new()
            .put(unbound["presignedUrl"].as_str().unwrap())
            .header("content-type", "text/plain")
            .body(b"short".to_vec())
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
        let wrong_size = app
            .rpc(
                &ada,
                "files_completeUpload",
                json!({"fileKey": unbound["fileKey"]}),
            )
            .await
            .failure();
        assert_eq!(wrong_size["_tag"], "UploadNotReceivedError", "{wrong_size}");

        // A tampered descriptor: the stored metadata no longer matches its signature.
        assert!(put(&initiated, "text/plain", &md5_base64(bytes), bytes)
            .await
            .is_success());
        let mut tampered = initiated["metadata"].clone();
        tampered["fileSize"] = json!(bytes.len());
        tampered["fileName"] = json!("evil.txt");
        let mut update = Sql::new("UPDATE shared_upload_session SET metadata = ");
        update
            .push_bind(tampered)
            .push(" WHERE file_key = ")
            .push_bind(key.as_str());
        assert_eq!(sql(&app, update).await, 1);
        let forged = app
            .rpc(&ada, "files_completeUpload", json!({"fileKey": key}))
            .await
            .failure();
        assert_eq!(forged["_tag"], "UploadSignatureError", "{forged}");

        // An expired session.
        let fresh = app
            .rpc(
                &ada,
                "files_initiateUpload",
                initiate_payload(&ada, "c.txt", bytes, Value::Null),
            )
            .await
            .success();
        assert!(put(&fresh, "text/plain", &md5_base64(bytes), bytes)
            .await
            .is_success());
        expire(&app, fresh["fileKey"].as_str().unwrap()).await;
        let expired = app
            .rpc(
                &ada,
                "files_completeUpload",
                json!({"fileKey": fresh["fileKey"]}),
            )
            .await
            .failure();
        assert_eq!(expired["_tag"], "UploadSessionNotFoundError", "{expired}");

        // Keys that are not keys, and keys nobody initiated.
        for bogus in [json!("/etc/passwd"), json!(key.replace(".txt", ".pdf"))] {
            let missing = app
                .rpc(&ada, "files_completeUpload", json!({"fileKey": bogus}))
                .await
                .failure();
            assert_eq!(missing["_tag"], "UploadSessionNotFoundError");
        }
        // Nothing became a file.
        let listing = app
            .rpc_stream(&ada, "files_list", Value::Null)
            .await
            .success();
        assert_eq!(listing, json!([{"rootFiles": [], "folders": []}]));
    }
}

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

/// Moves `key`'s upload session one second into the past.
async fn expire(app: &TestApp, key: &str) {
    let mut expire = Sql::new("UPDATE shared_upload_session SET expires_at = ");
    expire
        .push_bind(Timestamp::now().minus(std::time::Duration::from_secs(1)))
        .push(" WHERE file_key = ")
        .push_bind(key);
    assert_eq!(sql(app, expire).await, 1);
}

#[tokio::test]
async fn the_cleanup_job_deletes_expired_sessions_and_their_objects_once() {
    for Fixture { app, store, .. } in fixtures().await {
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let cleanup = app
            .ctx()
            .get::<shared_server::files::UploadSessionCleanup>()
            .unwrap();
        let bytes = b"abandoned";
        let mut started = Vec::new();
        for who in [&ada, &ada, &bea, &ada] {
            let initiated = app
                .rpc(
                    who,
                    "files_initiateUpload",
                    initiate_payload(who, "x.txt", bytes, Value::Null),
                )
                .await
                .success();
            assert!(put(&initiated, "text/plain", &md5_base64(bytes), bytes)
                .await
                .is_success());
            started.push((who, initiated["fileKey"].as_str().unwrap().to_string()));
        }
        let kept = started.pop().unwrap();
        let completed = upload(&app, &ada, "done.txt", b"done", Value::Null).await;
        for (_, key) in &started {
            expire(&app, key).await;
        }

        // Two instances running at once delete each expired session exactly once.
        let (first, second) = tokio::join!(cleanup.run_once(), cleanup.run_once());
        assert_eq!(first.unwrap() + second.unwrap(), 3, "{:?}", app.backend());
        assert_eq!(cleanup.run_once().await.unwrap(), 0);
        for (who, key) in &started {
            assert!(store.head(key).await.unwrap().is_none(), "{key}");
            let gone = app
                .rpc(who, "files_completeUpload", json!({"fileKey": key}))
                .await
                .failure();
            assert_eq!(gone["_tag"], "UploadSessionNotFoundError");
        }
        // A pending upload and a completed file keep their objects.
        assert!(store
            .head(completed["key"].as_str().unwrap())
            .await
            .unwrap()
            .is_some());
        assert!(store.head(&kept.1).await.unwrap().is_some());
        app.rpc(kept.0, "files_completeUpload", json!({"fileKey": kept.1}))
            .await
            .success();
    }
}

#[tokio::test]
async fn the_cleanup_job_runs_by_itself_until_stopped() {
    for Fixture { app, store, .. } in fixtures().await {
        let ada = app.member("ada").await;
        let cleanup = app
            .ctx()
            .get::<shared_server::files::UploadSessionCleanup>()
            .unwrap();
        let bytes = b"later";
        let initiated = app
            .rpc(
                &ada,
                "files_initiateUpload",
                initiate_payload(&ada, "y.txt", bytes, Value::Null),
            )
            .await
            .success();
        let key = initiated["fileKey"].as_str().unwrap();
        assert!(put(&initiated, "text/plain", &md5_base64(bytes), bytes)
            .await
            .is_success());
        expire(&app, key).await;
        let job = (*cleanup).clone().start(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_secs(300),
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while store.head(key).await.unwrap().is_some() {
            assert!(std::time::Instant::now() < deadline, "the job did not run");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        job.shutdown().await;
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

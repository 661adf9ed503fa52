//! The upload flow of the `shared` group end to end (slices.md §1.5, §1.7), black-box: initiate
//! over the real RPC transport (SQLite, and PostgreSQL when `TEST_POSTGRES_URL` is set), PUT the
//! bytes to the presigned URL of the local store's signed routes with a plain HTTP client,
//! complete, then list, look up and delete. A member of a second organization and a colleague
//! in the same one must see none of it. Completions running at once all register their file
//! (SQLite included), and the same key completed twice at once registers it once.

mod files_fixture;

use files_fixture::{
    assert_file_shape, fixtures, initiate_payload, keys, md5_base64, md5_hex, put, Fixture,
};
use futures::future::join_all;
use serde_json::{json, Value};
use shared_server::storage::ObjectStore;
use shared_server::testing::RpcReply;

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
async fn completions_running_at_once_each_register_their_file_exactly_once() {
    for Fixture { app, .. } in fixtures().await {
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let mut pending = Vec::new();
        for n in 0..12 {
            let who = if n % 3 == 2 { &bea } else { &ada };
            let bytes = format!("concurrent {n}");
            let name = format!("c{n}.txt");
            let initiated = app
                .rpc(
                    who,
                    "files_initiateUpload",
                    initiate_payload(who, &name, bytes.as_bytes(), Value::Null),
                )
                .await
                .success();
            assert!(put(
                &initiated,
                "text/plain",
                &md5_base64(bytes.as_bytes()),
                bytes.as_bytes()
            )
            .await
            .is_success());
            pending.push((who, initiated["fileKey"].as_str().unwrap().to_string()));
        }
        // Every completion at once, the first key twice: twelve files, one replay refused.
        let mut calls: Vec<_> = pending.iter().collect();
        calls.push(&pending[0]);
        let outcomes = join_all(
            calls
                .iter()
                .map(|(who, key)| app.rpc(who, "files_completeUpload", json!({"fileKey": key}))),
        )
        .await;
        let mut registered = 0;
        let mut refused = Vec::new();
        for outcome in outcomes {
            match outcome {
                RpcReply::Success(_) => registered += 1,
                other => refused.push(other),
            }
        }
        assert_eq!(registered, 12, "{:?}: refused {refused:?}", app.backend());
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(
            refused[0].failure_tag(),
            Some("UploadSessionNotFoundError"),
            "{refused:?}"
        );
        let listing = app
            .rpc_stream(&ada, "files_list", Value::Null)
            .await
            .success();
        assert_eq!(listing[0]["rootFiles"].as_array().unwrap().len(), 8);
        let theirs = app
            .rpc_stream(&bea, "files_list", Value::Null)
            .await
            .success();
        assert_eq!(theirs[0]["rootFiles"].as_array().unwrap().len(), 4);
    }
}

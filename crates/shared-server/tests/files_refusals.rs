//! Bad input to the upload flow gets a clear, typed failure and leaves nothing behind (issue 11):
//! every refusal of `files_initiateUpload` with its failure `_tag` and `path`, and every way a
//! `files_completeUpload` can find the upload not as promised (MD5 or type refused by the store,
//! not uploaded, wrong size, tampered descriptor, expired, bogus keys).

mod files_fixture;

use files_fixture::{expire, fixtures, initiate_payload, md5_base64, put, sql, Fixture};
use serde_json::{json, Value};
use shared_server::db::repo::Sql;
use shared_server::storage::ObjectStore;

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

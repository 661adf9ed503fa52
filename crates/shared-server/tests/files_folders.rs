//! Folders of the `shared` group (slices.md §1.2, §1.7), black-box over the real RPC transport:
//! created, uploaded into, moved into and out of, and deleted (with their files and objects) by
//! their owner only; a colleague's or another tenant's folder looks missing.

mod files_fixture;

use files_fixture::{assert_file_shape, fixtures, initiate_payload, keys, upload, Fixture};
use serde_json::{json, Value};
use shared_server::storage::ObjectStore;

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

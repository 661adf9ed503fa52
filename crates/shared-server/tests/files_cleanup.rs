//! The `UploadSessionCleanup` job (slices.md §1.3, issue 11): expired sessions and the objects
//! uploaded for them are deleted exactly once even with two instances running it at once, pending
//! uploads and completed files are kept, and the started job runs by itself until stopped.

mod files_fixture;

use files_fixture::{expire, fixtures, initiate_payload, md5_base64, put, upload, Fixture};
use serde_json::{json, Value};
use shared_server::storage::ObjectStore;

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

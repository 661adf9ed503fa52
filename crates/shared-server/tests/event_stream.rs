//! `eventStream_connect` (slices.md §1.7) and the `EventHub` behind it (§1.3), black-box: the
//! shared group served on port 0, the stream read over HTTP NDJSON as it arrives. On
//! PostgreSQL, two server instances on one database: an upload completed through A reaches a
//! stream connected to B, and delivery resumes after B's listener connection is killed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use shared_server::auth::AuthContext;
use shared_server::db::Backend;
use shared_server::events::{user_topic, EventHub};
use shared_server::files::UploadConfig;
use shared_server::layer::Layer;
use shared_server::rpc::{GroupEntry, SharedRpc};
use shared_server::storage::ObjectStore;
use shared_server::testing::{TestApp, TestDb, TestUser};

async fn spawn(db: TestDb) -> TestApp {
    let config = Layer::value("UploadConfig", UploadConfig::development());
    let layer = shared_server::layer().provide_merge(&config);
    TestApp::spawn(db, layer, &[], &[GroupEntry::of::<SharedRpc>()]).await
}

/// An open `eventStream_connect` call, read line by line (HTTP NDJSON).
struct EventClient {
    response: reqwest::Response,
    pending: Vec<u8>,
}

impl EventClient {
    async fn connect(app: &TestApp, who: &TestUser) -> EventClient {
        let request =
            json!({"_tag": "Request", "id": "1", "tag": "eventStream_connect", "headers": []});
        let response = reqwest::Client::new()
            .post(format!("{}/v1/shared/rpc", app.url()))
            .header("authorization", app.bearer(who))
            .header("content-type", "application/ndjson")
            .body(format!("{request}\n"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        EventClient {
            response,
            pending: Vec::new(),
        }
    }

    /// The next stream element (an array of events), or `None` after `within`.
    async fn next_element(&mut self, within: Duration) -> Option<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let message: Value = serde_json::from_slice(&line).unwrap();
                match message["_tag"].as_str() {
                    Some("Chunk") => {
                        let values = message["values"].as_array().unwrap();
                        assert_eq!(values.len(), 1, "one element per chunk here: {message}");
                        return Some(values[0].as_array().expect("elements are arrays").clone());
                    }
                    Some("Exit") => panic!("the event stream ended: {message}"),
                    _ => continue,
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.pending.extend_from_slice(&bytes),
                Ok(Ok(None)) => panic!("the event stream closed"),
                Ok(Err(error)) => panic!("reading the event stream failed: {error}"),
                Err(_) => return None,
            }
        }
    }

    /// The next event other than a keep-alive, within `within`.
    async fn next_event(&mut self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let element = self.next_element(left).await?;
            if let Some(event) = element.into_iter().find(|e| e["_tag"] != "Ka") {
                return Some(event);
            }
        }
    }
}

/// Initiates and completes an upload of `bytes` as `who`, writing the object straight into the
/// app's store (the presigned PUT is the files tests' business).
async fn upload(app: &TestApp, who: &TestUser, bytes: &'static [u8]) -> Value {
    let initiated = app
        .rpc(
            who,
            "files_initiateUpload",
            json!({
                "fileName": "e.txt", "fileSize": bytes.len(), "mimeType": "text/plain",
                "entityKind": "user", "entityIdentifier": who.user.id.as_str(),
                "entityAttribute": "document", "folderId": null, "metadata": {"extension": "txt"},
            }),
        )
        .await
        .success();
    let store = app.ctx().get::<dyn ObjectStore>().unwrap();
    store
        .put(
            initiated["fileKey"].as_str().unwrap(),
            Bytes::from_static(bytes),
            Some("text/plain"),
        )
        .await
        .unwrap();
    app.rpc(
        who,
        "files_completeUpload",
        json!({"fileKey": initiated["fileKey"]}),
    )
    .await
    .success()
}

#[tokio::test]
async fn an_upload_reaches_its_owners_streams_only_and_keep_alives_flow() {
    for db in shared_server::testing::all_backends().await {
        let app = spawn(db).await;
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let cid = app.join(&ada, "cid", "member").await;
        let mut adas = EventClient::connect(&app, &ada).await;
        let mut adas_second_tab = EventClient::connect(&app, &ada).await;
        let mut beas = EventClient::connect(&app, &bea).await;
        let mut cids = EventClient::connect(&app, &cid).await;
        let hub = app.ctx().get::<dyn EventHub>().unwrap();
        let topic = user_topic(&ada.user.id);
        wait_for(|| hub.subscriber_count(&topic) == 2).await;

        let file = upload(&app, &ada, b"event!").await;
        for stream in [&mut adas, &mut adas_second_tab] {
            let event = stream
                .next_event(Duration::from_secs(2))
                .await
                .expect("Files.Uploaded");
            assert_eq!(
                event,
                json!({"_tag": "Files.Uploaded", "file": file}),
                "{:?}",
                app.backend()
            );
        }
        // Keep-alives every 3 s, and nothing else for the others.
        for stream in [&mut beas, &mut cids] {
            let element = stream
                .next_element(Duration::from_secs(5))
                .await
                .expect("a keep-alive");
            assert_eq!(element, vec![json!({"_tag": "Ka"})]);
        }
        assert_eq!(beas.next_event(Duration::from_millis(200)).await, None);
        assert_eq!(cids.next_event(Duration::from_millis(200)).await, None);

        // Closing the connection releases the subscription.
        drop(adas);
        drop(adas_second_tab);
        wait_for(|| hub.subscriber_count(&topic) == 0).await;
    }
}

#[tokio::test]
async fn events_are_batched_into_arrays_of_at_most_25() {
    for db in shared_server::testing::all_backends().await {
        let app = spawn(db).await;
        let ada = app.member("ada").await;
        let mut stream = EventClient::connect(&app, &ada).await;
        let hub = app.ctx().get::<dyn EventHub>().unwrap();
        let topic = user_topic(&ada.user.id);
        wait_for(|| hub.subscriber_count(&topic) == 1).await;
        for n in 0..30 {
            hub.publish(&topic, json!({"_tag": "Test.Event", "n": n}))
                .await;
        }
        let mut sizes = Vec::new();
        let mut seen = Vec::new();
        while seen.len() < 30 {
            let element = stream
                .next_element(Duration::from_secs(2))
                .await
                .expect("events");
            let events: Vec<Value> = element.into_iter().filter(|e| e["_tag"] != "Ka").collect();
            sizes.push(events.len());
            seen.extend(events.into_iter().map(|e| e["n"].as_i64().unwrap()));
        }
        assert_eq!(seen, (0..30).collect::<Vec<_>>());
        // How many share an array depends on the 50 ms window (PostgreSQL's hub notifies per
        // event); the count rule is exact in the unit test of `events::stream`.
        assert!(sizes.iter().all(|size| *size <= 25), "{sizes:?}");
    }
}

#[tokio::test]
async fn on_postgres_events_cross_instances_and_survive_a_lost_listener_connection() {
    let Some(db) = shared_server::testing::postgres().await else {
        return;
    };
    let second = db.open_again().await;
    let a = spawn(db).await;
    let b = spawn(second).await;
    assert_eq!(b.backend(), Backend::Postgres);
    let ada = a.member("ada").await;
    // The same user signed in on instance B.
    b.auth()
        .add_member(&ada.organization.id, &ada.user.id, "owner");
    b.auth().sign_in(
        &ada.token,
        AuthContext {
            user: ada.user.clone(),
            session: ada.session.clone(),
            organization: Some(ada.organization.clone()),
        },
    );
    let mut on_b = EventClient::connect(&b, &ada).await;
    let hub_b = b.ctx().get::<dyn EventHub>().unwrap();
    let topic = user_topic(&ada.user.id);
    wait_for(|| hub_b.subscriber_count(&topic) == 1).await;

    let started = Instant::now();
    let file = upload(&a, &ada, b"across").await;
    let event = on_b
        .next_event(Duration::from_secs(1))
        .await
        .expect("within a second");
    assert_eq!(event, json!({"_tag": "Files.Uploaded", "file": file}));
    eprintln!("completeUpload on A -> event on B: {:?}", started.elapsed());

    // Kill the listening connections (B's among them); the relay reconnects by itself.
    let mut pooled = a.db().acquire().await.unwrap();
    let killed: Vec<(bool,)> = shared_server::db::repo::Sql::new(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(&mut pooled.conn())
    .await
    .unwrap();
    assert!(killed.len() >= 2, "both instances listen: {killed:?}");
    drop(pooled);

    // Delivery resumes: probe until one arrives (events of the gap itself are lost).
    let hub_a = a.ctx().get::<dyn EventHub>().unwrap();
    let resumed = Instant::now();
    let mut delivered = false;
    for n in 0..100 {
        hub_a
            .publish(&topic, json!({"_tag": "Test.Probe", "n": n}))
            .await;
        if on_b.next_event(Duration::from_millis(200)).await.is_some() {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "delivery did not resume within 20 s");
    eprintln!("relay resumed after {:?}", resumed.elapsed());
    // Drain probes that were in flight, then a real upload crosses again within a second.
    while on_b.next_event(Duration::from_millis(300)).await.is_some() {}
    let file = upload(&a, &ada, b"again").await;
    let event = on_b
        .next_event(Duration::from_secs(1))
        .await
        .expect("within a second");
    assert_eq!(event["file"]["id"], file["id"]);
}

#[tokio::test]
async fn an_event_too_large_to_notify_crosses_instances_in_compact_form() {
    let Some(db) = shared_server::testing::postgres().await else {
        return;
    };
    let second = db.open_again().await;
    let a = spawn(db).await;
    let b = spawn(second).await;
    let hub_a = a.ctx().get::<dyn EventHub>().unwrap();
    let hub_b = b.ctx().get::<dyn EventHub>().unwrap();
    let mut local = hub_a.subscribe("user:x");
    let mut remote = hub_b.subscribe("user:x");
    let big = json!({"_tag": "Files.Uploaded", "file": {"id": "shared_file__1", "metadata": {"exif": "x".repeat(10_000)}}});
    hub_a.publish("user:x", big.clone()).await;
    let received = |r| match r {
        Some(shared_server::events::Received::Event(event)) => event,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        received(local.recv().await),
        big,
        "this instance gets the whole event"
    );
    let compact = tokio::time::timeout(Duration::from_secs(2), remote.recv())
        .await
        .unwrap();
    assert_eq!(
        received(compact),
        json!({"_tag": "Files.Uploaded", "file": {"id": "shared_file__1"}})
    );
    let _keep: Arc<dyn EventHub> = hub_b;
}

async fn wait_for(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "condition not reached within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

//! Two `runtime-server serve` processes on one PostgreSQL (issue 11): a user signs up on
//! instance A, connects `eventStream_connect` on instance B with the same session, uploads a file
//! through A, and B's stream carries `Files.Uploaded` within a second (relayed with
//! `LISTEN/NOTIFY`). Then the database connections that `LISTEN` are terminated: the relay
//! reconnects by itself and delivery resumes. Skipped without `TEST_POSTGRES_URL`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared_server::db::repo::Sql;

const SECRET: &str = "two-instances-secret-0123456789abcdef";

/// A running `serve` process; killed on drop.
struct Instance {
    child: Child,
    url: String,
    _data: common::DataDir,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database_url: &str, objects: &std::path::Path) -> Instance {
    let data = common::DataDir::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runtime-server"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_LOG_LEVEL", "warn")
        .env("APP_API_PORT", "0")
        .env("APP_DATA_DIR", data.path())
        .env("DATABASE_URL", database_url)
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("UPLOAD_SIGNING_SECRET", SECRET)
        .env("OBJECT_STORE_LOCAL_DIR", objects)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start runtime-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().expect("a line on stdout").unwrap();
    let url = line
        .strip_prefix("runtime-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    Instance {
        child,
        url,
        _data: data,
    }
}

/// Signs a new user up on `instance`; returns `(cookie, user id)`.
async fn sign_up(instance: &Instance) -> (String, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/sign-up/email", instance.url))
        .header("origin", &instance.url)
        .json(&json!({"name": "Ada", "email": "ada@example.com", "password": "correct horse battery staple"}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "sign-up: {}",
        response.status()
    );
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with("better-auth.session_token="))
        .expect("a session cookie")
        .to_string();
    let body: Value = response.json().await.unwrap();
    let user = body["user"]["id"].as_str().unwrap().to_string();
    // Make the personal organization active on the session (the files procedures need one).
    let client = reqwest::Client::new();
    let organizations: Value = client
        .get(format!("{}/api/v1/auth/organization/list", instance.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let organization = organizations[0]["id"].clone();
    assert!(organization.is_string(), "{organizations}");
    let activated = client
        .post(format!(
            "{}/api/v1/auth/organization/set-active",
            instance.url
        ))
        .header("cookie", &cookie)
        .header("origin", &instance.url)
        .json(&json!({"organizationId": organization}))
        .send()
        .await
        .unwrap();
    assert!(
        activated.status().is_success(),
        "set-active: {}",
        activated.status()
    );
    let session: Value = client
        .get(format!("{}/api/v1/auth/get-session", instance.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["session"]["activeOrganizationId"], organization);
    (cookie, user)
}

/// One unary call over HTTP/JSON; the Exit's success value (panics on a failure).
async fn call(instance: &Instance, cookie: &str, tag: &str, payload: Value) -> Value {
    let request =
        json!({"_tag": "Request", "id": "1", "tag": tag, "payload": payload, "headers": []});
    let messages: Value = reqwest::Client::new()
        .post(format!("{}/v1/shared/rpc", instance.url))
        .header("cookie", cookie)
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exit = messages
        .as_array()
        .and_then(|m| m.iter().find(|m| m["_tag"] == "Exit"))
        .unwrap_or_else(|| panic!("no Exit: {messages}"));
    assert_eq!(exit["exit"]["_tag"], "Success", "{tag}: {exit}");
    exit["exit"]["value"].clone()
}

/// Initiates on `instance`, PUTs to its presigned URL, completes; returns the File.
async fn upload(instance: &Instance, cookie: &str, user: &str, n: usize) -> Value {
    let bytes = format!("upload {n}");
    let initiated = call(
        instance,
        cookie,
        "files_initiateUpload",
        json!({
            "fileName": format!("{n}.txt"), "fileSize": bytes.len(), "mimeType": "text/plain",
            "entityKind": "user", "entityIdentifier": user, "entityAttribute": "document",
            "folderId": null, "metadata": {"extension": "txt"},
        }),
    )
    .await;
    let put = reqwest::Client::new()
        .put(initiated["presignedUrl"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "PUT: {}", put.status());
    call(
        instance,
        cookie,
        "files_completeUpload",
        json!({"fileKey": initiated["fileKey"]}),
    )
    .await
}

/// An open `eventStream_connect` call over HTTP/NDJSON.
struct EventStream {
    response: reqwest::Response,
    pending: Vec<u8>,
}

impl EventStream {
    async fn connect(instance: &Instance, cookie: &str) -> EventStream {
        let request =
            json!({"_tag": "Request", "id": "1", "tag": "eventStream_connect", "headers": []});
        let response = reqwest::Client::new()
            .post(format!("{}/v1/shared/rpc", instance.url))
            .header("cookie", cookie)
            .header("content-type", "application/ndjson")
            .body(format!("{request}\n"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        EventStream {
            response,
            pending: Vec::new(),
        }
    }

    /// The next event other than a keep-alive within `within`.
    async fn next_event(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let message: Value = serde_json::from_slice(&line).unwrap();
                assert_ne!(message["_tag"], "Exit", "the stream ended: {message}");
                if message["_tag"] == "Chunk" {
                    for element in message["values"].as_array().unwrap() {
                        if let Some(event) = element
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|e| e["_tag"] != "Ka")
                        {
                            return Some(event.clone());
                        }
                    }
                }
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.pending.extend_from_slice(&bytes),
                Ok(other) => panic!("the event stream broke: {other:?}"),
                Err(_) => return None,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_through_one_process_reaches_a_stream_on_another_and_survives_a_lost_listener() {
    let Some(db) = shared_server::testing::postgres().await else {
        return;
    };
    let objects = common::DataDir::new();
    let a = start(&db.url, objects.path());
    let b = start(&db.url, objects.path());
    let (cookie, user) = sign_up(&a).await;
    let mut on_b = EventStream::connect(&b, &cookie).await;
    // Let B's subscription start before the upload completes.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let file = upload(&a, &cookie, &user, 0).await;
    let completed = started.elapsed();
    let event = on_b
        .next_event(Duration::from_secs(1))
        .await
        .expect("B's stream gets the event within a second");
    eprintln!(
        "completeUpload on A answered after {completed:?}; the event on B after {:?}",
        started.elapsed()
    );
    assert_eq!(event, json!({"_tag": "Files.Uploaded", "file": file}));

    // Either instance serves the file's stable URL: a redirect to a presigned download.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for instance in [&a, &b] {
        let found = no_redirects
            .get(format!("{}{}", instance.url, file["url"].as_str().unwrap()))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), reqwest::StatusCode::FOUND);
        let location = found.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(
            reqwest::get(&location).await.unwrap().text().await.unwrap(),
            "upload 0"
        );
    }

    // Terminate every LISTEN connection of this database (B's among them).
    let mut pooled = db.db.acquire().await.unwrap();
    let killed: Vec<(bool,)> = Sql::new(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(&mut pooled.conn())
    .await
    .unwrap();
    drop(pooled);
    assert!(killed.len() >= 2, "both processes listen: {killed:?}");

    // Uploads during the gap may be lost for B; delivery resumes once its relay is back.
    let resumed = Instant::now();
    let mut delivered = None;
    for n in 1..=40 {
        let file = upload(&a, &cookie, &user, n).await;
        if let Some(event) = on_b.next_event(Duration::from_millis(500)).await {
            delivered = Some((file, event));
            break;
        }
    }
    let (_, event) = delivered.expect("delivery to B resumed within 40 uploads");
    assert_eq!(event["_tag"], "Files.Uploaded");
    eprintln!("delivery to B resumed after {:?}", resumed.elapsed());
    while on_b.next_event(Duration::from_millis(500)).await.is_some() {}
    let file = upload(&a, &cookie, &user, 100).await;
    let event = on_b
        .next_event(Duration::from_secs(1))
        .await
        .expect("within a second again");
    assert_eq!(event["file"]["id"], file["id"]);
}

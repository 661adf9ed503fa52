//! Running one of the real better-auth client scripts (`tests/js/better-auth/*.mjs`) against a
//! [`TestServer`]: the script gets `AUTH_ORIGIN` (the server) and `MAILBOX_URL`, a small dev
//! mailbox served here that lists the messages sent to an address as
//! `{template, url, otp, links}`. The script's last stdout line is its JSON report
//! `{checks: [{name, ok, detail}], failed}`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};
use shared_server::mail::RecordingMailer;

use super::TestServer;

/// `GET /mailbox?to=<address>`: the messages sent to the address, oldest first.
async fn mailbox(
    State(mailer): State<Arc<RecordingMailer>>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let to = query.get("to").cloned().unwrap_or_default();
    Json(Value::Array(
        mailer
            .sent_to(&to)
            .iter()
            .map(|m| {
                json!({
                    "template": m.email.template_name(),
                    "url": m.variable("url"),
                    "otp": m.variable("otp"),
                    "links": m.links(),
                })
            })
            .collect(),
    ))
}

/// Serves [`mailbox`] on 127.0.0.1:0; returns its URL and the serving task.
async fn serve_mailbox(mailer: Arc<RecordingMailer>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the mailbox");
    let url = format!("http://{}/mailbox", listener.local_addr().expect("addr"));
    let app = axum::Router::new()
        .route("/mailbox", axum::routing::get(mailbox))
        .with_state(mailer);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// The folder of the client scripts (with its `node_modules`).
pub fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/better-auth")
}

/// Runs `script` against `server` and returns its checks, failing the test when a check
/// failed, the script exited non-zero, or no report came back.
pub async fn run_client_script(server: &TestServer, script: &str) -> Vec<Value> {
    let dir = client_dir();
    assert!(
        dir.join("node_modules/better-auth").is_dir(),
        "{} has no node_modules: run `cargo xtask test` (it runs `npm ci` there), or `npm ci` in that folder",
        dir.display()
    );
    let backend = server.backend();
    let (mailbox_url, mailbox_task) = serve_mailbox(server.mailer.clone()).await;
    let mut command = std::process::Command::new("node");
    command
        .arg(script)
        .current_dir(&dir)
        .env("AUTH_ORIGIN", &server.origin)
        .env("MAILBOX_URL", &mailbox_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The server runs on this runtime; node runs on a blocking thread meanwhile.
    let run = tokio::task::spawn_blocking(move || command.output());
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the client script finished within 2 minutes")
        .expect("the node task ran")
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): install Node.js 18 or newer"));
    mailbox_task.abort();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| {
            panic!("[{backend}] {script}: no JSON report.\nstdout:\n{stdout}\nstderr:\n{stderr}")
        });
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let failed: Vec<&Value> = checks.iter().filter(|c| c["ok"] != true).collect();
    assert!(
        failed.is_empty() && output.status.success(),
        "[{backend}] {script}: checks failed: {}\nstderr:\n{stderr}",
        serde_json::to_string_pretty(&failed).unwrap_or_default()
    );
    checks
}

/// Asserts that each named check ran and passed.
pub fn assert_ran(backend: &str, checks: &[Value], names: &[&str]) {
    for name in names {
        assert!(
            checks.iter().any(|c| c["name"] == *name && c["ok"] == true),
            "[{backend}] check `{name}` did not run"
        );
    }
}

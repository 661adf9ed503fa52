//! Compatibility with the real better-auth JavaScript client: `tests/js/better-auth/` pins
//! better-auth 1.7.7 (lock file committed; `cargo xtask test` runs `npm ci` there), and its
//! `client-test.mjs` drives this crate's auth API, served on 127.0.0.1:0, through
//! `createAuthClient` — sign-up, get-session (bearer and cookie), update-user, sign-out, CSRF,
//! a wrong then a right password, duplicate sign-up, sessions listed and revoked, a password
//! change; then the organization plugin through `organizationClient()` (create, set-active,
//! invite a second user who verifies their email and accepts, change their role, list members,
//! create a team and add the member). The emails the server sends are readable by the script
//! through a small mailbox endpoint this test serves (`MAILBOX_URL`). This test runs it once per
//! database backend and asserts its report.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};
use shared_server::mail::RecordingMailer;

/// `GET /mailbox?to=<address>`: the messages sent to the address, oldest first, as
/// `{template, url, links}` — the dev mailbox the script reads its verification and invitation
/// links from.
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
                    "links": m.links(),
                })
            })
            .collect(),
    ))
}

/// Serves [`mailbox`] on 127.0.0.1:0; returns its base URL and the serving task.
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

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/better-auth")
}

#[tokio::test]
async fn the_better_auth_client_works_against_the_rust_server() {
    let dir = client_dir();
    assert!(
        dir.join("node_modules/better-auth").is_dir(),
        "{} has no node_modules: run `cargo xtask test` (it runs `npm ci` there), or `npm ci` in that folder",
        dir.display()
    );
    for server in common::servers().await {
        let backend = server.backend();
        let (mailbox_url, mailbox_task) = serve_mailbox(server.mailer.clone()).await;
        let mut command = std::process::Command::new("node");
        command
            .arg("client-test.mjs")
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
            .expect("the client test finished within 2 minutes")
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
                panic!("[{backend}] no JSON report.\nstdout:\n{stdout}\nstderr:\n{stderr}")
            });
        let checks = report["checks"].as_array().cloned().unwrap_or_default();
        let failed: Vec<&Value> = checks.iter().filter(|c| c["ok"] != true).collect();
        assert!(
            failed.is_empty() && output.status.success(),
            "[{backend}] better-auth client checks failed: {}\nstderr:\n{stderr}",
            serde_json::to_string_pretty(&failed).unwrap_or_default()
        );
        for name in [
            "sign-up returns the user",
            "get-session by bearer",
            "get-session by cookie",
            "sign-out",
            "wrong password code",
            "sign-in",
            "duplicate sign-up is 422",
            "revoke-other-sessions",
            "revoke-sessions",
            "new password works",
            // organization plugin
            "organization create",
            "organization set-active",
            "invitation accepted",
            "member role updated",
            "list-members shows both",
            "team member added",
        ] {
            assert!(
                checks.iter().any(|c| c["name"] == name && c["ok"] == true),
                "[{backend}] check `{name}` did not run"
            );
        }
        // api-key plugin steps (the end of the walk).
        for name in [
            "api-key: create returns the plain key once",
            "api-key: list",
            "api-key: x-api-key on get-session",
            "api-key: delete",
            "api-key: a deleted key is 401 INVALID_API_KEY",
        ] {
            assert!(
                checks.iter().any(|c| c["name"] == name && c["ok"] == true),
                "[{backend}] check `{name}` did not run"
            );
        }
        assert!(
            checks.len() >= 35,
            "[{backend}] only {} checks ran",
            checks.len()
        );
        eprintln!(
            "[{backend}] better-auth client: {} checks passed",
            checks.len()
        );
    }
}

//! Compatibility with the real better-auth JavaScript client: `tests/js/better-auth/` pins
//! better-auth 1.7.7 (lock file committed; `cargo xtask test` runs `npm ci` there), and its
//! `client-test.mjs` drives this crate's auth API, served on 127.0.0.1:0, through
//! `createAuthClient` — sign-up, get-session (bearer and cookie), update-user, sign-out, CSRF,
//! a wrong then a right password, duplicate sign-up, sessions listed and revoked, a password
//! change. This test runs it once per database backend and asserts its report.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

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
        let mut command = std::process::Command::new("node");
        command
            .arg("client-test.mjs")
            .current_dir(&dir)
            .env("AUTH_ORIGIN", &server.origin)
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

//! Compatibility with the real better-auth JavaScript client: `tests/js/better-auth/` pins
//! better-auth 1.7.7 (lock file committed; `cargo xtask test` runs `npm ci` there), and its
//! `client-test.mjs` drives this crate's auth API, served on 127.0.0.1:0, through
//! `createAuthClient` — sign-up, get-session (bearer and cookie), update-user, sign-out, CSRF,
//! a wrong then a right password, duplicate sign-up, sessions listed and revoked, a password
//! change; then the organization plugin through `organizationClient()` (create, set-active,
//! invite a second user who verifies their email and accepts, change their role, list members,
//! create a team and add the member). The emails the server sends are readable by the script
//! through the dev mailbox of `common::node` (`MAILBOX_URL`). This test runs it once per
//! database backend and asserts its report.

mod common;

use common::node::run_client_script;

#[tokio::test]
async fn the_better_auth_client_works_against_the_rust_server() {
    for server in common::servers().await {
        let backend = server.backend();
        let checks = run_client_script(&server, "client-test.mjs").await;
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

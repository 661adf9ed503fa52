//! The better-auth plugins (PLUGINS.md) driven by the real better-auth JavaScript client and
//! its client plugins, one walk per plugin (`tests/js/better-auth/<plugin>-test.mjs`), on every
//! database backend.

mod common;

use common::node::{assert_ran, run_client_script};

#[tokio::test]
async fn the_username_client_plugin_walks_its_flow() {
    for server in common::servers().await {
        let checks = run_client_script(&server, "username-test.mjs").await;
        assert_ran(
            server.backend(),
            &checks,
            &[
                "username: sign-up stores it lower-cased",
                "username: sign-in by username",
                "username: wrong password is 401",
                "username: update-user renames",
                "username: the new name signs in",
            ],
        );
        assert!(checks.len() >= 10, "only {} checks ran", checks.len());
    }
}

#[tokio::test]
async fn the_two_factor_client_plugin_walks_its_flow() {
    for server in common::servers().await {
        let checks = run_client_script(&server, "two-factor-test.mjs").await;
        assert_ran(
            server.backend(),
            &checks,
            &[
                "2fa: the first TOTP code turns 2FA on",
                "2fa: sign-in answers twoFactorRedirect",
                "2fa: the client's onTwoFactorRedirect fired",
                "2fa: TOTP completes the sign-in",
                "2fa: a trusted device signs in directly",
                "2fa: the emailed code completes the sign-in",
                "2fa: a backup code works once",
                "2fa: disable",
            ],
        );
        assert!(checks.len() >= 20, "only {} checks ran", checks.len());
    }
}

#[tokio::test]
async fn the_last_login_method_client_plugin_reads_the_cookie() {
    for server in common::servers().await {
        let checks = run_client_script(&server, "last-login-method-test.mjs").await;
        assert_ran(
            server.backend(),
            &checks,
            &[
                "last-login: sign-up sets a readable cookie",
                "last-login: the client reports email",
            ],
        );
    }
}

#[tokio::test]
async fn the_anonymous_client_plugin_walks_its_flow() {
    for server in common::servers().await {
        let checks = run_client_script(&server, "anonymous-test.mjs").await;
        assert_ran(
            server.backend(),
            &checks,
            &[
                "anonymous: sign-in",
                "anonymous: no second anonymous sign-in",
                "anonymous: the guest is gone after linking",
                "anonymous: delete-anonymous-user",
            ],
        );
    }
}

#[tokio::test]
async fn the_multi_session_client_plugin_walks_its_flow() {
    for server in common::servers().await {
        let checks = run_client_script(&server, "multi-session-test.mjs").await;
        assert_ran(
            server.backend(),
            &checks,
            &[
                "multi-session: list-device-sessions",
                "multi-session: set-active",
                "multi-session: the other account takes over",
                "multi-session: nothing left after sign-out",
            ],
        );
    }
}

#[tokio::test]
async fn the_one_time_token_client_plugin_walks_its_flow() {
    for server in common::servers().await {
        let checks = run_client_script(&server, "one-time-token-test.mjs").await;
        assert_ran(
            server.backend(),
            &checks,
            &[
                "ott: verify gives the same session",
                "ott: a token works once",
            ],
        );
    }
}

#[tokio::test]
async fn the_jwt_client_plugin_gets_tokens_jose_verifies() {
    for server in common::servers().await {
        let checks = run_client_script(&server, "jwt-test.mjs").await;
        assert_ran(
            server.backend(),
            &checks,
            &[
                "jwt: jose verifies the token",
                "jwt: jose verifies the header's token",
            ],
        );
    }
}

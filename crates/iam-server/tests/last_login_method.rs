//! The last-login-method plugin over HTTP (PLUGINS.md §3), on every available database
//! backend: the readable cookie on email sign-up and sign-in (and not elsewhere), the optional
//! `lastLoginMethod` on the user, and the plugin switched off.

mod common;

use common::{servers, servers_with, PASSWORD};
use serde_json::json;

const COOKIE: &str = "better-auth.last_used_login_method";

#[tokio::test]
async fn email_sign_up_and_sign_in_set_the_readable_cookie() {
    for s in servers().await {
        let up = s.sign_up("ada@example.com", "Ada").await;
        assert_eq!(
            up.set_cookie(COOKIE).as_deref(),
            Some("better-auth.last_used_login_method=email; Max-Age=2592000; Path=/; SameSite=Lax"),
            "{:?}",
            up.set_cookies()
        );
        // Not stored on the user by default.
        assert!(up.json()["user"].get("lastLoginMethod").is_none());
        let r = s.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(r.status, 200);
        assert!(r
            .set_cookie(COOKIE)
            .is_some_and(|c| c.starts_with(&format!("{COOKIE}=email;"))));
        // A refused sign-in, a session read and the username sign-in set nothing.
        let r = s.sign_in("ada@example.com", "wrong-password").await;
        assert!(r.set_cookie(COOKIE).is_none());
        let cookie = up.session_cookie();
        let r = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert!(r.set_cookie(COOKIE).is_none());
        let r = s
            .post(
                "/update-user",
                json!({"username": "adal"}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            r.set_cookie(COOKIE).is_none(),
            "update-user re-sends the session cookie only"
        );
        let r = s
            .post(
                "/sign-in/username",
                json!({"username": "adal", "password": PASSWORD}),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.set_cookie(COOKIE).is_none());
    }
}

#[tokio::test]
async fn the_method_can_be_kept_on_the_user() {
    for s in servers_with(|c| c.plugins.last_login_method.store_in_database = true).await {
        let up = s.sign_up("ada@example.com", "Ada").await;
        assert_eq!(up.json()["user"]["lastLoginMethod"], "email");
        let other = s.sign_up("bob@example.com", "Bob").await.session_cookie();
        let r = s.sign_in("ada@example.com", PASSWORD).await;
        let cookie = r.session_cookie();
        let me = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert_eq!(me.json()["user"]["lastLoginMethod"], "email");
        // It is not an input.
        let r = s
            .post(
                "/update-user",
                json!({"lastLoginMethod": "passkey"}),
                &s.with_cookie(&other),
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.code().as_deref(), Some("FIELD_NOT_ALLOWED"));
    }
}

#[tokio::test]
async fn the_cookie_name_and_lifetime_are_configurable_and_the_plugin_can_be_off() {
    for s in servers_with(|c| {
        c.plugins.last_login_method.cookie_name = "acme.last_login".into();
        c.plugins.last_login_method.max_age = std::time::Duration::from_secs(600);
    })
    .await
    {
        let up = s.sign_up("ada@example.com", "Ada").await;
        assert_eq!(
            up.set_cookie("acme.last_login").as_deref(),
            Some("acme.last_login=email; Max-Age=600; Path=/; SameSite=Lax")
        );
    }
    for s in servers_with(|c| c.plugins.last_login_method.enabled = false).await {
        let up = s.sign_up("ada@example.com", "Ada").await;
        assert!(up.set_cookie(COOKIE).is_none());
    }
}

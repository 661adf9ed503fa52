//! The one-time-token plugin over HTTP (PLUGINS.md §6), on every available database backend:
//! generate (signed in), verify once (the session and its cookie), expiry, an ended session,
//! the settings and the `set-ott` header.

mod common;

use std::time::Duration;

use common::{servers, servers_with, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn a_token_hands_the_session_on_once() {
    for s in servers().await {
        let up = s.sign_up("ada@example.com", "Ada").await;
        let session_token = up.json()["token"].as_str().unwrap().to_string();
        let cookie = up.session_cookie();
        assert_eq!(s.get("/one-time-token/generate", &[]).await.status, 401);
        let r = s
            .get("/one-time-token/generate", &[("cookie", &cookie)])
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let token = r.json()["token"].as_str().unwrap().to_string();
        assert_eq!(token.len(), 32);

        // Another client, no cookies: it gets the same session and its cookie.
        let r = s
            .post("/one-time-token/verify", json!({"token": token}), &[])
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["session"]["token"], session_token.as_str());
        assert_eq!(r.json()["user"]["email"], "ada@example.com");
        assert_eq!(r.session_cookie(), cookie);
        // Once only.
        let r = s
            .post("/one-time-token/verify", json!({"token": token}), &[])
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json(), json!({"message": "Invalid token"}));
        let r = s.post("/one-time-token/verify", json!({}), &[]).await;
        assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"));

        // Three minutes.
        let token = s
            .get("/one-time-token/generate", &[("cookie", &cookie)])
            .await
            .json()["token"]
            .as_str()
            .unwrap()
            .to_string();
        s.advance(Duration::from_secs(181));
        let r = s
            .post("/one-time-token/verify", json!({"token": token}), &[])
            .await;
        assert_eq!(r.json(), json!({"message": "Invalid token"}));

        // The session ended in between.
        let token = s
            .get("/one-time-token/generate", &[("cookie", &cookie)])
            .await
            .json()["token"]
            .as_str()
            .unwrap()
            .to_string();
        s.post(
            "/sign-out",
            serde_json::Value::Null,
            &s.with_cookie(&cookie),
        )
        .await;
        let r = s
            .post("/one-time-token/verify", json!({"token": token}), &[])
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json(), json!({"message": "Session not found"}));
        assert_eq!(
            s.post("/one-time-token/generate", json!({}), &[])
                .await
                .status,
            404
        );
    }
}

#[tokio::test]
async fn an_api_key_has_no_session_to_hand_on() {
    for s in servers().await {
        let cookie = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        let key = s
            .post("/api-key/create", json!({}), &s.with_cookie(&cookie))
            .await;
        assert_eq!(key.status, 200, "{}", key.text);
        let key = key.json()["key"].as_str().unwrap().to_string();
        let r = s
            .get("/one-time-token/generate", &[("x-api-key", &key)])
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
}

#[tokio::test]
async fn settings_cookie_and_set_ott_header() {
    for s in servers_with(|c| {
        c.plugins.one_time_token.disable_set_session_cookie = true;
        c.plugins.one_time_token.set_ott_header = true;
    })
    .await
    {
        s.sign_up("ada@example.com", "Ada").await;
        let r = s.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(r.status, 200);
        let ott = r.header("set-ott").expect("set-ott");
        assert_eq!(
            r.header("access-control-expose-headers").as_deref(),
            Some("set-auth-token, set-ott")
        );
        let v = s
            .post("/one-time-token/verify", json!({"token": ott}), &[])
            .await;
        assert_eq!(v.status, 200, "{}", v.text);
        assert_eq!(v.json()["session"]["token"], r.json()["token"]);
        assert!(v.set_cookie("better-auth.session_token").is_none());
    }
    for s in servers_with(|c| c.plugins.one_time_token.enabled = false).await {
        let cookie = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        let r = s
            .get("/one-time-token/generate", &[("cookie", &cookie)])
            .await;
        assert_eq!(r.status, 404);
    }
}

//! The username plugin over HTTP (PLUGINS.md §1), on every available database backend: sign-up
//! with a username (rules, lower-cased storage, `displayUsername`), `/sign-in/username`,
//! `/is-username-available`, update-user's username checks, and the plugin switched off.

mod common;

use common::{servers, servers_with, TestServer, PASSWORD};
use serde_json::{json, Value};

async fn sign_up(s: &TestServer, body: Value) -> common::Resp {
    s.post("/sign-up/email", body, &[]).await
}

fn body(email: &str, extra: Value) -> Value {
    let mut body = json!({"email": email, "password": PASSWORD, "name": "Ada"});
    if let (Some(target), Value::Object(extra)) = (body.as_object_mut(), extra) {
        target.extend(extra);
    }
    body
}

#[tokio::test]
async fn sign_up_stores_the_username_lower_cased_and_keeps_the_typed_form() {
    for s in servers().await {
        let r = sign_up(&s, body("ada@example.com", json!({"username": "Ada_L.99"}))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let user = &r.json()["user"];
        assert_eq!(user["username"], "ada_l.99");
        assert_eq!(user["displayUsername"], "Ada_L.99");

        // displayUsername alone becomes the username when it is a valid one.
        let r = sign_up(
            &s,
            body("bob@example.com", json!({"displayUsername": "Bob.B"})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["user"]["username"], "bob.b");
        assert_eq!(r.json()["user"]["displayUsername"], "Bob.B");

        // …and stays a display name only when it is not.
        let r = sign_up(
            &s,
            body("cy@example.com", json!({"displayUsername": "Cy Young"})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["user"]["username"], Value::Null);
        assert_eq!(r.json()["user"]["displayUsername"], "Cy Young");

        // Both given: both kept.
        let r = sign_up(
            &s,
            body(
                "dee@example.com",
                json!({"username": "dee", "displayUsername": "Dee!"}),
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["user"]["displayUsername"], "Dee!");

        // Without a username, both fields are null (they exist on every user).
        let r = sign_up(&s, body("eve@example.com", json!({}))).await;
        assert_eq!(r.json()["user"]["username"], Value::Null);
        assert_eq!(r.json()["user"]["displayUsername"], Value::Null);

        // get-session shows them too.
        let cookie = sign_up(&s, body("fay@example.com", json!({"username": "Fay"})))
            .await
            .session_cookie();
        let session = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert_eq!(session.json()["user"]["username"], "fay");
        assert_eq!(session.json()["user"]["displayUsername"], "Fay");
    }
}

#[tokio::test]
async fn sign_up_refuses_bad_or_taken_usernames_with_better_auths_codes() {
    for s in servers().await {
        assert_eq!(
            sign_up(&s, body("a@example.com", json!({"username": "taken"})))
                .await
                .status,
            200
        );
        for (username, code) in [
            (json!("ab"), "USERNAME_TOO_SHORT"),
            (json!(""), "USERNAME_TOO_SHORT"),
            (json!("a".repeat(31)), "USERNAME_TOO_LONG"),
            (json!("has space"), "INVALID_USERNAME"),
            (json!("dash-ed"), "INVALID_USERNAME"),
            (json!("TAKEN"), "USERNAME_IS_ALREADY_TAKEN"),
        ] {
            let r = sign_up(&s, body("b@example.com", json!({"username": username}))).await;
            assert_eq!(r.status, 400, "{username}: {}", r.text);
            assert_eq!(r.code().as_deref(), Some(code), "{username}");
        }
        let r = sign_up(&s, body("b@example.com", json!({"username": 42}))).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"));
        // Nothing was created by the refused attempts.
        let r = sign_up(&s, body("b@example.com", json!({"username": "bee"}))).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test]
async fn sign_in_by_username_answers_like_the_email_sign_in() {
    for s in servers().await {
        sign_up(&s, body("ada@example.com", json!({"username": "AdaL"}))).await;
        let r = s
            .post(
                "/sign-in/username",
                json!({"username": "ADAL", "password": PASSWORD}),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let json = r.json();
        assert_eq!(json["redirect"], false);
        assert_eq!(json["user"]["email"], "ada@example.com");
        assert_eq!(json["user"]["username"], "adal");
        assert!(json.get("url").is_none());
        let token = json["token"].as_str().expect("token").to_string();
        assert_eq!(token.len(), 32);
        let cookie = r.session_cookie();
        let session = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert_eq!(session.json()["session"]["token"], token.as_str());
        assert!(r.header("set-auth-token").is_some());

        // callbackURL: redirect true, url echoed, Location set; rememberMe false: no Max-Age.
        let r = s
            .post(
                "/sign-in/username",
                json!({"username": "adal", "password": PASSWORD, "callbackURL": "/home", "rememberMe": false}),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["redirect"], true);
        assert_eq!(r.json()["url"], "/home");
        assert_eq!(r.header("location").as_deref(), Some("/home"));
        let line = r.set_cookie("better-auth.session_token").expect("cookie");
        assert!(!line.contains("Max-Age"), "{line}");
        assert!(r.set_cookie("better-auth.dont_remember").is_some());
    }
}

#[tokio::test]
async fn sign_in_by_username_errors() {
    for s in servers().await {
        sign_up(&s, body("ada@example.com", json!({"username": "adal"}))).await;
        let sign_in = |username: Value, password: Value| {
            s.post(
                "/sign-in/username",
                json!({"username": username, "password": password}),
                &[],
            )
        };
        for (username, password, status, code) in [
            (
                json!("adal"),
                json!("wrong-password"),
                401,
                "INVALID_USERNAME_OR_PASSWORD",
            ),
            (
                json!("nobody"),
                json!(PASSWORD),
                401,
                "INVALID_USERNAME_OR_PASSWORD",
            ),
            (
                json!(""),
                json!(PASSWORD),
                401,
                "INVALID_USERNAME_OR_PASSWORD",
            ),
            (
                json!("adal"),
                json!(""),
                401,
                "INVALID_USERNAME_OR_PASSWORD",
            ),
            (json!("ab"), json!(PASSWORD), 422, "USERNAME_TOO_SHORT"),
            (
                json!("a".repeat(31)),
                json!(PASSWORD),
                422,
                "USERNAME_TOO_LONG",
            ),
            (
                json!("ada lovelace"),
                json!(PASSWORD),
                422,
                "INVALID_USERNAME",
            ),
            (
                json!("adal"),
                json!("p".repeat(129)),
                400,
                "PASSWORD_TOO_LONG",
            ),
            (json!(7), json!(PASSWORD), 400, "VALIDATION_ERROR"),
        ] {
            let r = sign_in(username.clone(), password).await;
            assert_eq!(r.status, status, "{username}: {}", r.text);
            assert_eq!(r.code().as_deref(), Some(code), "{username}");
            assert!(r.set_cookie("better-auth.session_token").is_none());
        }
        let r = s
            .post("/sign-in/username", json!({"password": PASSWORD}), &[])
            .await;
        assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"));
        // A user without a username cannot be reached by one; a GET is 404.
        sign_up(&s, body("bob@example.com", json!({}))).await;
        assert_eq!(s.get("/sign-in/username", &[]).await.status, 404);
    }
}

#[tokio::test]
async fn is_username_available() {
    for s in servers().await {
        sign_up(&s, body("ada@example.com", json!({"username": "adal"}))).await;
        let check =
            |username: Value| s.post("/is-username-available", json!({"username": username}), &[]);
        let r = check(json!("AdaL")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json(), json!({"available": false}));
        assert_eq!(
            check(json!("someone")).await.json(),
            json!({"available": true})
        );
        for (username, code) in [
            (json!(""), "INVALID_USERNAME"),
            (json!("ab"), "USERNAME_TOO_SHORT"),
            (json!("a".repeat(31)), "USERNAME_TOO_LONG"),
            (json!("no way"), "INVALID_USERNAME"),
        ] {
            let r = check(username.clone()).await;
            assert_eq!(r.status, 422, "{username}: {}", r.text);
            assert_eq!(r.code().as_deref(), Some(code));
        }
        let r = check(json!(null)).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"));
    }
}

#[tokio::test]
async fn update_user_changes_the_username_under_the_same_rules() {
    for s in servers().await {
        sign_up(&s, body("other@example.com", json!({"username": "other"}))).await;
        let cookie = sign_up(&s, body("ada@example.com", json!({"username": "adal"})))
            .await
            .session_cookie();
        let h = s.with_cookie(&cookie);
        let update = |body: Value| s.post("/update-user", body, &h);

        // Keeping one's own name (any case) is fine; another user's is taken.
        assert_eq!(update(json!({"username": "ADAL"})).await.status, 200);
        let r = update(json!({"username": "Other"})).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.code().as_deref(), Some("USERNAME_IS_ALREADY_TAKEN"));
        let r = update(json!({"username": "x"})).await;
        assert_eq!(r.code().as_deref(), Some("USERNAME_TOO_SHORT"));

        let r = update(json!({"username": "Ada.Byron", "displayUsername": "Ada Byron"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let session = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert_eq!(session.json()["user"]["username"], "ada.byron");
        assert_eq!(session.json()["user"]["displayUsername"], "Ada Byron");
        // The new name signs in; the old one no longer does.
        let r = s
            .post(
                "/sign-in/username",
                json!({"username": "ada.byron", "password": PASSWORD}),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = s
            .post(
                "/sign-in/username",
                json!({"username": "adal", "password": PASSWORD}),
                &[],
            )
            .await;
        assert_eq!(r.status, 401);
        // The freed name is available again.
        let r = s
            .post("/is-username-available", json!({"username": "adal"}), &[])
            .await;
        assert_eq!(r.json(), json!({"available": true}));
        // Without a session: 401.
        let r = s
            .post("/update-user", json!({"username": "zed"}), &[])
            .await;
        assert_eq!(r.status, 401);
    }
}

#[tokio::test]
async fn a_switched_off_plugin_is_absent() {
    for s in servers_with(|c| c.plugins.username.enabled = false).await {
        let r = sign_up(&s, body("ada@example.com", json!({"username": "adal"}))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json()["user"].get("username").is_none(), "{}", r.text);
        for path in ["/sign-in/username", "/is-username-available"] {
            let r = s
                .post(path, json!({"username": "adal", "password": PASSWORD}), &[])
                .await;
            assert_eq!(r.status, 404, "{path}");
        }
    }
}

#[tokio::test]
async fn configured_lengths_apply() {
    for s in servers_with(|c| {
        c.plugins.username.min_length = 5;
        c.plugins.username.max_length = 8;
    })
    .await
    {
        let r = sign_up(&s, body("ada@example.com", json!({"username": "adal"}))).await;
        assert_eq!(r.code().as_deref(), Some("USERNAME_TOO_SHORT"));
        let r = sign_up(
            &s,
            body("ada@example.com", json!({"username": "ada_lovelace"})),
        )
        .await;
        assert_eq!(r.code().as_deref(), Some("USERNAME_TOO_LONG"));
        let r = sign_up(&s, body("ada@example.com", json!({"username": "ada_l"}))).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

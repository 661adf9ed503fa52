//! The anonymous plugin over HTTP (PLUGINS.md §4), on every available database backend:
//! `/sign-in/anonymous`, `/delete-anonymous-user`, linking when an anonymous user signs in or
//! up as a real user, and the settings.

mod common;

use common::{servers, servers_with, TestServer, PASSWORD};
use serde_json::{json, Value};
use shared_server::entities::UserId;
use shared_server::repos::UserRepo;

async fn anonymous(s: &TestServer) -> (String, Value) {
    let r = s.post("/sign-in/anonymous", Value::Null, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (r.session_cookie(), r.json())
}

async fn user_exists(s: &TestServer, id: &Value) -> bool {
    let id: UserId = id.as_str().unwrap().parse().unwrap();
    let users = s.ctx.get::<UserRepo>().unwrap();
    users.find_by_id(&s.test.db, &id).await.unwrap().is_some()
}

#[tokio::test]
async fn a_guest_gets_an_anonymous_user_and_session() {
    for s in servers().await {
        let (cookie, body) = anonymous(&s).await;
        assert_eq!(body["token"].as_str().unwrap().len(), 32);
        let user = &body["user"];
        assert_eq!(user["isAnonymous"], true);
        assert_eq!(user["name"], "Anonymous");
        assert_eq!(user["emailVerified"], false);
        let email = user["email"].as_str().unwrap();
        let (local, domain) = email.split_once('@').unwrap();
        assert_eq!(domain, "anonymous.placeholder.invalid");
        assert_eq!(local.len(), 32);
        assert!(local.chars().all(|c| c.is_ascii_alphanumeric()));
        let session = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert_eq!(session.json()["user"]["isAnonymous"], true);
        assert!(session.json()["session"]["activeOrganizationId"].is_string());
        // A second guest is another user.
        let (_, other) = anonymous(&s).await;
        assert_ne!(other["user"]["id"], user["id"]);
        // Real users are not anonymous.
        let real = s.sign_up("ada@example.com", "Ada").await;
        assert_eq!(real.json()["user"]["isAnonymous"], false);
        // isAnonymous is not an input.
        let r = s
            .post(
                "/update-user",
                json!({"isAnonymous": true}),
                &s.with_cookie(&real.session_cookie()),
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("FIELD_NOT_ALLOWED"));
    }
}

#[tokio::test]
async fn an_anonymous_session_cannot_sign_in_anonymously_again() {
    for s in servers().await {
        let (cookie, _) = anonymous(&s).await;
        let r = s
            .post("/sign-in/anonymous", Value::Null, &s.with_cookie(&cookie))
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(
            r.code().as_deref(),
            Some("ANONYMOUS_USERS_CANNOT_SIGN_IN_AGAIN_ANONYMOUSLY")
        );
        // Signed in as a real user, one may (a new guest is made).
        let real = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        let r = s
            .post("/sign-in/anonymous", Value::Null, &s.with_cookie(&real))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["user"]["isAnonymous"], true);
        assert_eq!(s.get("/sign-in/anonymous", &[]).await.status, 404);
    }
}

#[tokio::test]
async fn signing_up_or_in_as_a_real_user_removes_the_anonymous_one() {
    for s in servers().await {
        // Sign-up from an anonymous session.
        let (cookie, guest) = anonymous(&s).await;
        let r = s
            .post(
                "/sign-up/email",
                json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada", "username": "adal"}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(!user_exists(&s, &guest["user"]["id"]).await);
        assert_eq!(
            s.get("/get-session", &[("cookie", &cookie)]).await.json(),
            Value::Null
        );

        // Email sign-in from an anonymous session (bearer this time).
        let (_, guest) = anonymous(&s).await;
        let bearer = format!("Bearer {}", guest["token"].as_str().unwrap());
        let r = s
            .post(
                "/sign-in/email",
                json!({"email": "ada@example.com", "password": PASSWORD}),
                &[("authorization", &bearer)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(!user_exists(&s, &guest["user"]["id"]).await);

        // Username sign-in.
        let (cookie, guest) = anonymous(&s).await;
        let r = s
            .post(
                "/sign-in/username",
                json!({"username": "adal", "password": PASSWORD}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(!user_exists(&s, &guest["user"]["id"]).await);

        // A failed sign-in keeps the guest.
        let (cookie, guest) = anonymous(&s).await;
        let r = s
            .post(
                "/sign-in/email",
                json!({"email": "ada@example.com", "password": "wrong-password"}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(r.status, 401);
        assert!(user_exists(&s, &guest["user"]["id"]).await);
    }
}

#[tokio::test]
async fn delete_anonymous_user() {
    for s in servers().await {
        let (cookie, guest) = anonymous(&s).await;
        let r = s
            .post(
                "/delete-anonymous-user",
                Value::Null,
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json(), json!({"success": true}));
        assert!(r
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("better-auth.session_token=;") && c.contains("Max-Age=0")));
        assert!(!user_exists(&s, &guest["user"]["id"]).await);
        let real = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        let r = s
            .post("/delete-anonymous-user", Value::Null, &s.with_cookie(&real))
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(r.code().as_deref(), Some("USER_IS_NOT_ANONYMOUS"));
        let r = s.post("/delete-anonymous-user", Value::Null, &[]).await;
        assert_eq!(r.status, 401);
    }
}

#[tokio::test]
async fn deletion_can_be_disabled_and_the_email_domain_set() {
    for s in servers_with(|c| {
        c.plugins.anonymous.disable_delete = true;
        c.plugins.anonymous.email_domain = Some("guests.example.com".into());
    })
    .await
    {
        let (cookie, guest) = anonymous(&s).await;
        let email = guest["user"]["email"].as_str().unwrap();
        assert!(
            email.starts_with("temp-") && email.ends_with("@guests.example.com"),
            "{email}"
        );
        let r = s
            .post(
                "/delete-anonymous-user",
                Value::Null,
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.code().as_deref(), Some("DELETE_ANONYMOUS_USER_DISABLED"));
        let r = s
            .post(
                "/sign-up/email",
                json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(
            user_exists(&s, &guest["user"]["id"]).await,
            "kept: deletion is disabled"
        );
    }
    for s in servers_with(|c| c.plugins.anonymous.enabled = false).await {
        assert_eq!(
            s.post("/sign-in/anonymous", Value::Null, &[]).await.status,
            404
        );
        let real = s.sign_up("ada@example.com", "Ada").await;
        assert!(real.json()["user"].get("isAnonymous").is_none());
    }
}

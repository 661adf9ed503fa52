//! The multi-session plugin over HTTP (PLUGINS.md §5), on every available database backend:
//! one browser (a cookie jar kept here) signs in several accounts, lists them, switches and
//! revokes them, the same account signing in again replaces its entry, the maximum, and
//! sign-out ending every account.

mod common;

use std::collections::BTreeMap;

use common::{servers, servers_with, Resp, TestServer, PASSWORD};
use serde_json::{json, Value};

const SESSION: &str = "better-auth.session_token";

/// A browser's cookies: `Set-Cookie` lines applied in order (`Max-Age=0` removes).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn absorb(&mut self, r: &Resp) {
        for line in r.set_cookies() {
            let pair = line.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if line.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn multi_count(&self) -> usize {
        self.0.keys().filter(|k| k.contains("_multi-")).count()
    }

    fn has_multi_for(&self, token: &str) -> bool {
        self.0
            .contains_key(&format!("{SESSION}_multi-{}", token.to_lowercase()))
    }
}

async fn post(s: &TestServer, jar: &mut Jar, path: &str, body: Value) -> Resp {
    let cookie = jar.header();
    let mut headers = vec![("origin", s.origin.as_str())];
    if !cookie.is_empty() {
        headers.push(("cookie", cookie.as_str()));
    }
    let r = s.post(path, body, &headers).await;
    jar.absorb(&r);
    r
}

async fn get(s: &TestServer, jar: &mut Jar, path: &str) -> Resp {
    let cookie = jar.header();
    let r = s.get(path, &[("cookie", &cookie)]).await;
    jar.absorb(&r);
    r
}

async fn sign_up(s: &TestServer, jar: &mut Jar, email: &str) -> String {
    let r = post(
        s,
        jar,
        "/sign-up/email",
        json!({"email": email, "password": PASSWORD, "name": email}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["token"].as_str().unwrap().to_string()
}

async fn current_email(s: &TestServer, jar: &mut Jar) -> Value {
    get(s, jar, "/get-session").await.json()["user"]["email"].clone()
}

#[tokio::test]
async fn one_browser_keeps_several_accounts_and_switches_between_them() {
    for s in servers().await {
        let mut jar = Jar::default();
        let ada = sign_up(&s, &mut jar, "ada@example.com").await;
        assert!(jar.has_multi_for(&ada));
        let line = s
            .post(
                "/sign-in/email",
                json!({"email": "ada@example.com", "password": PASSWORD}),
                &[],
            )
            .await
            .set_cookies()
            .into_iter()
            .find(|c| c.contains("_multi-"))
            .expect("multi-session cookie");
        assert!(
            line.contains("; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax"),
            "{line}"
        );
        let bob = sign_up(&s, &mut jar, "bob@example.com").await;
        assert!(jar.has_multi_for(&bob));
        assert_eq!(jar.multi_count(), 2);
        assert_eq!(current_email(&s, &mut jar).await, "bob@example.com");

        let list = get(&s, &mut jar, "/multi-session/list-device-sessions").await;
        assert_eq!(list.status, 200, "{}", list.text);
        let mut emails: Vec<String> = list
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["user"]["email"].as_str().unwrap().to_string())
            .collect();
        emails.sort();
        assert_eq!(emails, ["ada@example.com", "bob@example.com"]);
        assert!(list.json()[0]["session"]["token"].is_string());

        let r = post(
            &s,
            &mut jar,
            "/multi-session/set-active",
            json!({"sessionToken": ada}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["user"]["email"], "ada@example.com");
        assert_eq!(r.json()["session"]["token"], ada.as_str());
        assert_eq!(current_email(&s, &mut jar).await, "ada@example.com");

        // Tokens that are not this browser's accounts are refused.
        let mut stranger = Jar::default();
        let carol = sign_up(&s, &mut stranger, "carol@example.com").await;
        for token in [carol.as_str(), "nope"] {
            let r = post(
                &s,
                &mut jar,
                "/multi-session/set-active",
                json!({"sessionToken": token}),
            )
            .await;
            assert_eq!(r.status, 401, "{}", r.text);
            assert_eq!(r.code().as_deref(), Some("INVALID_SESSION_TOKEN"));
        }
        let r = post(&s, &mut jar, "/multi-session/set-active", json!({})).await;
        assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"));
        // Without cookies the list is empty.
        let r = s.get("/multi-session/list-device-sessions", &[]).await;
        assert_eq!(r.json(), json!([]));
    }
}

#[tokio::test]
async fn revoking_an_account_and_the_current_one() {
    for s in servers().await {
        let mut jar = Jar::default();
        let ada = sign_up(&s, &mut jar, "ada@example.com").await;
        let bob = sign_up(&s, &mut jar, "bob@example.com").await;
        let carol = sign_up(&s, &mut jar, "carol@example.com").await;
        // Another account: its session ends, its cookie goes, the current one stays.
        let r = post(
            &s,
            &mut jar,
            "/multi-session/revoke",
            json!({"sessionToken": ada}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json(), json!({"status": true}));
        assert!(!jar.has_multi_for(&ada));
        assert_eq!(current_email(&s, &mut jar).await, "carol@example.com");
        // The current one: the next live account takes over.
        let r = post(
            &s,
            &mut jar,
            "/multi-session/revoke",
            json!({"sessionToken": carol}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(current_email(&s, &mut jar).await, "bob@example.com");
        // The last one: signed out.
        let r = post(
            &s,
            &mut jar,
            "/multi-session/revoke",
            json!({"sessionToken": bob}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(!jar.0.contains_key(SESSION));
        assert_eq!(get(&s, &mut jar, "/get-session").await.json(), Value::Null);
        // Revoking needs a session.
        let r = post(
            &s,
            &mut jar,
            "/multi-session/revoke",
            json!({"sessionToken": bob}),
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.code().as_deref(), Some("UNAUTHORIZED"));
    }
}

#[tokio::test]
async fn an_ended_session_cannot_be_made_active() {
    for s in servers().await {
        let mut jar = Jar::default();
        let ada = sign_up(&s, &mut jar, "ada@example.com").await;
        sign_up(&s, &mut jar, "bob@example.com").await;
        s.service().delete_session(&ada).await.unwrap();
        let r = post(
            &s,
            &mut jar,
            "/multi-session/set-active",
            json!({"sessionToken": ada}),
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.code().as_deref(), Some("INVALID_SESSION_TOKEN"));
        assert!(!jar.has_multi_for(&ada), "its cookie is expired");
    }
}

#[tokio::test]
async fn the_same_account_signing_in_again_replaces_its_entry() {
    for s in servers().await {
        let mut jar = Jar::default();
        let first = sign_up(&s, &mut jar, "ada@example.com").await;
        let r = post(
            &s,
            &mut jar,
            "/sign-in/email",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
        let second = r.json()["token"].as_str().unwrap().to_string();
        assert!(jar.has_multi_for(&second));
        assert!(!jar.has_multi_for(&first));
        assert_eq!(jar.multi_count(), 1);
        assert!(s
            .service()
            .session_for_token(&first)
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn at_most_the_maximum_accounts_are_kept() {
    for s in servers_with(|c| c.plugins.multi_session.maximum_sessions = 2).await {
        let mut jar = Jar::default();
        sign_up(&s, &mut jar, "a@example.com").await;
        sign_up(&s, &mut jar, "b@example.com").await;
        let third = sign_up(&s, &mut jar, "c@example.com").await;
        assert_eq!(jar.multi_count(), 2);
        assert!(!jar.has_multi_for(&third));
    }
}

#[tokio::test]
async fn sign_out_ends_every_account_of_the_browser() {
    for s in servers().await {
        let mut jar = Jar::default();
        let ada = sign_up(&s, &mut jar, "ada@example.com").await;
        let bob = sign_up(&s, &mut jar, "bob@example.com").await;
        let r = post(&s, &mut jar, "/sign-out", Value::Null).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(jar.multi_count(), 0);
        for token in [ada, bob] {
            assert!(s
                .service()
                .session_for_token(&token)
                .await
                .unwrap()
                .is_none());
        }
    }
    for s in servers_with(|c| c.plugins.multi_session.enabled = false).await {
        let r = s.sign_up("ada@example.com", "Ada").await;
        assert!(!r.set_cookies().iter().any(|c| c.contains("_multi-")));
        assert_eq!(
            s.get("/multi-session/list-device-sessions", &[])
                .await
                .status,
            404
        );
    }
}

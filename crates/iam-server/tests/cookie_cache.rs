//! The `session_data` cookie cache over real HTTP (`specs/better-auth-api.md` §2.8): written
//! with the session cookie, read by get-session without the database, bypassed by
//! `disableCookieCache`, refused when forged, foreign or expired, refreshed when the session
//! cookie is re-sent, and expired when the cache is off. SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use common::{servers, servers_with, Resp, TestServer};
use serde_json::{json, Value};

const DATA: &str = "better-auth.session_data";

async fn cached_servers() -> Vec<TestServer> {
    servers_with(|config| config.cookie_cache_max_age = Some(Duration::from_secs(300))).await
}

/// `session_token=…; session_data=…` from a response that set both.
fn both_cookies(resp: &Resp) -> String {
    let data = resp
        .cookie_pair(DATA)
        .unwrap_or_else(|| panic!("no session_data cookie in {:?}", resp.set_cookies()));
    format!("{}; {data}", resp.session_cookie())
}

async fn get_session(s: &TestServer, cookie: &str, query: &str) -> Resp {
    s.get(&format!("/get-session{query}"), &s.with_cookie(cookie))
        .await
}

#[tokio::test]
async fn get_session_answers_from_the_cache_until_it_expires() {
    for s in cached_servers().await {
        let signed_up = s.sign_up("cache@example.com", "Cache").await;
        let line = signed_up.set_cookie(DATA).expect("session_data cookie");
        assert!(line.contains("Max-Age=300"), "{line}");
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Lax"),
            "{line}"
        );
        let cookies = both_cookies(&signed_up);
        let token = signed_up.json()["token"]
            .as_str()
            .expect("token")
            .to_string();

        let first = get_session(&s, &cookies, "").await;
        assert_eq!(first.status, 200, "{}", s.backend());
        assert_eq!(first.json()["user"]["email"], "cache@example.com");

        // The row is gone, but the cache still answers: get-session did not read the database.
        assert!(s.service().delete_session(&token).await.expect("delete"));
        let cached = get_session(&s, &cookies, "").await;
        assert_eq!(cached.json()["session"]["token"], token.as_str());
        assert_eq!(cached.json()["user"]["name"], "Cache");

        // disableCookieCache forces the database: no session, cookies expired.
        let bypass = get_session(&s, &cookies, "?disableCookieCache=true").await;
        assert_eq!(bypass.json(), Value::Null, "{}", s.backend());
        let expired = bypass.set_cookie(DATA).expect("cache cookie expired");
        assert!(expired.contains("Max-Age=0"), "{expired}");

        // After maxAge the cache is stale and the database decides.
        s.advance(Duration::from_secs(301));
        let stale = get_session(&s, &cookies, "").await;
        assert_eq!(stale.json(), Value::Null);
        s.close().await;
    }
}

#[tokio::test]
async fn forged_or_foreign_cache_entries_are_ignored() {
    for s in cached_servers().await {
        let ada = s.sign_up("ada@example.com", "Ada").await;
        let bob = s.sign_up("bob@example.com", "Bob").await;
        let ada_data = ada.cookie_pair(DATA).expect("ada cache");

        // Bob's session token with Ada's cache: the cache is not Bob's, the database answers.
        let mixed = format!("{}; {ada_data}", bob.session_cookie());
        let resp = get_session(&s, &mixed, "").await;
        assert_eq!(
            resp.json()["user"]["email"],
            "bob@example.com",
            "{}",
            s.backend()
        );

        // A tampered cache entry is refused; the (valid) session is read from the database and
        // the cache rewritten.
        let (name, value) = ada_data.split_once('=').expect("pair");
        let mut tampered: Vec<char> = value.chars().collect();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        let forged = format!("{}; {name}={tampered}", ada.session_cookie());
        let resp = get_session(&s, &forged, "").await;
        assert_eq!(resp.json()["user"]["email"], "ada@example.com");
        assert!(resp.set_cookie(DATA).is_some(), "the cache is rewritten");
        s.close().await;
    }
}

#[tokio::test]
async fn the_cache_follows_the_session_cookie() {
    for s in cached_servers().await {
        let signed_up = s.sign_up("grace@example.com", "Grace").await;
        let cookies = both_cookies(&signed_up);
        let updated = s
            .post(
                "/update-user",
                json!({"name": "Grace Hopper"}),
                &s.with_cookie(&cookies),
            )
            .await;
        assert_eq!(updated.status, 200, "{}", updated.text);
        // update-user re-sends the session cookie, and with it a cache carrying the new name.
        let fresh = both_cookies(&updated);
        let resp = get_session(&s, &fresh, "").await;
        assert_eq!(
            resp.json()["user"]["name"],
            "Grace Hopper",
            "{}",
            s.backend()
        );

        // Signing in with dont_remember: the cache cookie is a session cookie too (no Max-Age).
        let signed_in = s
            .post(
                "/sign-in/email",
                json!({"email": "grace@example.com", "password": common::PASSWORD, "rememberMe": false}),
                &[],
            )
            .await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.text);
        let line = signed_in.set_cookie(DATA).expect("cache cookie");
        assert!(!line.contains("Max-Age"), "{line}");

        // Sign-out expires it.
        let out = s
            .post("/sign-out", json!({}), &s.with_cookie(&cookies))
            .await;
        let expired = out.set_cookie(DATA).expect("cache cookie expired");
        assert!(expired.contains("Max-Age=0"), "{expired}");
        s.close().await;
    }
}

#[tokio::test]
async fn with_the_cache_off_no_cache_is_written_and_leftovers_expire() {
    for s in servers().await {
        let signed_up = s.sign_up("off@example.com", "Off").await;
        assert_eq!(signed_up.set_cookie(DATA), None, "{}", s.backend());
        let token = signed_up.json()["token"]
            .as_str()
            .expect("token")
            .to_string();
        let leftover = format!("{}; {DATA}=bGVmdG92ZXI", signed_up.session_cookie());
        let resp = get_session(&s, &leftover, "").await;
        assert_eq!(resp.json()["user"]["email"], "off@example.com");
        let expired = resp.set_cookie(DATA).expect("leftover expired");
        assert!(expired.contains("Max-Age=0"), "{expired}");
        // The database is the only source: a deleted session is gone at once.
        assert!(s.service().delete_session(&token).await.expect("delete"));
        assert_eq!(get_session(&s, &leftover, "").await.json(), Value::Null);
        s.close().await;
    }
}

//! Black-box tests of the auth API over HTTP (`specs/better-auth-api.md` §1–5): each test runs
//! against a real server on 127.0.0.1:0 over every available database backend.

mod common;

use std::time::Duration;

use common::{servers, servers_with, TestServer, PASSWORD, SECRET};
use iam_server::entities::{MemberRole, NewAccount};
use iam_server::repos::{AccountRepo, MemberRepo, VerificationRepo};
use serde_json::{json, Value};
use shared_server::entities::{NewUser, UserPatch};
use shared_server::repos::{OrganizationRepo, SessionRepo, UserRepo};

const DAY: Duration = Duration::from_secs(86_400);

fn users(s: &TestServer) -> std::sync::Arc<UserRepo> {
    s.ctx.get::<UserRepo>().expect("UserRepo")
}

fn sessions(s: &TestServer) -> std::sync::Arc<SessionRepo> {
    s.ctx.get::<SessionRepo>().expect("SessionRepo")
}

async fn user_count(s: &TestServer) -> u64 {
    users(s)
        .count(&s.test.db, Default::default())
        .await
        .expect("count users")
}

// ---------------------------------------------------------------------------------------------
// Routing and request parsing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn routing_follows_better_auth() {
    for s in servers().await {
        let ok = s.get("/ok", &[]).await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.json(), json!({"ok": true}));
        assert_eq!(
            ok.header("content-type").as_deref(),
            Some("application/json")
        );

        for (method, path) in [
            ("POST", "/ok"),
            ("GET", "/ok/"),
            ("GET", "//ok"),
            ("GET", "/nope"),
            ("GET", "/sign-in/email"),
            ("DELETE", "/sign-out"),
            ("POST", "/forget-password"),
        ] {
            let request = s
                .http
                .request(method.parse().expect("method"), format!("{}{path}", s.auth));
            let resp = request.send().await.expect("send");
            assert_eq!(resp.status().as_u16(), 404, "{method} {path}");
            assert!(
                resp.text().await.expect("body").is_empty(),
                "{method} {path}: empty body"
            );
        }

        let post_session = s.post("/get-session", json!({}), &[]).await;
        assert_eq!(post_session.status, 405);
        assert_eq!(
            post_session.code().as_deref(),
            Some("METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED")
        );

        let page = s
            .get("/error?error=SOMETHING&error_description=%3Cb%3E", &[])
            .await;
        assert_eq!(page.status, 200);
        assert!(
            page.text.contains("SOMETHING") && page.text.contains("&lt;b&gt;"),
            "{}",
            page.text
        );
    }
}

#[tokio::test]
async fn bad_bodies_get_the_spec_errors_and_write_nothing() {
    for s in servers().await {
        let r = s
            .post_raw("/sign-up/email", Some("application/json"), "{not json")
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json(),
            json!({"message": "Invalid JSON in request body", "code": "BAD_REQUEST"})
        );

        let r = s
            .post_raw("/sign-up/email", Some("text/plain"), "hello")
            .await;
        assert_eq!(r.status, 415);
        assert_eq!(r.code().as_deref(), Some("UNSUPPORTED_MEDIA_TYPE"));
        assert_eq!(
            r.json()["message"],
            "Content-Type \"text/plain\" is not allowed. Allowed types: application/x-www-form-urlencoded, application/json"
        );
        let r = s
            .post_raw("/revoke-sessions", Some("text/plain"), "x")
            .await;
        assert_eq!(
            r.json()["message"],
            "Content-Type \"text/plain\" is not allowed. Allowed types: application/json"
        );

        for (body, field) in [
            (
                json!({"email": "a@b.co", "password": PASSWORD}),
                "[body.name]",
            ),
            (
                json!({"email": "not-an-email", "password": PASSWORD, "name": "x"}),
                "[body.email] Invalid email address",
            ),
            (
                json!({"email": "a@b.co", "password": "", "name": "x"}),
                "[body.password]",
            ),
            (
                json!({"email": "a@b.co", "password": PASSWORD, "name": "x", "rememberMe": "no"}),
                "[body.rememberMe]",
            ),
            (json!([1, 2]), "[body]"),
        ] {
            let r = s.post("/sign-up/email", body.clone(), &[]).await;
            assert_eq!(r.status, 400, "{body}");
            assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"), "{body}");
            let message = r.json()["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains(field), "{body}: {message}");
        }
        for (password, code) in [
            ("short", "PASSWORD_TOO_SHORT"),
            (&"x".repeat(129)[..], "PASSWORD_TOO_LONG"),
        ] {
            let r = s
                .post(
                    "/sign-up/email",
                    json!({"email": "a@b.co", "password": password, "name": "x"}),
                    &[],
                )
                .await;
            assert_eq!((r.status, r.code().as_deref()), (400, Some(code)));
        }
        // 128 UTF-16 units is the limit: 64 emoji are 128 units.
        let r = s
            .post(
                "/sign-up/email",
                json!({"email": "emoji@b.co", "password": "😀".repeat(65), "name": "x"}),
                &[],
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("PASSWORD_TOO_LONG"));

        // Form bodies are accepted by sign-up.
        let r = s
            .post_raw(
                "/sign-up/email",
                Some("application/x-www-form-urlencoded"),
                &format!("name=Form&email=form%40example.com&password={PASSWORD}"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            user_count(&s).await,
            1,
            "only the form sign-up wrote a user"
        );
        assert!(s.mailer.sent_to("a@b.co").is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-up, sign-in, cookies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sign_up_creates_the_user_personal_org_session_and_verification_email() {
    for s in servers().await {
        let r = s.sign_up("Ada@Example.com", "Ada Lovelace").await;
        let body = r.json();
        let token = body["token"].as_str().expect("token").to_string();
        assert_eq!(token.len(), 32);
        let user = &body["user"];
        assert_eq!(user["email"], "ada@example.com", "emails are lower-cased");
        assert_eq!(user["name"], "Ada Lovelace");
        assert_eq!(user["emailVerified"], false);
        assert_eq!(user["image"], Value::Null);
        for key in ["id", "createdAt", "updatedAt"] {
            assert!(user[key].is_string(), "{key}");
        }
        let created = user["createdAt"].as_str().unwrap_or_default();
        assert!(created.ends_with('Z') && created.len() == 24, "{created}");

        // Cookie: signed token, URL-encoded, better-auth's attributes in order.
        let signature = {
            use base64::Engine as _;
            use hmac::{Hmac, Mac};
            let mut mac =
                <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("hmac");
            mac.update(token.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        };
        let encoded = format!("{token}.{signature}")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        assert_eq!(
            r.set_cookie("better-auth.session_token").as_deref(),
            Some(format!("better-auth.session_token={encoded}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax").as_str())
        );
        assert_eq!(
            r.header("set-auth-token").as_deref(),
            Some(format!("{token}.{signature}").as_str())
        );
        assert_eq!(
            r.header("access-control-expose-headers").as_deref(),
            Some("set-auth-token")
        );

        // Personal organization, owner membership, active on the session.
        let stored = users(&s)
            .find_by_email(&s.test.db, "ada@example.com")
            .await
            .expect("find")
            .expect("user");
        let orgs = s.ctx.get::<OrganizationRepo>().expect("orgs");
        let page = orgs
            .list(
                &s.test.db,
                shared_server::entities::OrganizationFilter {
                    owner_user_id: Some(stored.id.clone()),
                    is_personal: Some(true),
                },
                Default::default(),
            )
            .await
            .expect("list");
        assert_eq!(page.items.len(), 1);
        let org = &page.items[0];
        assert_eq!(org.name, "Ada Lovelace's Organization");
        let id = stored.id.as_str();
        assert_eq!(
            org.slug,
            format!("ada-lovelaces-organization-{}", &id[id.len() - 6..])
        );
        assert_eq!(org.audit.source.as_deref(), Some("auto_created"));
        let member = s
            .ctx
            .get::<MemberRepo>()
            .expect("members")
            .find(&s.test.db, &org.id, &stored.id)
            .await
            .expect("find")
            .expect("member");
        assert_eq!(member.role, MemberRole::Owner);
        let session = sessions(&s)
            .find_by_token(&s.test.db, &token)
            .await
            .expect("find")
            .expect("session");
        assert_eq!(session.active_organization_id.as_ref(), Some(&org.id));
        let account = s
            .ctx
            .get::<AccountRepo>()
            .expect("accounts")
            .find_credential(&s.test.db, &stored.id)
            .await
            .expect("find")
            .expect("credential account");
        assert!(account
            .password
            .as_deref()
            .is_some_and(|p| p.starts_with("$argon2id$")));

        // The verification email links to the API with an absolute URL.
        let link = s.last_link_to("ada@example.com");
        assert!(
            link.starts_with(&format!("{}/verify-email?token=", s.auth))
                && link.ends_with("&callbackURL=%2F"),
            "{link}"
        );
        let sent = s.mailer.sent_to("ada@example.com");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].email.template_name(), Some("verify-email"));
        assert!(sent[0].in_transaction, "queued in the sign-up transaction");

        // Duplicate (any case): 422 and nothing written.
        let again = s
            .post(
                "/sign-up/email",
                json!({"email": "ADA@example.com", "password": PASSWORD, "name": "Other"}),
                &[],
            )
            .await;
        assert_eq!(again.status, 422);
        assert_eq!(
            again.json(),
            json!({"message": "User already exists. Use another email.", "code": "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"})
        );
        assert_eq!(user_count(&s).await, 1);
        assert_eq!(s.mailer.sent().len(), 1);
    }
}

#[tokio::test]
async fn sign_in_checks_the_password_and_opens_a_session() {
    for s in servers().await {
        s.sign_up("bob@example.com", "Bob").await;

        for (email, password) in [
            ("bob@example.com", "wrong-password"),
            ("nobody@example.com", PASSWORD),
            ("BOB@example.com", "wrong-password"),
        ] {
            let r = s.sign_in(email, password).await;
            assert_eq!(r.status, 401, "{email}");
            assert_eq!(
                r.json(),
                json!({"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"})
            );
            assert!(r.set_cookies().is_empty());
        }
        let r = s.sign_in("not-an-email", PASSWORD).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("INVALID_EMAIL"))
        );
        let r = s.sign_in("bob@example.com", &"x".repeat(129)).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("PASSWORD_TOO_LONG"))
        );

        let r = s.sign_in("Bob@Example.com", PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let body = r.json();
        assert_eq!(body["redirect"], false);
        assert!(body.get("url").is_none());
        assert_eq!(body["user"]["email"], "bob@example.com");
        let token = body["token"].as_str().expect("token");
        let cookie = r.session_cookie();

        // The session is readable by cookie, by signed bearer and by raw bearer.
        let by_cookie = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert_eq!(by_cookie.status, 200);
        assert_eq!(by_cookie.json()["session"]["token"], token);
        assert_eq!(by_cookie.json()["user"]["email"], "bob@example.com");
        assert_eq!(
            by_cookie.header("cache-control").as_deref(),
            Some("no-store")
        );
        assert_eq!(by_cookie.header("pragma").as_deref(), Some("no-cache"));
        let signed = r.header("set-auth-token").expect("set-auth-token");
        for bearer in [format!("Bearer {signed}"), format!("bearer {token}")] {
            let resp = s.get("/get-session", &[("authorization", &bearer)]).await;
            assert_eq!(resp.json()["session"]["token"], token, "{bearer}");
        }

        // With a callbackURL: redirect flag, url and Location.
        let r = s
            .post(
                "/sign-in/email",
                json!({"email": "bob@example.com", "password": PASSWORD, "callbackURL": "/dashboard"}),
                &[],
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["redirect"], true);
        assert_eq!(r.json()["url"], "/dashboard");
        assert_eq!(r.header("location").as_deref(), Some("/dashboard"));
    }
}

#[tokio::test]
async fn missing_forged_and_expired_credentials_read_as_no_session() {
    for s in servers().await {
        let r = s.sign_up("carol@example.com", "Carol").await;
        let cookie = r.session_cookie();
        let token = r.json()["token"].as_str().expect("token").to_string();

        let none = s.get("/get-session", &[]).await;
        assert_eq!((none.status, none.text.as_str()), (200, "null"));
        let forged = cookie.replace("%3D", "%3E");
        for bad in [
            forged.as_str(),
            "better-auth.session_token=garbage",
            &format!("better-auth.session_token={token}"),
            &cookie[..cookie.len() - 6],
        ] {
            let r = s.get("/get-session", &[("cookie", bad)]).await;
            assert_eq!(r.text, "null", "{bad}");
        }
        let r = s
            .get(
                "/get-session",
                &[("authorization", &format!("Bearer {token}.AAAA"))],
            )
            .await;
        assert_eq!(r.text, "null");

        // Past its expiry the session is gone: null, cookies expired, row deleted.
        s.advance(Duration::from_secs(31 * 86_400));
        let r = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert_eq!(r.text, "null");
        let expired = r.set_cookies();
        for name in [
            "better-auth.session_token",
            "better-auth.session_data",
            "better-auth.dont_remember",
        ] {
            assert!(
                expired.contains(&format!(
                    "{name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
                )),
                "{name} in {expired:?}"
            );
        }
        let left = sessions(&s)
            .count(&s.test.db, Default::default())
            .await
            .expect("count");
        assert_eq!(left, 0, "the expired row was deleted");
    }
}

#[tokio::test]
async fn get_session_slides_the_expiry_by_update_age() {
    for s in servers().await {
        let r = s.sign_up("dan@example.com", "Dan").await;
        let cookie = r.session_cookie();
        let first = s.get("/get-session", &[("cookie", &cookie)]).await;
        let expires_before = first.json()["session"]["expiresAt"].clone();
        assert!(first.set_cookies().is_empty(), "not due: no cookie");

        s.advance(DAY + Duration::from_secs(1));
        let skipped = s
            .get("/get-session?disableRefresh=false", &[("cookie", &cookie)])
            .await;
        assert_eq!(
            skipped.json()["session"]["expiresAt"],
            expires_before,
            "any value disables"
        );

        let refreshed = s.get("/get-session", &[("cookie", &cookie)]).await;
        let expires_after = refreshed.json()["session"]["expiresAt"].clone();
        assert_ne!(expires_after, expires_before);
        let expected = s.clock_now_plus(Duration::from_secs(30 * 86_400));
        assert_eq!(expires_after, json!(expected));
        assert!(
            refreshed
                .set_cookie("better-auth.session_token")
                .is_some_and(|c| c.contains("Max-Age=2592000")),
            "{:?}",
            refreshed.set_cookies()
        );
        assert!(refreshed.header("set-auth-token").is_some());

        // A stale session_data cookie is expired (the cookie cache is off).
        let r = s
            .get(
                "/get-session",
                &[("cookie", &format!("{cookie}; better-auth.session_data=abc"))],
            )
            .await;
        assert!(r
            .set_cookie("better-auth.session_data")
            .is_some_and(|c| c.contains("Max-Age=0")));
    }
}

trait ClockExt {
    fn clock_now_plus(&self, by: Duration) -> String;
}

impl ClockExt for TestServer {
    fn clock_now_plus(&self, by: Duration) -> String {
        use shared_server::Clock as _;
        self.clock.now().plus(by).to_rfc3339()
    }
}

#[tokio::test]
async fn dont_remember_sessions_last_a_day_and_are_not_refreshed() {
    for s in servers().await {
        s.sign_up("erin@example.com", "Erin").await;
        let r = s
            .post(
                "/sign-in/email",
                json!({"email": "erin@example.com", "password": PASSWORD, "rememberMe": false}),
                &[],
            )
            .await;
        assert_eq!(r.status, 200);
        let session_line = r
            .set_cookie("better-auth.session_token")
            .expect("session cookie");
        assert!(!session_line.contains("Max-Age"), "{session_line}");
        let marker = r.set_cookie("better-auth.dont_remember").expect("marker");
        assert!(
            marker.ends_with("; Path=/; HttpOnly; SameSite=Lax") && !marker.contains("Max-Age")
        );
        let cookies = format!(
            "{}; {}",
            r.session_cookie(),
            r.cookie_pair("better-auth.dont_remember").expect("pair")
        );
        let got = s.get("/get-session", &[("cookie", &cookies)]).await;
        assert_eq!(
            got.json()["session"]["expiresAt"],
            json!(s.clock_now_plus(DAY))
        );

        s.advance(Duration::from_secs(86_000));
        let got = s.get("/get-session", &[("cookie", &cookies)]).await;
        assert!(
            got.set_cookies().is_empty(),
            "no refresh while dont_remember is set"
        );
        s.advance(Duration::from_secs(500));
        assert_eq!(
            s.get("/get-session", &[("cookie", &cookies)]).await.text,
            "null"
        );
    }
}

#[tokio::test]
async fn sign_out_deletes_the_session_and_expires_cookies() {
    for s in servers().await {
        let r = s.sign_up("fay@example.com", "Fay").await;
        let cookie = r.session_cookie();
        let out = s
            .post("/sign-out", json!({}), &s.with_cookie(&cookie))
            .await;
        assert_eq!(out.status, 200);
        assert_eq!(out.json(), json!({"success": true}));
        assert!(out
            .set_cookie("better-auth.session_token")
            .is_some_and(|c| c.contains("Max-Age=0")));
        assert!(out.header("set-auth-token").is_none());
        assert_eq!(
            s.get("/get-session", &[("cookie", &cookie)]).await.text,
            "null"
        );
        // Without a session it still succeeds.
        let out = s.post("/sign-out", json!({}), &[]).await;
        assert_eq!(out.json(), json!({"success": true}));
    }
}

#[tokio::test]
async fn cookie_requests_need_a_trusted_origin_and_login_checks_fetch_metadata() {
    for s in servers_with(|c| c.trusted_origins = vec!["https://app.example.com".into()]).await {
        let r = s.sign_up("gil@example.com", "Gil").await;
        let cookie = r.session_cookie();
        let token = r.json()["token"].as_str().expect("token").to_string();

        let r = s
            .post("/revoke-other-sessions", json!({}), &[("cookie", &cookie)])
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (403, Some("MISSING_OR_NULL_ORIGIN"))
        );
        let r = s
            .post(
                "/revoke-other-sessions",
                json!({}),
                &[("cookie", &cookie), ("origin", "https://evil.example")],
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (403, Some("INVALID_ORIGIN"))
        );
        for origin in ["https://app.example.com", s.origin.as_str()] {
            let r = s
                .post(
                    "/revoke-other-sessions",
                    json!({}),
                    &[("cookie", &cookie), ("origin", origin)],
                )
                .await;
            assert_eq!(r.status, 200, "{origin}: {}", r.text);
        }
        let r = s
            .post(
                "/revoke-other-sessions",
                json!({}),
                &[
                    ("cookie", &cookie),
                    ("referer", "https://app.example.com/settings"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
        // Bearer requests carry no cookie and need no Origin.
        let r = s
            .post(
                "/revoke-other-sessions",
                json!({}),
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await;
        assert_eq!(r.status, 200);

        // Login CSRF.
        let login = json!({"email": "gil@example.com", "password": PASSWORD});
        let r = s
            .post(
                "/sign-in/email",
                login.clone(),
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("sec-fetch-mode", "navigate"),
                ],
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (403, Some("CROSS_SITE_NAVIGATION_LOGIN_BLOCKED"))
        );
        let r = s
            .post(
                "/sign-in/email",
                login.clone(),
                &[("sec-fetch-mode", "cors")],
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (403, Some("MISSING_OR_NULL_ORIGIN"))
        );
        let r = s
            .post(
                "/sign-in/email",
                login.clone(),
                &[
                    ("sec-fetch-mode", "cors"),
                    ("origin", "https://evil.example"),
                ],
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("INVALID_ORIGIN"));
        let r = s
            .post(
                "/sign-in/email",
                login.clone(),
                &[
                    ("sec-fetch-mode", "cors"),
                    ("origin", "https://app.example.com"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);

        // Redirect targets.
        let mut with_cb = login.clone();
        with_cb["callbackURL"] = json!("https://evil.example/x");
        let r = s.post("/sign-in/email", with_cb, &[]).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (403, Some("INVALID_CALLBACK_URL"))
        );
        let r = s
            .post(
                "/request-password-reset",
                json!({"email": "gil@example.com", "redirectTo": "//evil.example"}),
                &[],
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (403, Some("INVALID_REDIRECT_URL"))
        );
        assert!(
            s.mailer.sent_to("gil@example.com").len() == 1,
            "only the sign-up email"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sessions_are_listed_and_revoked() {
    for s in servers().await {
        let first = s.sign_up("hal@example.com", "Hal").await;
        let current = first.session_cookie();
        let current_token = first.json()["token"].as_str().expect("t").to_string();
        let second = s.sign_in("hal@example.com", PASSWORD).await.json()["token"]
            .as_str()
            .expect("t")
            .to_string();
        let third = s.sign_in("hal@example.com", PASSWORD).await.json()["token"]
            .as_str()
            .expect("t")
            .to_string();
        let other = s.sign_up("ivy@example.com", "Ivy").await.json()["token"]
            .as_str()
            .expect("t")
            .to_string();
        let h = s.with_cookie(&current);

        let list = s.get("/list-sessions", &h).await;
        assert_eq!(list.status, 200);
        let items = list.json();
        let tokens: Vec<&str> = items
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|x| x["token"].as_str())
            .collect();
        assert_eq!(tokens.len(), 3);
        assert!(tokens.contains(&second.as_str()) && !tokens.contains(&other.as_str()));
        let one = &items[0];
        for key in [
            "id",
            "token",
            "userId",
            "expiresAt",
            "createdAt",
            "updatedAt",
            "ipAddress",
            "userAgent",
            "activeOrganizationId",
            "activeTeamId",
        ] {
            assert!(one.get(key).is_some(), "{key} in {one}");
        }
        assert_eq!(one["ipAddress"], "");

        // Someone else's token: nothing happens.
        let r = s.post("/revoke-session", json!({"token": other}), &h).await;
        assert_eq!(r.json(), json!({"status": true}));
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &other)
            .await
            .expect("find")
            .is_some());

        let r = s
            .post("/revoke-session", json!({"token": second}), &h)
            .await;
        assert_eq!(r.json(), json!({"status": true}));
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &second)
            .await
            .expect("find")
            .is_none());

        let r = s.post("/revoke-other-sessions", json!({}), &h).await;
        assert_eq!(r.json(), json!({"status": true}));
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &third)
            .await
            .expect("find")
            .is_none());
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &current_token)
            .await
            .expect("find")
            .is_some());

        let r = s.post("/revoke-sessions", json!({}), &h).await;
        assert_eq!(r.json(), json!({"status": true}));
        assert!(
            r.set_cookies().is_empty(),
            "revoke-sessions leaves cookies alone"
        );
        assert_eq!(
            s.get("/get-session", &[("cookie", &current)]).await.text,
            "null"
        );
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &other)
            .await
            .expect("find")
            .is_some());

        // Unauthenticated: 401; but validation (400) comes first.
        let r = s.get("/list-sessions", &[]).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json(),
            json!({"message": "Unauthorized", "code": "UNAUTHORIZED"})
        );
        let r = s.post("/revoke-session", json!({}), &[]).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("VALIDATION_ERROR"))
        );
    }
}

#[tokio::test]
async fn list_sessions_needs_a_fresh_session_and_own_revoke_clears_cookies() {
    for s in servers().await {
        let r = s.sign_up("jo@example.com", "Jo").await;
        let cookie = r.session_cookie();
        let token = r.json()["token"].as_str().expect("t").to_string();
        s.advance(DAY + Duration::from_secs(5));
        let h = s.with_cookie(&cookie);
        let list = s.get("/list-sessions?disableRefresh=1", &h).await;
        assert_eq!(
            (list.status, list.code().as_deref()),
            (403, Some("SESSION_NOT_FRESH"))
        );

        let r = s.post("/revoke-session", json!({"token": token}), &h).await;
        assert_eq!(r.json(), json!({"status": true}));
        assert!(r
            .set_cookie("better-auth.session_token")
            .is_some_and(|c| c.contains("Max-Age=0")));
    }
}

// ---------------------------------------------------------------------------------------------
// The user's account
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn update_user_changes_name_and_image_only() {
    for s in servers().await {
        let r = s.sign_up("kim@example.com", "Kim").await;
        let cookie = r.session_cookie();
        let h = s.with_cookie(&cookie);

        let r = s
            .post(
                "/update-user",
                json!({"name": "Kim Lee", "image": "https://img.example/k.png"}),
                &h,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json(), json!({"status": true}));
        assert!(
            r.set_cookie("better-auth.session_token").is_some(),
            "cookie re-sent"
        );
        let me = s.get("/get-session", &[("cookie", &cookie)]).await.json();
        assert_eq!(me["user"]["name"], "Kim Lee");
        assert_eq!(me["user"]["image"], "https://img.example/k.png");

        let r = s.post("/update-user", json!({"image": null}), &h).await;
        assert_eq!(r.status, 200);
        let me = s.get("/get-session", &[("cookie", &cookie)]).await.json();
        assert_eq!(me["user"]["image"], Value::Null);

        for (body, status, expected) in [
            (
                json!({"email": "new@example.com"}),
                400,
                json!({"message": "Email can not be updated", "code": "EMAIL_CAN_NOT_BE_UPDATED"}),
            ),
            (json!({}), 400, json!({"message": "No fields to update"})),
            (
                json!({"unknown": 1}),
                400,
                json!({"message": "No fields to update"}),
            ),
            (
                json!({"name": "x", "emailVerified": true}),
                400,
                json!({"message": "emailVerified is not allowed to be set", "code": "FIELD_NOT_ALLOWED"}),
            ),
            (
                json!(["name"]),
                400,
                json!({"message": "Body must be an object", "code": "BODY_MUST_BE_AN_OBJECT"}),
            ),
        ] {
            let r = s.post("/update-user", body.clone(), &h).await;
            assert_eq!((r.status, r.json()), (status, expected), "{body}");
        }
        let me = s.get("/get-session", &[("cookie", &cookie)]).await.json();
        assert_eq!(me["user"]["emailVerified"], false);
        assert_eq!(me["user"]["name"], "Kim Lee");
        let r = s.post("/update-user", json!({"name": "x"}), &[]).await;
        assert_eq!(r.status, 401);
    }
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_can_revoke_sessions() {
    for s in servers().await {
        let r = s.sign_up("lee@example.com", "Lee").await;
        let cookie = r.session_cookie();
        let h = s.with_cookie(&cookie);
        let other = s.sign_in("lee@example.com", PASSWORD).await.json()["token"]
            .as_str()
            .expect("t")
            .to_string();

        let r = s
            .post(
                "/change-password",
                json!({"currentPassword": "wrong-one!", "newPassword": "new-password-1"}),
                &h,
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("INVALID_PASSWORD"))
        );
        let r = s
            .post(
                "/change-password",
                json!({"currentPassword": PASSWORD, "newPassword": "short"}),
                &h,
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("PASSWORD_TOO_SHORT"));
        let r = s
            .post(
                "/change-password",
                json!({"newPassword": "new-password-1"}),
                &h,
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"));

        let r = s
            .post(
                "/change-password",
                json!({"currentPassword": PASSWORD, "newPassword": "new-password-1"}),
                &h,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["token"], Value::Null);
        assert_eq!(r.json()["user"]["email"], "lee@example.com");
        assert_eq!(s.sign_in("lee@example.com", PASSWORD).await.status, 401);
        assert_eq!(
            s.sign_in("lee@example.com", "new-password-1").await.status,
            200
        );
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &other)
            .await
            .expect("find")
            .is_some());

        let r = s
            .post(
                "/change-password",
                json!({"currentPassword": "new-password-1", "newPassword": "new-password-2", "revokeOtherSessions": true}),
                &h,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let new_token = r.json()["token"].as_str().expect("new token").to_string();
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &other)
            .await
            .expect("find")
            .is_none());
        assert_eq!(
            s.get("/get-session", &[("cookie", &cookie)]).await.text,
            "null",
            "current replaced"
        );
        let new_cookie = r.session_cookie();
        let me = s
            .get("/get-session", &[("cookie", &new_cookie)])
            .await
            .json();
        assert_eq!(me["session"]["token"], new_token);
    }
}

#[tokio::test]
async fn better_auth_scrypt_hashes_verify_and_are_upgraded() {
    for s in servers().await {
        let users = users(&s);
        let user = users
            .insert(
                &s.test.db,
                NewUser::new("Legacy", "legacy@example.com"),
                "import",
            )
            .await
            .expect("user");
        let hash = iam_server::services::password::better_auth_scrypt_hash(
            "legacy-password",
            "000102030405060708090a0b0c0d0e0f",
        )
        .expect("scrypt");
        let accounts = s.ctx.get::<AccountRepo>().expect("accounts");
        accounts
            .insert(
                &s.test.db,
                NewAccount::credential(&user.id, hash.clone()),
                "import",
            )
            .await
            .expect("account");

        assert_eq!(
            s.sign_in("legacy@example.com", "wrong-password")
                .await
                .status,
            401
        );
        let stored = accounts
            .find_credential(&s.test.db, &user.id)
            .await
            .expect("find")
            .expect("account");
        assert_eq!(
            stored.password.as_deref(),
            Some(hash.as_str()),
            "no upgrade on failure"
        );

        let r = s.sign_in("legacy@example.com", "legacy-password").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let stored = accounts
            .find_credential(&s.test.db, &user.id)
            .await
            .expect("find")
            .expect("account");
        let upgraded = stored.password.expect("hash");
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{upgraded}"
        );
        assert_eq!(
            s.sign_in("legacy@example.com", "legacy-password")
                .await
                .status,
            200
        );
        // A user without a personal organization gets a session without an active one.
        assert_eq!(r.json()["user"]["name"], "Legacy");
    }
}

#[tokio::test]
async fn delete_user_needs_the_password_or_a_fresh_session() {
    for s in servers().await {
        let r = s.sign_up("max@example.com", "Max").await;
        let cookie = r.session_cookie();
        let h = s.with_cookie(&cookie);
        let r = s
            .post("/delete-user", json!({"password": "wrong-password"}), &h)
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("INVALID_PASSWORD"))
        );

        s.advance(DAY + Duration::from_secs(1));
        let r = s
            .get("/get-session?disableRefresh=true", &[("cookie", &cookie)])
            .await;
        assert_eq!(r.status, 200);
        let r = s.post("/delete-user", json!({}), &h).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("SESSION_EXPIRED"))
        );

        let r = s
            .post("/delete-user", json!({"password": PASSWORD}), &h)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.json(),
            json!({"success": true, "message": "User deleted"})
        );
        assert!(r
            .set_cookie("better-auth.session_token")
            .is_some_and(|c| c.contains("Max-Age=0")));
        assert_eq!(user_count(&s).await, 0);
        let orgs = s.ctx.get::<OrganizationRepo>().expect("orgs");
        assert_eq!(
            orgs.count(&s.test.db, Default::default())
                .await
                .expect("count"),
            0,
            "personal org removed"
        );
        assert_eq!(s.sign_in("max@example.com", PASSWORD).await.status, 401);
    }
    for s in servers_with(|c| c.delete_user_enabled = false).await {
        let cookie = s.sign_up("nan@example.com", "Nan").await.session_cookie();
        let r = s
            .post(
                "/delete-user",
                json!({"password": PASSWORD}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(r.status, 404);
        assert!(r.text.is_empty());
        assert_eq!(user_count(&s).await, 1);
    }
}

#[tokio::test]
async fn verify_password_and_list_accounts() {
    for s in servers().await {
        let cookie = s.sign_up("ola@example.com", "Ola").await.session_cookie();
        let h = s.with_cookie(&cookie);
        let r = s
            .post("/verify-password", json!({"password": PASSWORD}), &h)
            .await;
        assert_eq!(r.json(), json!({"status": true}));
        let r = s
            .post("/verify-password", json!({"password": "nope-nope"}), &h)
            .await;
        assert_eq!(r.code().as_deref(), Some("INVALID_PASSWORD"));
        let r = s.get("/list-accounts", &h).await;
        let accounts = r.json();
        assert_eq!(accounts.as_array().map(Vec::len), Some(1));
        assert_eq!(accounts[0]["providerId"], "credential");
        assert_eq!(accounts[0]["scopes"], json!([]));
        assert!(accounts[0].get("password").is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// Password reset and email verification
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn password_reset_works_once_through_the_emailed_link() {
    for s in servers().await {
        s.sign_up("pia@example.com", "Pia").await;
        let expected = json!({
            "status": true,
            "message": "If this email exists in our system, check your email for the reset link",
        });
        let r = s
            .post(
                "/request-password-reset",
                json!({"email": "ghost@example.com"}),
                &[],
            )
            .await;
        assert_eq!((r.status, r.json()), (200, expected.clone()));
        assert!(s.mailer.sent_to("ghost@example.com").is_empty());

        let r = s
            .post(
                "/request-password-reset",
                json!({"email": "PIA@example.com", "redirectTo": "/reset"}),
                &[],
            )
            .await;
        assert_eq!((r.status, r.json()), (200, expected));
        let link = s.last_link_to("pia@example.com");
        let prefix = format!("{}/reset-password/", s.auth);
        assert!(
            link.starts_with(&prefix) && link.ends_with("?callbackURL=%2Freset"),
            "{link}"
        );
        let token = link[prefix.len()..]
            .split('?')
            .next()
            .expect("token")
            .to_string();
        assert_eq!(token.len(), 24);

        // The token is not stored in plain text.
        let mut pooled = s.test.db.acquire().await.expect("conn");
        let sql = shared_server::db::repo::Sql::new("SELECT identifier FROM iam_verification");
        let identifiers: Vec<(String,)> = sql.fetch_all(&mut pooled.conn()).await.expect("rows");
        assert_eq!(identifiers.len(), 1);
        assert!(!identifiers[0].0.contains(&token));
        drop(pooled);

        // The emailed link redirects to the callback with the token (not consumed).
        let r = s.http.get(&link).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 302);
        let location = r.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        assert_eq!(location, format!("{}/reset?token={token}", s.origin));
        let r = s
            .get("/reset-password/NOPE?callbackURL=%2Freset%3Fa%3D1", &[])
            .await;
        assert_eq!(
            r.header("location"),
            Some(format!("{}/reset?a=1&error=INVALID_TOKEN", s.origin))
        );
        let r = s.get(&format!("/reset-password/{token}"), &[]).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("VALIDATION_ERROR"))
        );
        let r = s
            .get(
                &format!("/reset-password/{token}?callbackURL=https%3A%2F%2Fevil.example"),
                &[],
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (403, Some("INVALID_CALLBACK_URL"))
        );

        // Reset: bad inputs first, nothing consumed.
        let r = s
            .post(
                "/reset-password",
                json!({"newPassword": "brand-new-pass"}),
                &[],
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("INVALID_TOKEN"))
        );
        let r = s
            .post(
                "/reset-password",
                json!({"newPassword": "short", "token": token}),
                &[],
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("PASSWORD_TOO_SHORT"));
        let r = s
            .post(
                "/reset-password",
                json!({"newPassword": "brand-new-pass", "token": "wrong"}),
                &[],
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("INVALID_TOKEN"));

        let r = s
            .post(
                &format!("/reset-password?token={token}"),
                json!({"newPassword": "brand-new-pass"}),
                &[],
            )
            .await;
        assert_eq!((r.status, r.json()), (200, json!({"status": true})));
        let r = s
            .post(
                "/reset-password",
                json!({"newPassword": "another-pass-9", "token": token}),
                &[],
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("INVALID_TOKEN")),
            "single use"
        );
        assert_eq!(s.sign_in("pia@example.com", PASSWORD).await.status, 401);
        assert_eq!(
            s.sign_in("pia@example.com", "brand-new-pass").await.status,
            200
        );

        // An expired token is refused.
        s.post(
            "/request-password-reset",
            json!({"email": "pia@example.com"}),
            &[],
        )
        .await;
        let link = s.last_link_to("pia@example.com");
        assert!(link.ends_with("?callbackURL="), "{link}");
        let token = link[prefix.len()..]
            .split('?')
            .next()
            .expect("token")
            .to_string();
        s.advance(Duration::from_secs(3601));
        let r = s
            .post(
                "/reset-password",
                json!({"newPassword": "brand-new-pass-2", "token": token}),
                &[],
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("INVALID_TOKEN"));
        let _ = VerificationRepo::clone(&s.ctx.get::<VerificationRepo>().expect("repo"));
    }
}

#[tokio::test]
async fn password_reset_can_revoke_every_session() {
    for s in servers_with(|c| c.revoke_sessions_on_password_reset = true).await {
        let cookie = s.sign_up("quin@example.com", "Quin").await.session_cookie();
        s.post(
            "/request-password-reset",
            json!({"email": "quin@example.com"}),
            &[],
        )
        .await;
        let link = s.last_link_to("quin@example.com");
        let token = link
            .rsplit('/')
            .next()
            .and_then(|t| t.split('?').next())
            .expect("token");
        let r = s
            .post(
                "/reset-password",
                json!({"newPassword": "brand-new-pass", "token": token}),
                &[],
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            s.get("/get-session", &[("cookie", &cookie)]).await.text,
            "null"
        );
    }
}

#[tokio::test]
async fn email_verification_links_verify_once_valid() {
    for s in servers().await {
        let cookie = s.sign_up("rae@example.com", "Rae").await.session_cookie();
        let link = s.last_link_to("rae@example.com");
        let query = link.split_once('?').map(|(_, q)| q).expect("query");
        let token = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .expect("token");

        // Bad tokens: 401 with a code, or a redirect with ?error= when a callbackURL is given.
        let r = s.get("/verify-email?token=garbage", &[]).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (401, Some("INVALID_TOKEN"))
        );
        let r = s
            .get(
                "/verify-email?token=garbage&callbackURL=%2Fdone%3Fx%3D1",
                &[],
            )
            .await;
        assert_eq!(
            (r.status, r.header("location").as_deref()),
            (302, Some("/done?x=1&error=INVALID_TOKEN"))
        );
        let r = s.get("/verify-email", &[]).await;
        assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"));
        let r = s
            .get(
                &format!("/verify-email?token={token}&callbackURL=https%3A%2F%2Fevil.example"),
                &[],
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("INVALID_CALLBACK_URL"));

        // The emailed link itself.
        let r = s.http.get(&link).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 302);
        assert_eq!(r.headers()["location"], "/");
        let me = s.get("/get-session", &[("cookie", &cookie)]).await.json();
        assert_eq!(me["user"]["emailVerified"], true);
        let r = s.get(&format!("/verify-email?token={token}"), &[]).await;
        assert_eq!(
            (r.status, r.json()),
            (200, json!({"status": true, "user": null}))
        );

        // Already verified: send-verification-email with the session refuses.
        let h = s.with_cookie(&cookie);
        let r = s
            .post(
                "/send-verification-email",
                json!({"email": "rae@example.com"}),
                &h,
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("EMAIL_ALREADY_VERIFIED"));
        let r = s
            .post(
                "/send-verification-email",
                json!({"email": "other@example.com"}),
                &h,
            )
            .await;
        assert_eq!(r.code().as_deref(), Some("EMAIL_MISMATCH"));

        // Expired token.
        s.advance(Duration::from_secs(3601));
        let r = s.get(&format!("/verify-email?token={token}"), &[]).await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (401, Some("TOKEN_EXPIRED"))
        );
    }
}

#[tokio::test]
async fn send_verification_email_without_a_session_is_uniform_and_slow() {
    for s in servers().await {
        s.sign_up("sam@example.com", "Sam").await;
        s.mailer.take();
        for email in ["sam@example.com", "ghost@example.com"] {
            let started = std::time::Instant::now();
            let r = s
                .post("/send-verification-email", json!({"email": email}), &[])
                .await;
            assert_eq!(
                (r.status, r.json()),
                (200, json!({"status": true})),
                "{email}"
            );
            assert!(
                started.elapsed() >= Duration::from_millis(500),
                "{email}: timing floor"
            );
        }
        assert_eq!(s.mailer.sent_to("sam@example.com").len(), 1);
        assert!(s.mailer.sent_to("ghost@example.com").is_empty());
    }
}

#[tokio::test]
async fn change_email_completes_through_the_new_address() {
    for s in servers().await {
        let cookie = s.sign_up("tia@example.com", "Tia").await.session_cookie();
        s.sign_up("taken@example.com", "Taken").await;
        let h = s.with_cookie(&cookie);

        let r = s
            .post("/change-email", json!({"newEmail": "TIA@example.com"}), &h)
            .await;
        assert_eq!(
            (r.status, r.json()),
            (400, json!({"message": "Email is the same"}))
        );
        let r = s
            .post("/change-email", json!({"newEmail": "nope"}), &h)
            .await;
        assert_eq!(r.code().as_deref(), Some("VALIDATION_ERROR"));
        let r = s
            .post(
                "/change-email",
                json!({"newEmail": "taken@example.com"}),
                &h,
            )
            .await;
        assert_eq!((r.status, r.json()), (200, json!({"status": true})));
        assert_eq!(
            s.mailer.sent_to("taken@example.com").len(),
            1,
            "only its own sign-up email"
        );

        let r = s
            .post(
                "/change-email",
                json!({"newEmail": "tia.new@example.com", "callbackURL": "/profile"}),
                &h,
            )
            .await;
        assert_eq!((r.status, r.json()), (200, json!({"status": true})));
        let link = s.last_link_to("tia.new@example.com");
        assert!(link.ends_with("&callbackURL=%2Fprofile"), "{link}");
        let path = link.strip_prefix(&s.auth).expect("own link");

        // Another signed-in user cannot complete it.
        let intruder = s
            .sign_in("taken@example.com", PASSWORD)
            .await
            .session_cookie();
        let r = s
            .get(
                path.trim_end_matches("&callbackURL=%2Fprofile"),
                &[("cookie", &intruder)],
            )
            .await;
        assert_eq!((r.status, r.code().as_deref()), (401, Some("INVALID_USER")));

        let r = s.get(path, &[("cookie", &cookie)]).await;
        assert_eq!(
            (r.status, r.header("location").as_deref()),
            (302, Some("/profile"))
        );
        assert!(
            r.set_cookie("better-auth.session_token").is_some(),
            "cookie re-sent"
        );
        let me = s.get("/get-session", &[("cookie", &cookie)]).await.json();
        assert_eq!(me["user"]["email"], "tia.new@example.com");
        assert_eq!(me["user"]["emailVerified"], true);
        assert_eq!(s.sign_in("tia.new@example.com", PASSWORD).await.status, 200);
    }
}

// ---------------------------------------------------------------------------------------------
// AuthContext resolution
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_resolver_reads_cookies_and_bearers_and_reselects_the_organization() {
    for s in servers().await {
        let r = s.sign_up("uma@example.com", "Uma").await;
        let cookie = r.session_cookie();
        let token = r.json()["token"].as_str().expect("t").to_string();
        let resolver = s.resolver();

        let ctx = resolver
            .resolve(&TestServer::cookie_headers(&cookie))
            .await
            .expect("resolve")
            .expect("a caller");
        assert_eq!(ctx.user.email, "uma@example.com");
        let personal = ctx.organization.clone().expect("personal organization");
        assert!(personal.is_personal);
        assert_eq!(ctx.session.token, token);

        let mut bearer = axum::http::HeaderMap::new();
        bearer.insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let by_bearer = resolver
            .resolve(&bearer)
            .await
            .expect("resolve")
            .expect("caller");
        assert_eq!(by_bearer.user.id, ctx.user.id);

        for bad in ["better-auth.session_token=forged.sig", ""] {
            let headers = if bad.is_empty() {
                axum::http::HeaderMap::new()
            } else {
                TestServer::cookie_headers(bad)
            };
            assert!(resolver.resolve(&headers).await.expect("resolve").is_none());
        }

        // Losing the active membership: the next resolution picks personal-first again.
        let orgs = s.ctx.get::<OrganizationRepo>().expect("orgs");
        let team = orgs
            .insert(
                &s.test.db,
                shared_server::entities::NewOrganization::new(
                    "Team",
                    "team-uma",
                    ctx.user.id.clone(),
                ),
                "test",
            )
            .await
            .expect("org");
        sessions(&s)
            .set_active_organization(&s.test.db, &ctx.session.id, Some(&team.id), None)
            .await
            .expect("switch");
        let again = resolver
            .resolve(&TestServer::cookie_headers(&cookie))
            .await
            .expect("resolve")
            .expect("caller");
        assert_eq!(again.organization.map(|o| o.id), Some(personal.id.clone()));
        assert_eq!(
            again.session.active_organization_id,
            Some(personal.id.clone()),
            "persisted"
        );

        // Banned users resolve to nobody until the ban expires.
        let user = users(&s).get(&s.test.db, &ctx.user.id).await.expect("user");
        users(&s)
            .update(
                &s.test.db,
                &user.id,
                user.audit.version,
                UserPatch {
                    banned: Some(true),
                    ban_expires: Some(Some(s.clock_now_ts_plus(Duration::from_secs(60)))),
                    ..UserPatch::default()
                },
                "admin",
            )
            .await
            .expect("ban");
        assert!(resolver
            .resolve(&TestServer::cookie_headers(&cookie))
            .await
            .expect("resolve")
            .is_none());
        s.advance(Duration::from_secs(61));
        assert!(resolver
            .resolve(&TestServer::cookie_headers(&cookie))
            .await
            .expect("resolve")
            .is_some());

        // Expired sessions resolve to nobody.
        s.advance(Duration::from_secs(31 * 86_400));
        assert!(resolver
            .resolve(&TestServer::cookie_headers(&cookie))
            .await
            .expect("resolve")
            .is_none());
    }
}

trait ClockTs {
    fn clock_now_ts_plus(&self, by: Duration) -> shared_server::Timestamp;
}

impl ClockTs for TestServer {
    fn clock_now_ts_plus(&self, by: Duration) -> shared_server::Timestamp {
        use shared_server::Clock as _;
        self.clock.now().plus(by)
    }
}

// ---------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn value(&mut self, depth: u32) -> Value {
        let strings = [
            "", "a", "x@y.co", "/", "//evil", "😀😀", "null", "true", "0", "%2F", "\u{0}", "a'b\"c",
        ];
        match self.next() % if depth == 0 { 5 } else { 7 } {
            0 => Value::Null,
            1 => json!(self.next() % 2 == 0),
            2 => json!((self.next() % 1000) as i64 - 500),
            3 => json!(self.pick(&strings)),
            4 => json!("z".repeat((self.next() % 300) as usize)),
            5 => Value::Array(
                (0..self.next() % 3)
                    .map(|_| self.value(depth - 1))
                    .collect(),
            ),
            _ => {
                let keys = [
                    "email",
                    "password",
                    "name",
                    "image",
                    "callbackURL",
                    "rememberMe",
                    "token",
                    "newPassword",
                    "currentPassword",
                    "revokeOtherSessions",
                    "newEmail",
                    "redirectTo",
                    "emailVerified",
                ];
                let mut map = serde_json::Map::new();
                for _ in 0..self.next() % 6 {
                    map.insert(self.pick(&keys).to_string(), self.value(depth - 1));
                }
                Value::Object(map)
            }
        }
    }
}

#[tokio::test]
async fn random_bodies_never_cause_a_server_error() {
    let posts = [
        "/sign-up/email",
        "/sign-in/email",
        "/sign-out",
        "/revoke-session",
        "/revoke-sessions",
        "/revoke-other-sessions",
        "/update-user",
        "/change-password",
        "/change-email",
        "/request-password-reset",
        "/reset-password",
        "/send-verification-email",
        "/delete-user",
        "/verify-password",
    ];
    let gets = [
        "/get-session?disableRefresh=%00",
        "/list-sessions",
        "/verify-email?token=a.b.c",
        "/reset-password/x?callbackURL=%2F%2F",
        "/delete-user/callback?token=1",
        "/list-accounts",
        "/error?error=%3Cx%3E",
    ];
    for s in servers_with(|c| c.trusted_origins = vec!["https://*.example.com".into()]).await {
        let cookie = s.sign_up("vic@example.com", "Vic").await.session_cookie();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..6 {
            for path in posts {
                let body = rng.value(3);
                let authed = round % 2 == 0;
                let headers: Vec<(&str, &str)> = if authed {
                    s.with_cookie(&cookie).to_vec()
                } else {
                    vec![]
                };
                let r = s.post(path, body.clone(), &headers).await;
                assert!(r.status < 500, "{path} {body}: {} {}", r.status, r.text);
                let raw = ["{", "[", "\"str\"", "1e999", "{\"email\":", "\u{feff}{}"];
                let raw_body: &str = rng.pick::<&str>(&raw);
                let r = s.post_raw(path, Some("application/json"), raw_body).await;
                assert!(r.status < 500, "{path}: {}", r.status);
            }
            for path in gets {
                let r = s.get(path, &[("cookie", &cookie)]).await;
                assert!(r.status < 500, "{path}: {} {}", r.status, r.text);
            }
        }
    }
}

#[tokio::test]
async fn concurrent_sign_ups_are_atomic() {
    for s in servers().await {
        let s = std::sync::Arc::new(s);
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let email = if i < 4 {
                    format!("crowd{i}@example.com")
                } else {
                    "same@example.com".to_string()
                };
                s.post(
                    "/sign-up/email",
                    json!({"email": email, "password": PASSWORD, "name": "Same Name"}),
                    &[],
                )
                .await
                .status
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.expect("task"));
        }
        assert!(statuses[..4].iter().all(|s| *s == 200), "{statuses:?}");
        let same = &statuses[4..];
        assert_eq!(
            same.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(same.iter().all(|s| *s == 200 || *s == 422), "{statuses:?}");
        assert_eq!(user_count(&s).await, 5, "[{}]", s.backend());
        let orgs = s.ctx.get::<OrganizationRepo>().expect("orgs");
        assert_eq!(
            orgs.count(&s.test.db, Default::default())
                .await
                .expect("count"),
            5,
            "one personal org each, none half-written"
        );
    }
}

#[tokio::test]
async fn the_cleanup_job_removes_expired_rows_only() {
    for s in servers().await {
        let old = s.sign_up("old@example.com", "Old").await.json()["token"]
            .as_str()
            .expect("t")
            .to_string();
        s.post(
            "/request-password-reset",
            json!({"email": "old@example.com"}),
            &[],
        )
        .await;
        // Two days later: the first session is expired by over a day, the reset link too.
        s.advance(Duration::from_secs(32 * 86_400));
        let fresh = s.sign_up("new@example.com", "New").await.json()["token"]
            .as_str()
            .expect("t")
            .to_string();
        s.post(
            "/request-password-reset",
            json!({"email": "new@example.com"}),
            &[],
        )
        .await;
        let cleanup = s
            .ctx
            .get::<iam_server::services::IamCleanup>()
            .expect("cleanup job");
        let report = cleanup.run_once().await.expect("run");
        assert_eq!(
            (report.verifications, report.sessions),
            (1, 1),
            "[{}]",
            s.backend()
        );
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &fresh)
            .await
            .expect("find")
            .is_some());
        assert!(sessions(&s)
            .find_by_token(&s.test.db, &old)
            .await
            .expect("find")
            .is_none());
        let again = cleanup.run_once().await.expect("run");
        assert_eq!((again.verifications, again.sessions), (0, 0));
        s.close().await;
    }
}

#[tokio::test]
async fn secure_cookies_use_the_secure_prefix_and_attribute() {
    for s in servers_with(|c| c.secure_cookies = Some(true)).await {
        let r = s.sign_up("sec@example.com", "Sec").await;
        let line = r
            .set_cookie("__Secure-better-auth.session_token")
            .expect("secure cookie");
        assert!(
            line.ends_with("; Max-Age=2592000; Path=/; HttpOnly; Secure; SameSite=Lax"),
            "{line}"
        );
        let pair = r
            .cookie_pair("__Secure-better-auth.session_token")
            .expect("pair");
        let me = s.get("/get-session", &[("cookie", &pair)]).await;
        assert_eq!(me.json()["user"]["email"], "sec@example.com");
        // The non-secure name is not read when secure cookies are on.
        let plain = pair.replacen("__Secure-", "", 1);
        assert_eq!(
            s.get("/get-session", &[("cookie", &plain)]).await.text,
            "null"
        );
    }
}

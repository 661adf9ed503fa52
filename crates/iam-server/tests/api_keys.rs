//! Black-box tests of the API-key plugin (`specs/better-auth-api.md` §8) over HTTP, on every
//! available database backend: the five endpoints and their errors, `x-api-key` on the auth API
//! and in the `AuthContextResolver`, disabled / expired / exhausted / rate-limited keys, and
//! concurrent uses that must never over-spend a key.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{servers, TestServer};
use iam_server::entities::ApiKey;
use iam_server::repos::ApiKeyRepo;
use iam_server::services::apikeys::hash_key;
use iam_server::services::{ApiKeyService, CreateApiKey};
use serde_json::{json, Value};
use shared_server::auth::AuthContext;

const DAY: Duration = Duration::from_secs(86_400);

fn keys(s: &TestServer) -> Arc<ApiKeyRepo> {
    s.ctx.get::<ApiKeyRepo>().expect("ApiKeyRepo")
}

fn api_keys(s: &TestServer) -> Arc<ApiKeyService> {
    s.ctx.get::<ApiKeyService>().expect("ApiKeyService")
}

/// Signs up `email`; returns its session cookie and resolved context.
async fn user(s: &TestServer, email: &str) -> (String, AuthContext) {
    let cookie = s.sign_up(email, "Key Owner").await.session_cookie();
    let ctx = s
        .resolver()
        .resolve(&TestServer::cookie_headers(&cookie))
        .await
        .expect("resolve")
        .expect("a caller");
    (cookie, ctx)
}

/// Creates a key over HTTP with `body`; asserts 200.
async fn create(s: &TestServer, cookie: &str, body: Value) -> Value {
    let resp = s
        .post("/api-key/create", body, &s.with_cookie(cookie))
        .await;
    assert_eq!(resp.status, 200, "create: {}", resp.text);
    resp.json()
}

/// Creates a key with server-only options (as `auth.api.createApiKey` on the server would).
async fn create_server_side(s: &TestServer, ctx: &AuthContext, input: CreateApiKey) -> String {
    let org = ctx.organization.as_ref().expect("organization").id.clone();
    let (_, plain) = api_keys(s)
        .create(&ctx.user, &org, input)
        .await
        .expect("create");
    plain
}

async fn stored(s: &TestServer, plain: &str) -> Option<ApiKey> {
    keys(s)
        .find_by_key_hash(&s.test.db, &hash_key(plain))
        .await
        .expect("lookup")
}

async fn use_key(s: &TestServer, plain: &str) -> common::Resp {
    s.get("/get-session", &[("x-api-key", plain)]).await
}

async fn key_count(s: &TestServer, ctx: &AuthContext) -> u64 {
    let org = &ctx.organization.as_ref().expect("org").id;
    keys(s)
        .count_by_user(org, &ctx.user.id)
        .await
        .expect("count")
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn keys_are_created_shown_once_listed_updated_and_deleted() {
    for s in servers().await {
        let (cookie, ctx) = user(&s, "ada@example.com").await;
        let created = create(&s, &cookie, json!({"name": "ci", "prefix": "ba_"})).await;
        let plain = created["key"].as_str().expect("plain key").to_string();
        assert!(plain.starts_with("ba_"), "{plain}");
        assert_eq!(plain.len(), 3 + 64);
        assert!(plain[3..].chars().all(|c| c.is_ascii_alphabetic()));
        assert_eq!(created["start"], json!(&plain[..6]));
        assert_eq!(created["prefix"], "ba_");
        assert_eq!(created["name"], "ci");
        assert_eq!(created["configId"], "default");
        assert_eq!(created["referenceId"], json!(ctx.user.id));
        assert_eq!(created["enabled"], true);
        assert_eq!(created["rateLimitEnabled"], true);
        assert_eq!(created["rateLimitTimeWindow"], 86_400_000);
        assert_eq!(created["rateLimitMax"], 10);
        assert_eq!(created["requestCount"], 0);
        for null in [
            "expiresAt",
            "remaining",
            "refillAmount",
            "refillInterval",
            "lastRequest",
            "lastRefillAt",
            "permissions",
            "metadata",
        ] {
            assert_eq!(created[null], Value::Null, "{null}");
        }

        // Stored hashed, in the creator's active (personal) organization.
        let row = stored(&s, &plain).await.expect("stored");
        assert_eq!(row.key, hash_key(&plain));
        assert_ne!(row.key, plain);
        assert_eq!(
            Some(&row.organization_id),
            ctx.organization.as_ref().map(|o| &o.id)
        );
        let id = created["id"].as_str().expect("id").to_string();

        let got = s
            .get(&format!("/api-key/get?id={id}"), &[("cookie", &cookie)])
            .await;
        assert_eq!(got.status, 200, "{}", got.text);
        assert!(
            got.json().get("key").is_none(),
            "the plain key is shown once"
        );
        assert_eq!(got.json()["id"], json!(id));

        let second = create(&s, &cookie, json!({})).await;
        assert_eq!(second["name"], Value::Null);
        assert_eq!(second["prefix"], Value::Null);
        assert_eq!(second["key"].as_str().expect("key").len(), 64);
        let listed = s.get("/api-key/list", &[("cookie", &cookie)]).await;
        assert_eq!(listed.status, 200, "{}", listed.text);
        let body = listed.json();
        assert_eq!(body["total"], 2);
        assert!(body.get("limit").is_none() && body.get("offset").is_none());
        let list = body["apiKeys"].as_array().expect("array");
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|k| k.get("key").is_none()));
        assert_eq!(list[0]["id"], json!(id), "creation order by default");

        let paged = s
            .get(
                "/api-key/list?limit=1&offset=1&sortBy=createdAt&sortDirection=desc",
                &[("cookie", &cookie)],
            )
            .await
            .json();
        assert_eq!(paged["total"], 2);
        assert_eq!(paged["limit"], 1);
        assert_eq!(paged["offset"], 1);
        assert_eq!(paged["apiKeys"].as_array().map(Vec::len), Some(1));
        let bad_sort = s
            .get("/api-key/list?sortBy=key", &[("cookie", &cookie)])
            .await;
        assert_eq!(bad_sort.status, 400);
        assert_eq!(bad_sort.code().as_deref(), Some("VALIDATION_ERROR"));

        let updated = s
            .post(
                "/api-key/update",
                json!({"keyId": id, "name": "renamed", "enabled": false, "expiresIn": 2 * 86_400}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(updated.status, 200, "{}", updated.text);
        let updated = updated.json();
        assert_eq!(updated["name"], "renamed");
        assert_eq!(updated["enabled"], false);
        assert!(updated["expiresAt"].is_string());
        assert!(updated.get("key").is_none());
        let cleared = s
            .post(
                "/api-key/update",
                json!({"keyId": id, "expiresIn": null}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(cleared.json()["expiresAt"], Value::Null);

        for (body, status, code) in [
            (json!({"keyId": id}), 400, "NO_VALUES_TO_UPDATE"),
            (
                json!({"keyId": id, "remaining": 5}),
                400,
                "SERVER_ONLY_PROPERTY",
            ),
            (
                json!({"keyId": id, "rateLimitMax": 5}),
                400,
                "SERVER_ONLY_PROPERTY",
            ),
            (json!({"keyId": id, "name": ""}), 400, "INVALID_NAME_LENGTH"),
            (
                json!({"keyId": id, "expiresIn": 60}),
                400,
                "EXPIRES_IN_IS_TOO_SMALL",
            ),
            (json!({"keyId": "nope", "name": "x"}), 404, "KEY_NOT_FOUND"),
            (json!({"name": "x"}), 400, "VALIDATION_ERROR"),
        ] {
            let resp = s
                .post("/api-key/update", body.clone(), &s.with_cookie(&cookie))
                .await;
            assert_eq!(resp.status, status, "{body}: {}", resp.text);
            assert_eq!(resp.code().as_deref(), Some(code), "{body}");
        }
        assert_eq!(
            stored(&s, &plain).await.expect("row").name.as_deref(),
            Some("renamed"),
            "refused updates wrote nothing"
        );

        let deleted = s
            .post(
                "/api-key/delete",
                json!({"keyId": id}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(deleted.status, 200, "{}", deleted.text);
        assert_eq!(deleted.json(), json!({"success": true}));
        assert!(stored(&s, &plain).await.is_none());
        let again = s
            .post(
                "/api-key/delete",
                json!({"keyId": id}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(again.status, 404);
        assert_eq!(again.code().as_deref(), Some("KEY_NOT_FOUND"));
        let gone = s
            .get(&format!("/api-key/get?id={id}"), &[("cookie", &cookie)])
            .await;
        assert_eq!(gone.status, 404);
        s.close().await;
    }
}

#[tokio::test]
async fn create_refuses_bad_input_and_writes_nothing() {
    for s in servers().await {
        let (cookie, ctx) = user(&s, "bob@example.com").await;
        for (body, status, code) in [
            (json!({"name": 5}), 400, "VALIDATION_ERROR"),
            (json!({"expiresIn": 0}), 400, "VALIDATION_ERROR"),
            (json!({"prefix": "bad prefix"}), 400, "VALIDATION_ERROR"),
            (json!({"permissions": "all"}), 400, "VALIDATION_ERROR"),
            (json!({"remaining": 5}), 400, "SERVER_ONLY_PROPERTY"),
            (json!({"refillAmount": 5}), 400, "SERVER_ONLY_PROPERTY"),
            (
                json!({"rateLimitEnabled": false}),
                400,
                "SERVER_ONLY_PROPERTY",
            ),
            (
                json!({"permissions": {"files": ["read"]}}),
                400,
                "SERVER_ONLY_PROPERTY",
            ),
            (json!({"userId": "someone"}), 401, "UNAUTHORIZED_SESSION"),
            (json!({"metadata": {"a": 1}}), 400, "METADATA_DISABLED"),
            (json!({"expiresIn": 3600}), 400, "EXPIRES_IN_IS_TOO_SMALL"),
            (
                json!({"expiresIn": 400 * 86_400}),
                400,
                "EXPIRES_IN_IS_TOO_LARGE",
            ),
            (json!({"name": "x".repeat(33)}), 400, "INVALID_NAME_LENGTH"),
            (
                json!({"prefix": "p".repeat(33)}),
                400,
                "INVALID_PREFIX_LENGTH",
            ),
        ] {
            let resp = s
                .post("/api-key/create", body.clone(), &s.with_cookie(&cookie))
                .await;
            assert_eq!(resp.status, status, "{body}: {}", resp.text);
            assert_eq!(resp.code().as_deref(), Some(code), "{body}");
        }
        // `remaining: null` is the schema default, not a server-only value.
        let ok = create(&s, &cookie, json!({"remaining": null, "name": "n"})).await;
        assert_eq!(ok["remaining"], Value::Null);
        assert_eq!(key_count(&s, &ctx).await, 1, "only the valid request wrote");

        // Without a session: 401 UNAUTHORIZED_SESSION, but validation comes first.
        let anonymous = s.post("/api-key/create", json!({}), &[]).await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(anonymous.code().as_deref(), Some("UNAUTHORIZED_SESSION"));
        let invalid = s.post("/api-key/create", json!({"name": []}), &[]).await;
        assert_eq!(invalid.status, 400);
        for path in ["/api-key/list", "/api-key/get?id=x"] {
            let resp = s.get(path, &[]).await;
            assert_eq!(resp.status, 401, "{path}");
            assert_eq!(resp.code().as_deref(), Some("UNAUTHORIZED"), "{path}");
        }
        let verify = s.post("/api-key/verify", json!({"key": "x"}), &[]).await;
        assert_eq!(verify.status, 404, "verify is server-only");
        s.close().await;
    }
}

#[tokio::test]
async fn another_users_key_is_not_found() {
    for s in servers().await {
        let (alice, _) = user(&s, "alice@example.com").await;
        let (mallory, _) = user(&s, "mallory@example.com").await;
        let created = create(&s, &alice, json!({"name": "mine"})).await;
        let id = created["id"].as_str().expect("id");
        let plain = created["key"].as_str().expect("key");

        let get = s
            .get(&format!("/api-key/get?id={id}"), &[("cookie", &mallory)])
            .await;
        assert_eq!(get.status, 404);
        assert_eq!(get.code().as_deref(), Some("KEY_NOT_FOUND"));
        for path in ["/api-key/update", "/api-key/delete"] {
            let resp = s
                .post(
                    path,
                    json!({"keyId": id, "name": "stolen"}),
                    &s.with_cookie(&mallory),
                )
                .await;
            assert_eq!(resp.status, 404, "{path}");
            assert_eq!(resp.code().as_deref(), Some("KEY_NOT_FOUND"), "{path}");
        }
        let listed = s.get("/api-key/list", &[("cookie", &mallory)]).await.json();
        assert_eq!(listed["total"], 0);
        let row = stored(&s, plain).await.expect("still there");
        assert_eq!(row.name.as_deref(), Some("mine"));
        s.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// x-api-key
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn x_api_key_gives_the_owners_session() {
    for s in servers().await {
        let (cookie, ctx) = user(&s, "carol@example.com").await;
        let created = create(&s, &cookie, json!({"name": "cli"})).await;
        let plain = created["key"].as_str().expect("key").to_string();

        let resp = use_key(&s, &plain).await;
        assert_eq!(resp.status, 200, "{}", resp.text);
        assert!(resp.set_cookies().is_empty(), "no cookies for API keys");
        let body = resp.json();
        assert_eq!(body["user"]["email"], "carol@example.com");
        assert_eq!(body["session"]["id"], created["id"]);
        assert_eq!(body["session"]["token"], json!(plain));
        assert_eq!(body["session"]["userId"], json!(ctx.user.id));
        assert_eq!(
            body["session"]["activeOrganizationId"],
            json!(ctx.organization.as_ref().map(|o| &o.id))
        );
        let row = stored(&s, &plain).await.expect("row");
        assert_eq!(row.request_count, 1, "the use was counted");
        assert!(row.last_request.is_some());

        // Other endpoints see the synthetic session; nothing signs the key into a cookie.
        let sessions = s.get("/list-sessions", &[("x-api-key", &plain)]).await;
        assert_eq!(sessions.status, 200, "{}", sessions.text);
        assert_eq!(sessions.json().as_array().map(Vec::len), Some(1));
        let update = s
            .post(
                "/update-user",
                json!({"name": "Carol K"}),
                &[("x-api-key", &plain)],
            )
            .await;
        assert_eq!(update.status, 200, "{}", update.text);
        assert!(update.set_cookie("better-auth.session_token").is_none());
        assert!(update.header("set-auth-token").is_none());
        // An API-key caller manages keys of the key's organization.
        let listed = s.get("/api-key/list", &[("x-api-key", &plain)]).await;
        assert_eq!(listed.json()["total"], 1);

        // Short keys are refused without lookup; unknown ones after.
        let short = use_key(&s, "abc").await;
        assert_eq!(short.status, 403);
        assert_eq!(short.code().as_deref(), Some("INVALID_API_KEY"));
        let unknown = use_key(&s, &"Z".repeat(64)).await;
        assert_eq!(unknown.status, 401);
        assert_eq!(unknown.code().as_deref(), Some("INVALID_API_KEY"));
        assert_eq!(
            unknown.json()["message"],
            "Invalid API key.",
            "the plugin's message"
        );
        // The header is checked on every endpoint, /ok included.
        let ok = s.get("/ok", &[("x-api-key", "short")]).await;
        assert_eq!(ok.status, 403);
        s.close().await;
    }
}

#[tokio::test]
async fn the_resolver_accepts_x_api_key_in_the_keys_organization() {
    for s in servers().await {
        let (cookie, ctx) = user(&s, "dora@example.com").await;
        let plain = create(&s, &cookie, json!({})).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        let resolver = s.resolver();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-api-key", plain.parse().expect("header"));
        headers.insert("user-agent", "cli/1.0".parse().expect("header"));
        let by_key = resolver
            .resolve(&headers)
            .await
            .expect("resolve")
            .expect("a caller");
        assert_eq!(by_key.user.id, ctx.user.id);
        assert_eq!(
            by_key.organization.as_ref().map(|o| &o.id),
            ctx.organization.as_ref().map(|o| &o.id)
        );
        assert_eq!(
            by_key.session.active_organization_id,
            ctx.organization.as_ref().map(|o| o.id.clone())
        );
        assert_eq!(by_key.session.user_agent.as_deref(), Some("cli/1.0"));

        // A valid cookie wins over the key (bearer, then cookie, then API key).
        headers.insert("cookie", cookie.parse().expect("header"));
        let by_cookie = resolver
            .resolve(&headers)
            .await
            .expect("resolve")
            .expect("caller");
        assert_eq!(by_cookie.session.id, ctx.session.id);

        let mut bad = axum::http::HeaderMap::new();
        bad.insert("x-api-key", "Q".repeat(64).parse().expect("header"));
        assert!(resolver.resolve(&bad).await.expect("resolve").is_none());
        bad.insert("x-api-key", "short".parse().expect("header"));
        assert!(resolver.resolve(&bad).await.expect("resolve").is_none());
        s.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Validation of presented keys (§8.4, §8.5)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn disabled_and_expired_keys_are_refused() {
    for s in servers().await {
        let (cookie, _) = user(&s, "erin@example.com").await;
        let disabled = create(&s, &cookie, json!({})).await;
        let disabled_key = disabled["key"].as_str().expect("key").to_string();
        let resp = s
            .post(
                "/api-key/update",
                json!({"keyId": disabled["id"], "enabled": false}),
                &s.with_cookie(&cookie),
            )
            .await;
        assert_eq!(resp.status, 200);
        let refused = use_key(&s, &disabled_key).await;
        assert_eq!(refused.status, 401);
        assert_eq!(refused.code().as_deref(), Some("KEY_DISABLED"));
        assert!(stored(&s, &disabled_key).await.is_some(), "kept");

        let expiring = create(&s, &cookie, json!({"expiresIn": 86_400})).await;
        let expiring_key = expiring["key"].as_str().expect("key").to_string();
        assert_eq!(use_key(&s, &expiring_key).await.status, 200);
        s.advance(DAY + Duration::from_secs(1));
        let expired = use_key(&s, &expiring_key).await;
        assert_eq!(expired.status, 401);
        assert_eq!(expired.code().as_deref(), Some("KEY_EXPIRED"));
        assert!(stored(&s, &expiring_key).await.is_none(), "deleted");
        s.close().await;
    }
}

#[tokio::test]
async fn expired_keys_are_swept_opportunistically() {
    for s in servers().await {
        let (cookie, ctx) = user(&s, "fay@example.com").await;
        create(&s, &cookie, json!({"expiresIn": 86_400})).await;
        create(&s, &cookie, json!({})).await;
        assert_eq!(key_count(&s, &ctx).await, 2);
        s.advance(2 * DAY);
        // Listing sweeps after reading: the expired key is still listed once, then gone.
        s.get("/api-key/list", &[("cookie", &cookie)]).await;
        assert_eq!(key_count(&s, &ctx).await, 1);
        let listed = s.get("/api-key/list", &[("cookie", &cookie)]).await.json();
        assert_eq!(listed["total"], 1);
        assert_eq!(listed["apiKeys"][0]["expiresAt"], Value::Null);
        s.close().await;
    }
}

#[tokio::test]
async fn exhausted_keys_are_refused_and_refills_restore_them() {
    for s in servers().await {
        let (_, ctx) = user(&s, "gus@example.com").await;
        let limited = CreateApiKey {
            remaining: Some(2),
            rate_limit_enabled: Some(false),
            ..CreateApiKey::default()
        };
        let plain = create_server_side(&s, &ctx, limited).await;
        assert_eq!(use_key(&s, &plain).await.status, 200);
        assert_eq!(stored(&s, &plain).await.and_then(|k| k.remaining), Some(1));
        assert_eq!(use_key(&s, &plain).await.status, 200);
        let exhausted = use_key(&s, &plain).await;
        assert_eq!(exhausted.status, 429);
        assert_eq!(exhausted.code().as_deref(), Some("USAGE_EXCEEDED"));
        assert!(stored(&s, &plain).await.is_none(), "deleted once spent");

        let refilling = CreateApiKey {
            refill_amount: Some(2),
            refill_interval: Some(1000),
            rate_limit_enabled: Some(false),
            ..CreateApiKey::default()
        };
        let plain = create_server_side(&s, &ctx, refilling).await;
        assert_eq!(
            stored(&s, &plain).await.and_then(|k| k.remaining),
            Some(2),
            "remaining defaults to the refill amount"
        );
        assert_eq!(use_key(&s, &plain).await.status, 200);
        assert_eq!(use_key(&s, &plain).await.status, 200);
        let empty = use_key(&s, &plain).await;
        assert_eq!(empty.status, 429);
        assert_eq!(empty.code().as_deref(), Some("USAGE_EXCEEDED"));
        assert!(
            stored(&s, &plain).await.is_some(),
            "a refilling key is kept"
        );
        s.advance(Duration::from_millis(1001));
        assert_eq!(use_key(&s, &plain).await.status, 200);
        let row = stored(&s, &plain).await.expect("row");
        assert_eq!(row.remaining, Some(1), "refilled to 2, minus this use");
        assert!(row.last_refill_at.is_some());
        s.close().await;
    }
}

#[tokio::test]
async fn the_per_key_rate_limit_allows_ten_a_day() {
    for s in servers().await {
        let (cookie, _) = user(&s, "hal@example.com").await;
        let plain = create(&s, &cookie, json!({})).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        for i in 0..10 {
            assert_eq!(use_key(&s, &plain).await.status, 200, "use {i}");
        }
        s.advance(Duration::from_secs(5));
        let limited = use_key(&s, &plain).await;
        assert_eq!(limited.status, 429);
        assert_eq!(
            limited.json(),
            json!({
                "message": "Rate limit exceeded.",
                "code": "RATE_LIMITED",
                "details": {"tryAgainIn": 86_400_000 - 5_000},
            })
        );
        assert_eq!(stored(&s, &plain).await.expect("row").request_count, 10);
        s.advance(DAY);
        assert_eq!(use_key(&s, &plain).await.status, 200, "a new window");
        assert_eq!(stored(&s, &plain).await.expect("row").request_count, 1);
        s.close().await;
    }
}

#[tokio::test]
async fn concurrent_uses_never_overspend_a_key() {
    for s in servers().await {
        let (_, ctx) = user(&s, "ivy@example.com").await;
        // remaining: 5 uses (no per-key limit).
        let plain = create_server_side(
            &s,
            &ctx,
            CreateApiKey {
                remaining: Some(5),
                rate_limit_enabled: Some(false),
                ..CreateApiKey::default()
            },
        )
        .await;
        let service = api_keys(&s);
        let attempts = (0..20).map(|_| {
            let service = service.clone();
            let plain = plain.clone();
            tokio::spawn(async move { service.verify(&plain).await })
        });
        let mut allowed = 0;
        for attempt in futures::future::join_all(attempts).await {
            match attempt.expect("task") {
                Ok(_) => allowed += 1,
                Err(error) => {
                    let code = error.code().map(|c| c.as_str());
                    assert!(
                        matches!(code, Some("USAGE_EXCEEDED" | "INVALID_API_KEY")),
                        "{error}"
                    );
                }
            }
        }
        assert_eq!(allowed, 5, "{}: exactly `remaining` uses", s.backend());

        // The per-key limit (10 per window) under a concurrent burst over HTTP.
        let limited = create_server_side(&s, &ctx, CreateApiKey::default()).await;
        let requests = (0..25).map(|_| use_key(&s, &limited));
        let statuses: Vec<u16> = futures::future::join_all(requests)
            .await
            .iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(
            statuses.iter().filter(|st| **st == 200).count(),
            10,
            "{statuses:?}"
        );
        assert!(statuses.iter().all(|st| *st == 200 || *st == 429));
        assert_eq!(stored(&s, &limited).await.expect("row").request_count, 10);
        s.close().await;
    }
}

#[tokio::test]
async fn server_side_verification_checks_permissions() {
    for s in servers().await {
        let (cookie, ctx) = user(&s, "jo@example.com").await;
        let scoped = create_server_side(
            &s,
            &ctx,
            CreateApiKey {
                permissions: Some(json!({"files": ["read", "write"]})),
                ..CreateApiKey::default()
            },
        )
        .await;
        let service = api_keys(&s);
        let read = json!({"files": ["read"]});
        let used = service
            .verify_with_permissions(&scoped, Some(&read))
            .await
            .expect("granted");
        assert_eq!(used.request_count, 1);
        let delete = json!({"files": ["delete"]});
        let refused = service
            .verify_with_permissions(&scoped, Some(&delete))
            .await
            .expect_err("not granted");
        assert_eq!(refused.status().as_u16(), 401);
        assert_eq!(refused.code().map(|c| c.as_str()), Some("KEY_NOT_FOUND"));
        assert_eq!(
            stored(&s, &scoped).await.expect("row").request_count,
            1,
            "a refused check spends nothing"
        );
        // The permissions are shown parsed; a key without any grants nothing.
        let shown = s
            .get(
                &format!("/api-key/get?id={}", used.id),
                &[("cookie", &cookie)],
            )
            .await
            .json();
        assert_eq!(shown["permissions"], json!({"files": ["read", "write"]}));
        let plain = create(&s, &cookie, json!({})).await["key"]
            .as_str()
            .expect("key")
            .to_string();
        let none = service
            .verify_with_permissions(&plain, Some(&read))
            .await
            .expect_err("no permissions");
        assert_eq!(none.code().map(|c| c.as_str()), Some("KEY_NOT_FOUND"));
        s.close().await;
    }
}

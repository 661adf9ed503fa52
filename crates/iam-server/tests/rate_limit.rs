//! Black-box tests of the auth API's rate limiter (`specs/better-auth-api.md` §6) over HTTP, on
//! every available database backend: the rules, a burst of exactly `max`, `X-Retry-After`, the
//! sliding window, client-IP parsing, and database storage shared by two servers over one
//! database (the second one served with the peer address, as `ConnectInfo`).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{servers_with, TestServer};
use iam_server::config::RateLimitStorage;
use iam_server::{AuthRoutes, IamConfig};
use serde_json::json;
use shared_server::db::repo::Sql;
use shared_server::layer::{build, Context, Scope};
use shared_server::mail::{Mailer, RecordingMailer};
use shared_server::repos::{OrganizationRepo, SessionRepo, UserRepo};
use shared_server::{Clock, Db};

const MESSAGE: &str = "Too many requests. Please try again later.";

fn enabled(config: &mut IamConfig) {
    config.rate_limit.enabled = true;
}

/// A request the limiter counts without costing a password hash (validation fails: 400).
async fn sign_in(s: &TestServer, ip: Option<&str>) -> common::Resp {
    let headers: Vec<(&str, &str)> = ip.map(|ip| ("x-forwarded-for", ip)).into_iter().collect();
    s.post("/sign-in/email", json!({}), &headers).await
}

fn assert_limited(resp: &common::Resp, retry_after: &str) {
    assert_eq!(resp.status, 429, "{}", resp.text);
    assert_eq!(resp.json(), json!({"message": MESSAGE}));
    assert_eq!(resp.header("x-retry-after").as_deref(), Some(retry_after));
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/json")
    );
}

#[tokio::test]
async fn the_limiter_is_off_unless_enabled() {
    for s in servers_with(|_| {}).await {
        for _ in 0..5 {
            assert_eq!(sign_in(&s, Some("203.0.113.1")).await.status, 400);
        }
        s.close().await;
    }
}

#[tokio::test]
async fn strict_rules_allow_a_burst_of_exactly_three() {
    for s in servers_with(enabled).await {
        let ip = Some("203.0.113.9");
        for i in 0..3 {
            assert_eq!(sign_in(&s, ip).await.status, 400, "request {i}");
        }
        assert_limited(&sign_in(&s, ip).await, "10");
        // Per path and per client.
        assert_eq!(sign_in(&s, Some("203.0.113.10")).await.status, 400);
        assert_eq!(
            s.post(
                "/sign-up/email",
                json!({}),
                &[("x-forwarded-for", "203.0.113.9")]
            )
            .await
            .status,
            400
        );
        // Reset and verification mails: 3 per 60 s.
        for _ in 0..3 {
            let resp = s
                .post(
                    "/request-password-reset",
                    json!({}),
                    &[("x-forwarded-for", "203.0.113.9")],
                )
                .await;
            assert_eq!(resp.status, 400);
        }
        let resp = s
            .post(
                "/request-password-reset",
                json!({}),
                &[("x-forwarded-for", "203.0.113.9")],
            )
            .await;
        assert_limited(&resp, "60");
        s.close().await;
    }
}

#[tokio::test]
async fn the_plugins_sign_in_and_verification_paths_are_strict() {
    for s in servers_with(enabled).await {
        let ip = [("x-forwarded-for", "203.0.113.77")];
        for path in [
            "/sign-in/username",
            "/two-factor/verify-totp",
            "/two-factor/verify-otp",
            "/two-factor/verify-backup-code",
            "/two-factor/send-otp",
        ] {
            for i in 0..3 {
                let status = s.post(path, json!({}), &ip).await.status;
                assert_ne!(status, 429, "{path} request {i}");
            }
            assert_limited(&s.post(path, json!({}), &ip).await, "10");
        }
        s.close().await;
    }
}

#[tokio::test]
async fn the_default_rule_is_configurable_and_counts_unknown_paths() {
    let configure = |c: &mut IamConfig| {
        c.rate_limit.enabled = true;
        c.rate_limit.max = 5;
        c.rate_limit.window = Duration::from_secs(30);
    };
    for s in servers_with(configure).await {
        let ip = [("x-forwarded-for", "198.51.100.4")];
        for _ in 0..5 {
            assert_eq!(s.get("/ok", &ip).await.status, 200);
        }
        assert_limited(&s.get("/ok", &ip).await, "30");
        // A trailing slash is the same key; an unknown path is limited before routing.
        assert_eq!(s.get("/ok/", &ip).await.status, 429);
        for _ in 0..5 {
            assert_eq!(s.get("/nope", &ip).await.status, 404);
        }
        assert_eq!(s.get("/nope", &ip).await.status, 429);
        s.close().await;
    }
}

#[tokio::test]
async fn the_window_slides_with_each_allowed_request() {
    for s in servers_with(enabled).await {
        let ip = Some("192.0.2.77");
        assert_eq!(sign_in(&s, ip).await.status, 400);
        s.advance(Duration::from_secs(5));
        assert_eq!(sign_in(&s, ip).await.status, 400);
        assert_eq!(sign_in(&s, ip).await.status, 400);
        // 12 s after the first request a fixed window would have reset; this one counts from
        // the last allowed request (t = 5 s): 3 s to wait.
        s.advance(Duration::from_secs(7));
        assert_limited(&sign_in(&s, ip).await, "3");
        s.advance(Duration::from_millis(2_500));
        assert_limited(&sign_in(&s, ip).await, "1");
        s.advance(Duration::from_millis(500));
        assert_eq!(sign_in(&s, ip).await.status, 400, "the window has passed");
        assert_eq!(sign_in(&s, ip).await.status, 400);
        s.close().await;
    }
}

#[tokio::test]
async fn client_ips_come_from_a_single_trusted_header_value() {
    for s in servers_with(enabled).await {
        // A comma list is not trusted: those clients share the no-trusted-ip bucket with
        // requests without the header.
        for _ in 0..3 {
            assert_eq!(sign_in(&s, Some("1.2.3.4, 5.6.7.8")).await.status, 400);
        }
        assert_eq!(sign_in(&s, None).await.status, 429);
        assert_eq!(sign_in(&s, Some("not an ip")).await.status, 429);
        // IPv6 addresses count per /64; IPv4-mapped addresses as IPv4.
        for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
            assert_eq!(sign_in(&s, Some(ip)).await.status, 400, "{ip}");
        }
        assert_eq!(sign_in(&s, Some("2001:db8:1:2::9")).await.status, 429);
        assert_eq!(sign_in(&s, Some("2001:db8:1:3::1")).await.status, 400);
        for _ in 0..3 {
            assert_eq!(sign_in(&s, Some("::ffff:10.9.8.7")).await.status, 400);
        }
        assert_eq!(sign_in(&s, Some("10.9.8.7")).await.status, 429);
        s.close().await;
    }

    let other_header = |c: &mut IamConfig| {
        c.rate_limit.enabled = true;
        c.rate_limit.ip_header = "x-real-ip".into();
    };
    for s in servers_with(other_header).await {
        for i in 0..3 {
            let resp = s
                .post(
                    "/sign-in/email",
                    json!({}),
                    &[
                        ("x-real-ip", "198.51.100.1"),
                        ("x-forwarded-for", &format!("10.0.0.{i}")),
                    ],
                )
                .await;
            assert_eq!(resp.status, 400);
        }
        let resp = s
            .post(
                "/sign-in/email",
                json!({}),
                &[
                    ("x-real-ip", "198.51.100.1"),
                    ("x-forwarded-for", "10.0.0.9"),
                ],
            )
            .await;
        assert_eq!(resp.status, 429, "only the configured header counts");
        s.close().await;
    }
}

/// A second server over `s`'s database (same configuration as `configure`), served with the
/// peer address (`ConnectInfo`). Returns its auth URL, task and scope.
async fn twin(
    s: &TestServer,
    configure: impl Fn(&mut IamConfig),
) -> (String, tokio::task::JoinHandle<()>, Scope) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let mut config = IamConfig::new(common::SECRET, origin.clone());
    configure(&mut config);
    let db: Db = s.test.db.clone();
    let clock: Arc<dyn Clock> = s.clock.clone();
    let mut input = Context::new();
    input
        .insert(db.clone())
        .insert_arc::<dyn Clock>(clock.clone())
        .insert(UserRepo::new(db.clone(), clock.clone()))
        .insert(OrganizationRepo::new(db.clone(), clock.clone()))
        .insert(SessionRepo::new(db.clone(), clock.clone()))
        .insert_arc::<dyn Mailer>(Arc::new(RecordingMailer::new()))
        .insert(config);
    let scope = Scope::new("twin");
    let ctx = build(&iam_server::layer(), input, &scope)
        .await
        .expect("build the iam layer");
    let app = ctx.get::<AuthRoutes>().expect("routes").0.clone();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (format!("{origin}/api/v1/auth"), task, scope)
}

#[tokio::test]
async fn database_storage_is_shared_by_two_servers() {
    let configure = |c: &mut IamConfig| {
        c.rate_limit.enabled = true;
        c.rate_limit.storage = RateLimitStorage::Database;
    };
    for s in servers_with(configure).await {
        let (twin_auth, task, scope) = twin(&s, configure).await;
        let twin_sign_in = |ip: Option<&'static str>| {
            let mut request = s
                .http
                .post(format!("{twin_auth}/sign-in/email"))
                .header("content-type", "application/json")
                .body("{}");
            if let Some(ip) = ip {
                request = request.header("x-forwarded-for", ip);
            }
            async move {
                let resp = request.send().await.expect("send");
                let retry = resp
                    .headers()
                    .get("x-retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                (resp.status().as_u16(), retry)
            }
        };
        let ip = Some("203.0.113.50");
        assert_eq!(sign_in(&s, ip).await.status, 400);
        assert_eq!(twin_sign_in(ip).await.0, 400);
        assert_eq!(sign_in(&s, ip).await.status, 400);
        assert_eq!(
            twin_sign_in(ip).await,
            (429, Some("10".to_string())),
            "the fourth request is refused whichever server gets it"
        );
        assert_limited(&sign_in(&s, ip).await, "10");

        // The twin sees the peer address (127.0.0.1) when no header is sent; the first server
        // (no ConnectInfo) puts such clients in the shared no-trusted-ip bucket.
        for _ in 0..3 {
            assert_eq!(sign_in(&s, None).await.status, 400);
        }
        assert_eq!(sign_in(&s, None).await.status, 429);
        assert_eq!(twin_sign_in(None).await.0, 400, "keyed by the peer address");
        for _ in 0..2 {
            assert_eq!(sign_in(&s, Some("127.0.0.1")).await.status, 400);
        }
        assert_eq!(twin_sign_in(None).await.0, 429);

        let mut pooled = s.test.db.acquire().await.expect("conn");
        let sql = Sql::new("SELECT key, count FROM iam_rate_limit ORDER BY key");
        let rows: Vec<(String, i32)> = sql.fetch_all(&mut pooled.conn()).await.expect("rows");
        assert_eq!(
            rows,
            vec![
                ("127.0.0.1|/sign-in/email".to_string(), 3),
                ("203.0.113.50|/sign-in/email".to_string(), 3),
                ("no-trusted-ip|/sign-in/email".to_string(), 3),
            ]
        );

        // The window passes for both servers at once.
        s.advance(Duration::from_secs(10));
        assert_eq!(twin_sign_in(ip).await.0, 400);

        // Rows whose window has passed are deleted (at most once a minute).
        s.advance(Duration::from_secs(61));
        assert_eq!(sign_in(&s, Some("192.0.2.1")).await.status, 400);
        let sql = Sql::new("SELECT key, count FROM iam_rate_limit ORDER BY key");
        let rows: Vec<(String, i32)> = sql.fetch_all(&mut pooled.conn()).await.expect("rows");
        assert_eq!(rows, vec![("192.0.2.1|/sign-in/email".to_string(), 1)]);
        drop(pooled);
        task.abort();
        let _ = scope.close().await;
        s.close().await;
    }
}

//! Test harness of the auth API: a fresh database (SQLite, or PostgreSQL when
//! `TEST_POSTGRES_URL` is set) migrated with the shared and iam slices, `iam_server::layer()`
//! built over it with a frozen clock and a recording mailer, and its router served by axum on
//! 127.0.0.1:0. Requests go over real HTTP with reqwest (redirects not followed); cookies are
//! carried by hand, as a browser would.

#![allow(dead_code)]

pub mod node;

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use iam_server::services::AuthService;
use iam_server::{AuthRoutes, IamConfig, IAM_MIGRATIONS};
use serde_json::Value;
use shared_server::auth::AuthResolver;
use shared_server::db::migrate;
use shared_server::layer::{build, Context, Scope};
use shared_server::mail::{Mailer, RecordingMailer};
use shared_server::migrations::SHARED_MIGRATIONS;
use shared_server::repos::{OrganizationRepo, SessionRepo, UserRepo};
use shared_server::testing::{all_backends, TestDb};
use shared_server::{Clock, Db, FixedClock, Timestamp};

/// better-auth's test secret (`specs/better-auth-api.md` §2.3).
pub const SECRET: &str = "better-auth-test-secret-please-change-0123456789";
pub const PASSWORD: &str = "correct-horse-battery";

/// One running auth server over one test database.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    /// `<origin>/api/v1/auth`.
    pub auth: String,
    pub mailer: Arc<RecordingMailer>,
    pub clock: Arc<FixedClock>,
    pub ctx: Context,
    pub http: reqwest::Client,
    pub test: TestDb,
    scope: Scope,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn code(&self) -> Option<String> {
        self.json()
            .get("code")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The `Set-Cookie` line of `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// `name=value` of a cookie this response sets (for the next request's `Cookie`).
    pub fn cookie_pair(&self, name: &str) -> Option<String> {
        self.set_cookie(name)
            .and_then(|line| line.split(';').next().map(str::to_string))
    }

    /// The session cookie (`better-auth.session_token=…`) to send back.
    pub fn session_cookie(&self) -> String {
        self.cookie_pair("better-auth.session_token")
            .unwrap_or_else(|| panic!("no session cookie in {:?}", self.set_cookies()))
    }
}

/// One server per available backend.
pub async fn servers() -> Vec<TestServer> {
    servers_with(|_| {}).await
}

/// One server per available backend, with the configuration adjusted.
pub async fn servers_with(configure: impl Fn(&mut IamConfig)) -> Vec<TestServer> {
    let mut out = Vec::new();
    for test in all_backends().await {
        out.push(TestServer::start(test, &configure).await);
    }
    out
}

impl TestServer {
    pub async fn start(test: TestDb, configure: &dyn Fn(&mut IamConfig)) -> TestServer {
        migrate::run(&test.db, &[&SHARED_MIGRATIONS, &IAM_MIGRATIONS])
            .await
            .expect("migrate");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let mut config = IamConfig::new(SECRET, origin.clone());
        configure(&mut config);
        let clock = Arc::new(FixedClock::new(Timestamp::now()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let mailer = Arc::new(RecordingMailer::new());
        let db: Db = test.db.clone();
        let mut input = Context::new();
        input
            .insert(db.clone())
            .insert_arc::<dyn Clock>(dyn_clock.clone())
            .insert(UserRepo::new(db.clone(), dyn_clock.clone()))
            .insert(OrganizationRepo::new(db.clone(), dyn_clock.clone()))
            .insert(SessionRepo::new(db.clone(), dyn_clock.clone()))
            .insert_arc::<dyn Mailer>(mailer.clone())
            .insert(config);
        let scope = Scope::new("test");
        let ctx = build(&iam_server::layer(), input.clone(), &scope)
            .await
            .expect("build the iam layer");
        let mut all = input;
        all.merge(&ctx);
        let routes = ctx.get::<AuthRoutes>().expect("AuthRoutes");
        let app = routes.0.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        TestServer {
            auth: format!("{origin}/api/v1/auth"),
            origin,
            mailer,
            clock,
            ctx: all,
            http,
            test,
            scope,
            task,
        }
    }

    pub fn backend(&self) -> &'static str {
        self.test.backend().as_str()
    }

    pub fn service(&self) -> Arc<AuthService> {
        self.ctx.get::<AuthService>().expect("AuthService")
    }

    pub fn resolver(&self) -> Arc<dyn AuthResolver> {
        self.ctx.get::<dyn AuthResolver>().expect("resolver")
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Resp {
            status,
            headers,
            text,
        }
    }

    /// GET `<auth><path>` with extra headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut request = self.http.get(format!("{}{path}", self.auth));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// POST a JSON body to `<auth><path>` with extra headers.
    pub async fn post(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Resp {
        let mut request = self
            .http
            .post(format!("{}{path}", self.auth))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// POST a raw body with a content type (or none).
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: &str) -> Resp {
        let mut request = self
            .http
            .post(format!("{}{path}", self.auth))
            .body(body.to_string());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        self.send(request).await
    }

    /// Headers of a cookie-authenticated request from the server's own origin.
    pub fn with_cookie<'a>(&'a self, cookie: &'a str) -> [(&'a str, &'a str); 2] {
        [("cookie", cookie), ("origin", self.origin.as_str())]
    }

    /// Signs up `email` with [`PASSWORD`]; returns the response.
    pub async fn sign_up(&self, email: &str, name: &str) -> Resp {
        let resp = self
            .post(
                "/sign-up/email",
                serde_json::json!({"email": email, "password": PASSWORD, "name": name}),
                &[],
            )
            .await;
        assert_eq!(resp.status, 200, "sign-up failed: {}", resp.text);
        resp
    }

    /// Signs in; returns the response (status not checked).
    pub async fn sign_in(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/sign-in/email",
            serde_json::json!({"email": email, "password": password}),
            &[],
        )
        .await
    }

    /// The links of the last message sent to `address`.
    pub fn last_link_to(&self, address: &str) -> String {
        let sent = self.mailer.sent_to(address);
        let last = sent
            .last()
            .unwrap_or_else(|| panic!("no email to {address}"));
        last.links()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no link in {last:?}"))
    }

    /// A header map with this cookie, for the resolver.
    pub fn cookie_headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", cookie.parse().expect("cookie header"));
        headers
    }

    /// Releases the layer.
    pub async fn close(self) {
        let _ = self.scope.close().await;
    }
}

//! A database outage (issue 20): the server reaches PostgreSQL through a TCP proxy this test
//! controls, and the proxy is cut (listener closed, open connections dropped: what a stopped
//! PostgreSQL looks like). Once the outage is known, the auth API and protected routes answer
//! 503 with `Retry-After`, RPC calls end with the transient interrupt (fiber -503,
//! effect-rpc-protocol.md §2.2), and `/v1/ready` answers 503, each within 500 ms; when the proxy
//! is restored everything recovers without a restart. PostgreSQL only: an embedded SQLite file
//! has no network to lose.

mod common;

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Extension;
use runtime_server::{server_layer_with_slices, ExtraRoutes, HttpServer, ServerRuntime};
use serde_json::{json, Value};
use shared_server::auth::AuthContext;
use shared_server::layer::{BoxError, Context, Layer};
use shared_server::rpc::{Failure, GroupEntry, RpcGroup, RpcResult};
use shared_server::testing::CutProxy;
use shared_server::{Db, RepoError};

/// Requests answered during a known outage must take less than this.
const FAST: Duration = Duration::from_millis(500);
/// How long the outage lasts (several probe cycles): requests keep being refused throughout.
const OUTAGE: Duration = Duration::from_secs(3);

shared_server::slice_rpc!(
    /// A protected procedure that reads the database, served at `/v1/outage/rpc`.
    OutageRpc
);

async fn count_users(ctx: Context, _: AuthContext, _: ()) -> RpcResult<i64, Failure> {
    let db = ctx
        .get::<Db>()
        .map_err(shared_server::rpc::RpcError::internal)?;
    let count = db
        .transaction(|tx| {
            Box::pin(async move {
                let n: i64 = shared_server::on_conn!(tx.conn(), |c| sqlx::query_scalar(
                    "SELECT COUNT(*) FROM shared_user"
                )
                .fetch_one(&mut *c)
                .await)?;
                Ok::<_, RepoError>(n)
            })
        })
        .await
        .map_err(Failure::from_repo)?;
    Ok(count)
}

fn outage_layer() -> Layer {
    Layer::named_leaf("outage-test")
        .requires::<Db>()
        .provides::<OutageRpc>()
        .build(|_, _| async move {
            let group = RpcGroup::new("outage").authenticated("countUsers", count_users);
            Ok::<_, BoxError>(Context::new().with(OutageRpc(group)))
        })
}

struct Server {
    runtime: ServerRuntime,
    base: String,
    client: reqwest::Client,
    token: String,
    _data: common::DataDir,
}

impl Server {
    async fn start(database_url: &str) -> Server {
        let data = common::DataDir::new();
        let config = common::config(&data, &[("DATABASE_URL", database_url)]);
        let extra = ExtraRoutes {
            protected: axum::Router::new().route(
                "/v1/me",
                get(|Extension(caller): Extension<AuthContext>| async move { caller.user.email }),
            ),
            rpc_groups: vec![GroupEntry::of::<OutageRpc>()],
            ..ExtraRoutes::default()
        };
        let runtime = ServerRuntime::new(server_layer_with_slices(config, extra, outage_layer()));
        let ctx = runtime.context().await.expect("server starts");
        let base = ctx.get::<HttpServer>().unwrap().base_url.clone();
        let client = reqwest::Client::new();
        let signed_up = client
            .post(format!("{base}/api/v1/auth/sign-up/email"))
            .header("origin", &base)
            .json(&json!({"name": "Ada", "email": "ada@example.com", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_up.status(), 200);
        let token = signed_up.headers()["set-auth-token"]
            .to_str()
            .unwrap()
            .to_string();
        Server {
            runtime,
            base,
            client,
            token,
            _data: data,
        }
    }

    async fn get_session(&self) -> reqwest::Response {
        self.client
            .get(format!("{}/api/v1/auth/get-session", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn sign_in(&self) -> reqwest::Response {
        self.client
            .post(format!("{}/api/v1/auth/sign-in/email", self.base))
            .header("origin", &self.base)
            .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap()
    }

    async fn me(&self) -> reqwest::Response {
        self.client
            .get(format!("{}/v1/me", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn ready(&self) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/v1/ready", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// One `countUsers` call over HTTP NDJSON; returns its `exit`.
    async fn count_users(&self) -> Value {
        let body = self
            .client
            .post(format!("{}/v1/outage/rpc", self.base))
            .header("content-type", "application/ndjson")
            .bearer_auth(&self.token)
            .body("{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"countUsers\",\"headers\":[]}\n")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let exit: Value = serde_json::from_str(body.lines().last().unwrap()).unwrap();
        assert_eq!(exit["_tag"], "Exit", "{body}");
        exit["exit"].clone()
    }
}

fn assert_unavailable(what: &str, response: &reqwest::Response) {
    assert_eq!(response.status(), 503, "{what}");
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1"),
        "{what}: Retry-After"
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_is_answered_fast_and_honestly_and_recovers_without_a_restart() {
    let Some(test) = shared_server::testing::postgres().await else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    test.db.close().await;
    let proxy = CutProxy::start(&test.url).await.unwrap();
    let server = Server::start(&proxy.url()).await;

    // Healthy first.
    assert_eq!(server.get_session().await.status(), 200);
    assert_eq!(server.me().await.status(), 200);
    assert_eq!(
        server.count_users().await,
        json!({"_tag": "Success", "value": 1})
    );
    assert_eq!(server.ready().await.0, 200);

    proxy.cut();
    let cut_at = Instant::now();
    // The first probe finds out; its own deadline bounds it.
    let (status, body) = server.ready().await;
    let detected_in = cut_at.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], json!(["database"]));
    assert!(
        detected_in < Duration::from_secs(2),
        "the first /v1/ready after the cut took {detected_in:?}"
    );

    let mut latencies: Vec<Duration> = Vec::new();
    let mut timed = |started: Instant, what: &str| {
        let took = started.elapsed();
        assert!(took < FAST, "{what} took {took:?} during a known outage");
        latencies.push(took);
    };
    while cut_at.elapsed() < OUTAGE {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let response = server.get_session().await;
        timed(started, "get-session");
        assert_unavailable("get-session", &response);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "SERVICE_UNAVAILABLE");

        let started = Instant::now();
        let response = server.me().await;
        timed(started, "a protected route");
        assert_unavailable("a protected route", &response);

        let started = Instant::now();
        let exit = server.count_users().await;
        timed(started, "an RPC call");
        assert_eq!(
            exit,
            json!({"_tag": "Failure", "cause": {"_tag": "Interrupt",
                "fiberId": {"_tag": "Runtime", "id": -503, "startTimeMillis": 0}}})
        );

        let started = Instant::now();
        let (status, body) = server.ready().await;
        timed(started, "/v1/ready");
        assert_eq!(status, 503, "{body}");
    }
    let started = Instant::now();
    let response = server.sign_in().await;
    timed(started, "sign-in");
    assert_unavailable("sign-in", &response);
    latencies.sort();
    eprintln!(
        "outage: first /v1/ready 503 after {detected_in:?}; {} requests during it: p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );

    proxy.restore();
    let restored_at = Instant::now();
    loop {
        if server.ready().await.0 == 200 && server.get_session().await.status() == 200 {
            break;
        }
        assert!(
            restored_at.elapsed() < Duration::from_secs(10),
            "recovers without a restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered_in = restored_at.elapsed();
    assert_eq!(server.me().await.status(), 200);
    assert_eq!(
        server.count_users().await,
        json!({"_tag": "Success", "value": 1})
    );
    assert_eq!(server.sign_in().await.status(), 200);
    eprintln!("recovered {recovered_in:?} after the database came back");
    server.runtime.dispose().await.unwrap();
}

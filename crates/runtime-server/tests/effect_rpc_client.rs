//! Compatibility with the real TypeScript client: runs `@effect/rpc` (Node.js, pinned in
//! `tests/js/effect-rpc/package-lock.json`) against the Rust RPC server on port 0, over
//! WebSocket/NDJSON, HTTP/NDJSON and HTTP/JSON, and checks what it observed.
//!
//! The server serves the real `shared` group at `/v1/shared/rpc` and the test-only group below
//! at `/v1/test/rpc`, with an auth resolver that accepts one fixed bearer token. (How the RPC
//! routes sit in the composed server's middleware stack is `rpc_server_wiring.rs`.)
//! `cargo xtask test` installs the client (`npm ci`).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use futures::stream::{self, Stream};
use runtime_server::rpc::{self, RpcLimits};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared_server::auth::{AuthContext, AuthError, AuthResolver};
use shared_server::rpc::shared_group::Health;
use shared_server::rpc::{health_group, RpcError, RpcGroup, RpcResult};
use shared_server::Context;

const TOKEN: &str = "compat-token";
const USER_ID: &str = "shared_user__0190a6f2-7c4e-7d3a-9b1e-2f6d8c0a4b51";

/// Accepts exactly `Authorization: Bearer compat-token`.
struct FixedTokenResolver {
    caller: AuthContext,
}

#[async_trait::async_trait]
impl AuthResolver for FixedTokenResolver {
    async fn resolve(&self, headers: &HeaderMap) -> Result<Option<AuthContext>, AuthError> {
        let expected = format!("Bearer {TOKEN}");
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        Ok((presented == Some(expected.as_str())).then(|| self.caller.clone()))
    }
}

fn caller() -> AuthContext {
    let audit = json!({"createdAt": "2024-05-06T07:08:09.123Z", "updatedAt": "2024-05-06T07:08:09.123Z", "version": 1});
    let mut user = json!({
        "_rowId": 1, "id": USER_ID, "name": "Compat", "email": "compat@example.com",
        "emailVerified": true, "role": "user", "banned": false, "isAnonymous": false,
        "phoneNumberVerified": false, "twoFactorEnabled": false, "uploadLimit": 100_000_000,
    });
    let mut session = json!({
        "_rowId": 1, "id": "shared_session__0190a6f2-7c4e-7d3a-9b1e-2f6d8c0a4b52",
        "token": TOKEN, "expiresAt": "2999-01-01T00:00:00.000Z", "userId": USER_ID,
    });
    for row in [&mut user, &mut session] {
        if let (Some(row), Some(audit)) = (row.as_object_mut(), audit.as_object()) {
            row.extend(audit.clone());
        }
    }
    AuthContext {
        user: serde_json::from_value(user).expect("a valid user row"),
        session: serde_json::from_value(session).expect("a valid session row"),
        organization: None,
    }
}

/// How many stream handlers are alive (decremented when a stream is dropped).
#[derive(Clone, Default)]
struct ActiveStreams(Arc<AtomicUsize>);

struct StreamAlive(Arc<AtomicUsize>);

impl StreamAlive {
    fn start(ctx: &Context) -> RpcResult<Self> {
        let active = ctx.get::<ActiveStreams>().map_err(RpcError::internal)?;
        active.0.fetch_add(1, Ordering::SeqCst);
        Ok(StreamAlive(active.0.clone()))
    }
}

impl Drop for StreamAlive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Serialize, Deserialize)]
struct Text {
    text: String,
}

#[derive(Deserialize)]
struct CountTo {
    n: f64,
}

#[derive(Deserialize)]
struct FailWith {
    message: String,
}

#[derive(Debug, Serialize)]
#[serde(tag = "_tag", rename = "RpcTestError")]
struct RpcTestError {
    message: String,
}

async fn echo(_: Context, payload: Text) -> RpcResult<Text> {
    Ok(payload)
}

async fn count_to(ctx: Context, p: CountTo) -> RpcResult<impl Stream<Item = RpcResult<u64>>> {
    let alive = StreamAlive::start(&ctx)?;
    let n = p.n.max(0.0) as u64;
    Ok(stream::unfold(
        (alive, 1u64),
        move |(alive, next)| async move { (next <= n).then(|| (Ok(next), (alive, next + 1))) },
    ))
}

/// An endless stream, one number every 5 ms: only an interruption ends it.
async fn ticks(ctx: Context, _: ()) -> RpcResult<impl Stream<Item = RpcResult<u64>>> {
    let alive = StreamAlive::start(&ctx)?;
    Ok(stream::unfold((alive, 1u64), |(alive, next)| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Some((Ok(next), (alive, next + 1)))
    }))
}

async fn active_streams(ctx: Context, _: ()) -> RpcResult<Value> {
    let active = ctx.get::<ActiveStreams>().map_err(RpcError::internal)?;
    Ok(json!({ "count": active.0.load(Ordering::SeqCst) }))
}

async fn fail_with(_: Context, p: FailWith) -> RpcResult<(), RpcTestError> {
    Err(RpcTestError { message: p.message }.into())
}

/// The shared group's `getHealth` answer, in the test group too.
async fn get_health(_: Context, _: ()) -> RpcResult<Health> {
    Ok(Health {
        status: "ok".into(),
    })
}

async fn who_am_i(_: Context, caller: AuthContext, _: ()) -> RpcResult<Value> {
    Ok(json!({ "userId": caller.user.id.to_string() }))
}

/// The test contract of effect-rpc-protocol.md §8 (getHealth is the shared group's handler).
fn test_group() -> RpcGroup {
    RpcGroup::new("test")
        .public("getHealth", get_health)
        .public("echo", echo)
        .public_stream("countTo", count_to)
        .public_stream("ticks", ticks)
        .public("activeStreams", active_streams)
        .public("failWith", fail_with)
        .authenticated("whoAmI", who_am_i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_effect_rpc_client_talks_to_the_server() {
    let dir = common::node::effect_rpc_dir();

    let active = ActiveStreams::default();
    let ctx = Context::new()
        .with_arc::<dyn AuthResolver>(Arc::new(FixedTokenResolver { caller: caller() }))
        .with(active.clone());
    let app = rpc::router([health_group(), test_group()], ctx, RpcLimits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let output = tokio::task::spawn_blocking(move || {
        let env = [("RPC_BASE_URL", base_url.as_str()), ("RPC_TOKEN", TOKEN)];
        common::node::run_node(&dir, "compat.mjs", &env, Duration::from_secs(150))
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the Node client failed:\n{stderr}");
    let results: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("unreadable client output ({e}):\n{stderr}"));

    assert_eq!(results.len(), 3);
    for result in &results {
        check_transport(result);
    }
    assert_eq!(
        active.0.load(Ordering::SeqCst),
        0,
        "every stream handler ended"
    );
    server.abort();
}

fn check_transport(result: &Value) {
    let transport = result["transport"].as_str().unwrap_or("?");
    let expect = |field: &str, expected: Value| {
        assert_eq!(result[field], expected, "{transport}: {field}");
    };
    expect("sharedHealth", json!({"status": "ok"}));
    expect("health", json!({"status": "ok"}));
    expect("echo", json!({"text": "héllo 🌍"}));
    expect("bigEchoIntact", json!(true));
    expect("countTo", json!({"length": 1000, "inOrder": true}));
    expect("emptyStream", json!([]));
    expect(
        "failWith",
        json!({"tag": "RpcTestError", "message": "boom", "typed": true}),
    );
    expect(
        "anonymous",
        json!({"tag": "Unauthorized", "message": "Missing authorization header", "typed": true}),
    );
    expect(
        "wrongToken",
        json!({"tag": "Unauthorized", "message": "Invalid or expired credentials", "typed": true}),
    );
    expect("perCallToken", json!({"success": {"userId": USER_ID}}));
    expect(
        "transportHeaderToken",
        json!({"success": {"userId": USER_ID}}),
    );
    expect("concurrent", json!({"calls": 50, "allMatch": true}));
    expect(
        "unknownTag",
        json!({"defect": "Unknown request tag: notImplemented"}),
    );
    expect("afterUnknownTag", json!("still here"));
    let interrupted = &result["interrupted"];
    if transport == "http-json" {
        assert_eq!(interrupted["received"], "timed out", "{transport}");
    } else {
        assert_eq!(interrupted["received"], json!([1, 2, 3]), "{transport}");
    }
    assert_eq!(
        interrupted["streamsLeft"], 0,
        "{transport}: the interrupted stream's handler was dropped"
    );
    expect("echoAfterInterrupt", json!("after"));
}

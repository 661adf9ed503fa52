//! The declaration API seen from a slice: procedures declared with serde types and plain async
//! functions, invoked the way the transport invokes them (JSON in, JSON or a Cause out).

use futures::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared_server::auth::AuthContext;
use shared_server::rpc::{health_group, Access, Cause, Invocation, RpcError, RpcGroup, RpcResult};
use shared_server::Context;

#[derive(Debug, Serialize, Deserialize)]
struct Echo {
    text: String,
}

#[derive(Debug, Deserialize)]
struct CountTo {
    n: i64,
    #[serde(default)]
    fail_at: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "_tag")]
enum CountError {
    TooFar { at: i64 },
}

async fn echo(_: Context, payload: Echo) -> RpcResult<Echo> {
    Ok(payload)
}

async fn forget(_: Context, _: Echo) -> RpcResult<()> {
    Ok(())
}

async fn explode(_: Context, _: ()) -> RpcResult<()> {
    Err(RpcError::internal("disk on fire at /var/secret"))
}

async fn count_to(
    _: Context,
    p: CountTo,
) -> RpcResult<impl Stream<Item = RpcResult<i64, CountError>>, CountError> {
    if p.n > 1000 {
        return Err(CountError::TooFar { at: p.n }.into());
    }
    Ok(stream::iter(1..=p.n).map(move |i| match p.fail_at {
        Some(at) if at == i => Err(CountError::TooFar { at }.into()),
        _ => Ok(i),
    }))
}

async fn who_am_i(_: Context, caller: AuthContext, _: ()) -> RpcResult<Value> {
    Ok(json!({ "userId": caller.user.id.to_string() }))
}

fn group() -> RpcGroup {
    RpcGroup::new("test")
        .public("echo", echo)
        .public("forget", forget)
        .public("explode", explode)
        .public_stream("countTo", count_to)
        .authenticated("whoAmI", who_am_i)
}

async fn unary(
    group: &RpcGroup,
    tag: &str,
    payload: Option<Value>,
) -> Result<Option<Value>, Cause> {
    match group
        .procedure(tag)
        .expect("declared")
        .invoke(Context::new(), None, payload)
    {
        Invocation::Unary(call) => call.await,
        Invocation::Stream(_) => panic!("{tag} is not unary"),
    }
}

async fn collect(group: &RpcGroup, payload: Value) -> Vec<Result<Value, Cause>> {
    match group
        .procedure("countTo")
        .expect("declared")
        .invoke(Context::new(), None, Some(payload))
    {
        Invocation::Stream(elements) => elements.collect().await,
        Invocation::Unary(_) => panic!("countTo is a stream"),
    }
}

#[tokio::test]
async fn unary_procedures_encode_successes_and_reject_bad_payloads() {
    let group = group();
    assert_eq!(
        unary(&group, "echo", Some(json!({"text": "héllo"}))).await,
        Ok(Some(json!({"text": "héllo"})))
    );
    // A void success has no value on the wire.
    assert_eq!(
        unary(&group, "forget", Some(json!({"text": ""}))).await,
        Ok(None)
    );
    let Err(Cause::Die { defect }) = unary(&group, "echo", Some(json!({"text": 3}))).await else {
        panic!("a payload of the wrong type dies")
    };
    assert!(
        defect.message().starts_with("Invalid payload for echo"),
        "{defect:?}"
    );
    assert!(
        unary(&group, "echo", None).await.is_err(),
        "a required payload is required"
    );
    // Payload-less procedures accept anything, like the reference server.
    let exploded = unary(&group, "explode", Some(json!([1, 2]))).await;
    assert_eq!(
        serde_json::to_value(exploded.unwrap_err()).unwrap(),
        json!({"_tag": "Die", "defect": {"name": "Error", "message": "internal error"}})
    );
}

#[tokio::test]
async fn streams_yield_elements_then_stop_at_the_first_failure() {
    let group = group();
    let values = collect(&group, json!({"n": 3})).await;
    assert_eq!(values, vec![Ok(json!(1)), Ok(json!(2)), Ok(json!(3))]);
    assert!(collect(&group, json!({"n": 0})).await.is_empty());
    let failing = collect(&group, json!({"n": 3, "fail_at": 2})).await;
    assert_eq!(failing[0], Ok(json!(1)));
    assert_eq!(
        failing[1],
        Err(Cause::fail(json!({"_tag": "TooFar", "at": 2})))
    );
    // A failure before the stream starts is the stream's only item.
    assert_eq!(
        collect(&group, json!({"n": 5000})).await,
        vec![Err(Cause::fail(json!({"_tag": "TooFar", "at": 5000})))]
    );
}

#[tokio::test]
async fn protected_procedures_refuse_calls_without_a_caller() {
    let group = group();
    let procedure = group.procedure("whoAmI").unwrap();
    assert_eq!(procedure.access(), Access::Authenticated);
    assert!(!procedure.is_stream());
    assert_eq!(
        serde_json::to_value(unary(&group, "whoAmI", None).await.unwrap_err()).unwrap(),
        json!({"_tag": "Fail", "error": {"_tag": "Unauthorized", "message": "Missing authorization header"}})
    );
}

#[tokio::test]
async fn the_shared_group_answers_get_health() {
    let group = health_group();
    assert_eq!(group.path(), "/v1/shared/rpc");
    assert_eq!(
        group.procedure("getHealth").unwrap().access(),
        Access::Public
    );
    assert_eq!(
        unary(&group, "getHealth", None).await,
        Ok(Some(json!({"status": "ok"})))
    );
}

//! The documents slice served over the real RPC transport on port 0, on SQLite and (when
//! `TEST_POSTGRES_URL` is set) PostgreSQL, with members of two organizations, and the calls the
//! tests repeat.

#![allow(dead_code)]

use documents_server::{DocumentsRpc, DOCUMENTS_MIGRATIONS};
use serde_json::{json, Value};
use shared_server::rpc::GroupEntry;
use shared_server::testing::{TestApp, TestUser};

/// One app per backend.
pub async fn apps() -> Vec<TestApp> {
    TestApp::spawn_all(
        documents_server::layer,
        &[&DOCUMENTS_MIGRATIONS],
        &[GroupEntry::of::<DocumentsRpc>()],
    )
    .await
}

/// `who`'s organization id, as payloads carry it.
pub fn org(who: &TestUser) -> Value {
    json!(who.organization.id.as_str())
}

/// Creates a document as `who` with `fields` (merged into the payload) and returns it.
pub async fn create(app: &TestApp, who: &TestUser, fields: Value) -> Value {
    let mut payload = json!({"organizationId": org(who)});
    merge(&mut payload, fields);
    app.rpc(who, "Document.create", payload).await.success()
}

/// Calls `tag` with `{id}`.
pub async fn by_id(
    app: &TestApp,
    who: &TestUser,
    tag: &str,
    id: &Value,
) -> shared_server::testing::RpcReply {
    app.rpc(who, tag, json!({"id": id})).await
}

/// Calls `tag` and returns the typed failure's `_tag`.
#[track_caller]
pub fn tag_of(reply: shared_server::testing::RpcReply) -> String {
    reply.failure()["_tag"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The ids of a list of rows.
pub fn ids(rows: &Value) -> Vec<String> {
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|row| row["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn merge(target: &mut Value, fields: Value) {
    if let (Some(target), Value::Object(fields)) = (target.as_object_mut(), fields) {
        target.extend(fields);
    }
}

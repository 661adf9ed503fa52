//! Groups that add up (issue 19): the composed server with one more slice layer that provides
//! its own group (`notes`, at `/v1/notes/rpc`) serves it beside the runtime's `shared` group, and
//! the real `@effect/rpc` client calls both over every transport. Before the kit, groups lived in
//! one `Context` slot and the later layer's group replaced the earlier one.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{json, Value};
use shared_server::layer::Layer;
use shared_server::rpc::{Failure, GroupEntry, RpcGroup};
use shared_server::BoxError;

use runtime_server::{server_layer_with_slices, ExtraRoutes, HttpServer, ServerRuntime};

shared_server::slice_rpc!(NotesRpc);

#[derive(Deserialize)]
struct Text {
    text: String,
}

#[derive(Deserialize)]
struct ById {
    id: String,
}

#[derive(Deserialize)]
struct Count {
    n: u32,
}

async fn echo(_: Arc<()>, _: (), p: Text) -> Result<Value, Failure> {
    Ok(json!({"text": p.text, "group": "notes"}))
}

async fn get(_: Arc<()>, _: (), p: ById) -> Result<(), Failure> {
    Err(Failure::not_found("Note", p.id))
}

async fn count(
    _: Arc<()>,
    _: (),
    p: Count,
) -> Result<impl Stream<Item = Result<u32, Failure>> + Send + 'static, Failure> {
    Ok(stream::iter((1..=p.n).map(Ok)))
}

fn notes_layer() -> Layer {
    Layer::named_leaf("notes").service(|_, _| async move {
        let group = RpcGroup::with_state("notes", ())
            .public("Note.echo", echo)
            .public("Note.get", get)
            .public_stream("Note.count", count)
            .build();
        Ok::<_, BoxError>(NotesRpc(group))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_client_calls_the_groups_of_two_slice_layers() {
    let dir = common::node::effect_rpc_dir();
    let data = common::DataDir::new();
    let extra = ExtraRoutes {
        rpc_groups: vec![GroupEntry::of::<NotesRpc>()],
        ..ExtraRoutes::default()
    };
    let layer = server_layer_with_slices(common::config(&data, &[]), extra, notes_layer());
    let runtime = ServerRuntime::new(layer);
    let ctx = runtime.context().await.expect("the server starts");
    let base_url = ctx.get::<HttpServer>().unwrap().base_url.clone();

    let output = tokio::task::spawn_blocking(move || {
        let env = [("RPC_BASE_URL", base_url.as_str())];
        common::node::run_node(&dir, "groups.mjs", &env, Duration::from_secs(120))
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the Node client failed:\n{stderr}");
    let results: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("unreadable client output ({e}):\n{stderr}"));
    assert_eq!(results.len(), 3);
    for result in &results {
        let transport = &result["transport"];
        assert_eq!(result["health"], json!({"status": "ok"}), "{transport}");
        assert_eq!(
            result["echo"],
            json!({"text": "hi", "group": "notes"}),
            "{transport}"
        );
        assert_eq!(
            result["missing"],
            json!({"tag": "NoteNotFoundError", "id": "note_1", "typed": true}),
            "{transport}"
        );
        assert_eq!(result["counted"], json!([1, 2, 3]), "{transport}");
    }
    runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn a_second_group_with_a_taken_name_stops_start_up_naming_both() {
    shared_server::slice_rpc!(ImpostorRpc);
    let impostor = Layer::named_leaf("impostor").service(|_, _| async move {
        let group = RpcGroup::with_state("shared", ())
            .public("Note.echo", echo)
            .build();
        Ok::<_, BoxError>(ImpostorRpc(group))
    });
    let data = common::DataDir::new();
    let extra = ExtraRoutes {
        rpc_groups: vec![GroupEntry::of::<ImpostorRpc>()],
        ..ExtraRoutes::default()
    };
    let runtime = ServerRuntime::new(server_layer_with_slices(
        common::config(&data, &[]),
        extra,
        impostor,
    ));
    let error = runtime
        .context()
        .await
        .expect_err("two groups named `shared` must not start")
        .to_string();
    assert!(
        error.contains("SharedRpc")
            && error.contains("ImpostorRpc")
            && error.contains("/v1/shared/rpc"),
        "{error}"
    );
}

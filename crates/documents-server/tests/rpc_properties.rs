//! Random payloads at every `documents` procedure, and random search strings, on both backends
//! (property test): whatever the payload, the answer is a success, a typed failure the contract
//! lists, or the documented decode failure (`Die` "Invalid payload for <tag>: …"); never an
//! internal error, never a non-2xx HTTP answer, and the server keeps answering afterwards.
//! Payload values mix the fixture's real ids (own and the other organization's), malformed ids,
//! hostile text (NUL, quotes, FTS5 and tsquery operators, unicode), odd numbers and nesting.

mod common;

use common::{create, org};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use shared_server::testing::{RpcReply, TestApp, TestUser};
use tokio::runtime::Runtime;

const TAGS: &[&str] = &[
    "Document.get",
    "Document.listByUser",
    "Document.list",
    "Document.listTrash",
    "Document.listChildren",
    "Document.search",
    "Document.create",
    "Document.update",
    "Document.archive",
    "Document.restore",
    "Document.publish",
    "Document.unpublish",
    "Document.lock",
    "Document.unlock",
    "Document.delete",
    "Discussion.get",
    "Discussion.listByDocument",
    "Discussion.create",
    "Discussion.createWithComment",
    "Discussion.resolve",
    "Discussion.unresolve",
    "Discussion.delete",
    "Comment.get",
    "Comment.listByDiscussion",
    "Comment.create",
    "Comment.update",
    "Comment.delete",
    "DocumentVersion.get",
    "DocumentVersion.getContent",
    "DocumentVersion.listByDocument",
    "DocumentVersion.createSnapshot",
    "DocumentVersion.hardDelete",
];

const FIELDS: &[&str] = &[
    "id",
    "organizationId",
    "documentId",
    "parentDocumentId",
    "discussionId",
    "userId",
    "query",
    "title",
    "content",
    "contentRich",
    "version",
    "limit",
    "offset",
    "cursor",
    "search",
    "includeArchived",
    "documentContent",
    "templateId",
    "yjsSnapshot",
    "coverImage",
    "icon",
    "textStyle",
    "toc",
    "lockPage",
    "isPublished",
    "fullWidth",
    "smallText",
];

/// Every `_tag` a `documents` procedure may fail with (slices.md §0.7, §0.8, §3.5).
const FAILURES: &[&str] = &[
    "Unauthorized",
    "Forbidden",
    "ValidationError",
    "ConflictError",
    "VersionConflictError",
    "DocumentNotFoundError",
    "DiscussionNotFoundError",
    "CommentNotFoundError",
    "DocumentVersionNotFoundError",
    "DocumentPermissionDeniedError",
    "DocumentLockedError",
    "DocumentArchivedError",
    "PermissionDeniedError",
];

const HOSTILE: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "a\u{0}b",
    "\"",
    "\"\"",
    "'",
    "-",
    "--",
    "-\"",
    "or",
    "OR",
    "NOT",
    "NEAR(a b)",
    "a*",
    "title:x",
    "{title}: x",
    "^a",
    "a & b | !c",
    "<->",
    ":*",
    "(((",
    ")",
    "\\",
    "%",
    "_",
    "'; DROP TABLE documents_document; --",
    "$1",
    "🦊",
    "\u{0301}",
    "東京",
    "ﬁ",
    "\u{202e}",
    "default",
    "serif",
    "AQID",
    "not base64!",
    "documents_document__nope",
];

struct Fixture {
    app: TestApp,
    /// The owner of the organization and a plain member of it: calls are made as either.
    ada: TestUser,
    carl: TestUser,
    ids: Vec<Value>,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(HOSTILE).prop_map(str::to_string),
        (490usize..1100).prop_map(|n| "x".repeat(n)),
        any::<String>(),
        "[a-z \"()*:^-]{0,24}",
    ]
}

fn leaf(ids: Vec<Value>) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just(0.5), Just(-1.0), Just(1e300), Just(201.0), Just(2.0)]
            .prop_map(Value::from),
        text().prop_map(Value::String),
        proptest::sample::select(ids),
    ]
}

fn value(ids: Vec<Value>) -> impl Strategy<Value = Value> {
    leaf(ids).prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,6}|text|children", inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A value of the type the field has in the contract (mostly), or any value (sometimes).
fn typed(field: &'static str, ids: Vec<Value>, own_org: Value) -> BoxedStrategy<Value> {
    let of_type: BoxedStrategy<Value> = match field {
        "organizationId" => prop_oneof![4 => Just(own_org), 1 => proptest::sample::select(ids.clone())].boxed(),
        "id" | "documentId" | "parentDocumentId" | "discussionId" | "userId" | "cursor" => {
            prop_oneof![4 => proptest::sample::select(ids.clone()), 1 => text().prop_map(Value::String)].boxed()
        }
        "includeArchived" | "toc" | "lockPage" | "isPublished" | "fullWidth" | "smallText" => {
            any::<bool>().prop_map(Value::Bool).boxed()
        }
        "version" | "limit" | "offset" => prop_oneof![
            (-3i64..300).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(json!(0.5)),
        ]
        .boxed(),
        "contentRich" => value(ids.clone()).boxed(),
        _ => text().prop_map(Value::String).boxed(),
    };
    prop_oneof![8 => of_type, 1 => Just(Value::Null), 1 => value(ids)].boxed()
}

fn payload(ids: Vec<Value>, own_org: Value) -> impl Strategy<Value = Value> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = FIELDS
        .iter()
        .map(|&field| {
            proptest::option::weighted(0.8, typed(field, ids.clone(), own_org.clone()))
                .prop_map(move |v| v.map(|v| (field.to_string(), v)))
                .boxed()
        })
        .collect();
    prop_oneof![
        1 => value(ids),
        9 => fields.prop_map(|pairs| Value::Object(pairs.into_iter().flatten().collect())),
    ]
}

fn check(tag: &str, reply: &RpcReply) -> Result<(), TestCaseError> {
    match reply {
        RpcReply::Success(_) => Ok(()),
        RpcReply::Failure(failure) => {
            let name = failure["_tag"].as_str().unwrap_or_default();
            prop_assert!(
                FAILURES.contains(&name),
                "{tag}: undocumented failure {failure}"
            );
            Ok(())
        }
        RpcReply::Defect(cause) => {
            let message = cause["defect"]
                .as_str()
                .or_else(|| cause["defect"]["message"].as_str());
            let documented =
                message.is_some_and(|m| m.starts_with(&format!("Invalid payload for {tag}")));
            prop_assert!(documented, "{tag}: defect {cause}");
            Ok(())
        }
    }
}

fn fixtures(runtime: &Runtime) -> Vec<Fixture> {
    runtime.block_on(async {
        let mut out = Vec::new();
        for app in common::apps().await {
            let (ada, bea) = (app.member("ada").await, app.member_of_other_org("bea").await);
            let mut ids = vec![org(&ada), org(&bea), json!(ada.user.id.as_str()), json!(bea.user.id.as_str())];
            for who in [&ada, &bea] {
                let doc = create(&app, who, json!({"title": "Fixture words", "content": "fixture body"})).await;
                let thread = app
                    .rpc(who, "Discussion.createWithComment", json!({"organizationId": org(who), "documentId": doc["id"], "documentContent": "q", "contentRich": [{"text": "c"}]}))
                    .await
                    .success();
                let discussion = app.rpc(who, "Discussion.get", json!({"id": thread["id"]})).await.success();
                let version = app
                    .rpc(who, "DocumentVersion.createSnapshot", json!({"organizationId": org(who), "documentId": doc["id"]}))
                    .await
                    .success();
                ids.extend([doc["id"].clone(), thread["id"].clone(), discussion["comments"][0]["id"].clone(), version["data"]["id"].clone()]);
            }
            let carl = app.join(&ada, "carl", "member").await;
            out.push(Fixture { app, ada, carl, ids });
        }
        out
    })
}

#[test]
fn random_payloads_at_every_procedure_get_documented_answers() {
    let runtime = Runtime::new().unwrap();
    for fixture in fixtures(&runtime) {
        let config = ProptestConfig {
            cases: 500,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        let strategy = (
            proptest::sample::select(TAGS),
            payload(fixture.ids.clone(), org(&fixture.ada)),
            any::<bool>(),
        );
        proptest!(config, |((tag, payload, as_owner) in strategy)| {
            let who = if as_owner { &fixture.ada } else { &fixture.carl };
            let reply = runtime.block_on(fixture.app.rpc(who, tag, payload));
            check(tag, &reply)?;
        });
        let alive = runtime.block_on(fixture.app.rpc(
            &fixture.ada,
            "Document.list",
            json!({"organizationId": org(&fixture.ada)}),
        ));
        assert!(matches!(alive, RpcReply::Success(_)), "{alive:?}");
    }
}

#[test]
fn random_search_strings_never_fail_the_query() {
    let runtime = Runtime::new().unwrap();
    for fixture in fixtures(&runtime) {
        let config = ProptestConfig {
            cases: 500,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        let query = prop_oneof![
            text(),
            proptest::collection::vec(proptest::sample::select(HOSTILE), 0..6)
                .prop_map(|parts| parts.join(" ")),
            proptest::collection::vec(
                prop_oneof![
                    Just("fixture"),
                    Just("words"),
                    Just("-body"),
                    Just("or"),
                    Just("\"fixture"),
                    Just("the")
                ],
                0..6
            )
            .prop_map(|parts| parts.join(" ")),
        ];
        proptest!(config, |(query in query, archived in any::<bool>())| {
            let payload = json!({"organizationId": org(&fixture.ada), "query": query, "includeArchived": archived});
            let reply = runtime.block_on(fixture.app.rpc(&fixture.ada, "Document.search", payload));
            prop_assert!(matches!(reply, RpcReply::Success(Value::Array(_))), "{query:?}: {reply:?}");
        });
    }
}

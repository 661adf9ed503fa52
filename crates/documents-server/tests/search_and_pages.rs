//! Full-text search (slices.md §3.2) and the keyset pages of `Document.list` (§0.6, §3.4), on
//! both backends: title matches rank above content-only ones, the websearch syntax means the
//! same on both (phrases, `-term`, `or`, stop words, hostile input that must not fail), soft
//! state is respected (archived rows only on request), and a cursor that vanished is refused.

mod common;

use common::{apps, by_id, create, ids, org};
use serde_json::{json, Value};
use shared_server::testing::{TestApp, TestUser};

async fn search(app: &TestApp, who: &TestUser, query: &str, extra: Value) -> Value {
    let mut payload = json!({"organizationId": org(who), "query": query});
    common::merge(&mut payload, extra);
    app.rpc_stream(who, "Document.search", payload)
        .await
        .success()
}

#[tokio::test]
async fn title_matches_rank_above_content_only_matches() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let content_heavy = create(&app, &ada, json!({"title": "Weekly notes", "content": "budget budget budget budget budget planning for the budget"})).await;
        let titled = create(&app, &ada, json!({"title": "Budget", "content": "numbers"})).await;
        let other = create(&app, &bea, json!({"title": "Budget", "content": "budget"})).await;
        let hits = search(&app, &ada, "budgets", json!({})).await;
        assert_eq!(
            ids(&hits),
            vec![
                titled["id"].as_str().unwrap(),
                content_heavy["id"].as_str().unwrap()
            ]
        );
        let (first, second) = (
            hits[0]["rank"].as_f64().unwrap(),
            hits[1]["rank"].as_f64().unwrap(),
        );
        assert!(first > second && second > 0.0, "{first} {second}");
        let keys: Vec<&str> = hits[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 5, "{keys:?}");
        assert_eq!(
            ids(&search(&app, &bea, "budget", json!({})).await),
            vec![other["id"].as_str().unwrap()]
        );
    }
}

#[tokio::test]
async fn the_websearch_syntax_means_the_same_on_both_backends() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let fox = create(
            &app,
            &ada,
            json!({"title": "Fox", "content": "the quick brown fox jumps over the lazy dog"}),
        )
        .await;
        let cat = create(
            &app,
            &ada,
            json!({"title": "Cat", "content": "a quick cat sleeps; brown fur"}),
        )
        .await;
        let owl = create(
            &app,
            &ada,
            json!({"title": "Owl", "content": "owls hunt at night"}),
        )
        .await;
        let (fox, cat, owl) = (
            fox["id"].as_str().unwrap(),
            cat["id"].as_str().unwrap(),
            owl["id"].as_str().unwrap(),
        );
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let expect = |mut v: Vec<&str>| {
            v.sort();
            v.into_iter().map(String::from).collect::<Vec<_>>()
        };
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("quick brown", vec![fox, cat]),
            ("\"quick brown\"", vec![fox]),
            ("\"brown quick\"", vec![]),
            ("quick -fox", vec![cat]),
            ("quick -\"brown fox\"", vec![cat]),
            ("owl or dog", vec![fox, owl]),
            // AND binds tighter than OR, as in PostgreSQL: night OR (cat AND quick).
            ("night OR cat quick", vec![cat, owl]),
            ("quick -cat or owls", vec![fox, owl]),
            ("sleeping", vec![cat]),
            ("\"lazy dog", vec![fox]),
            ("the of and", vec![]),
            ("-quick", vec![]),
            ("", vec![]),
        ];
        for (query, expected) in cases {
            let found = sorted(ids(&search(&app, &ada, query, json!({})).await));
            assert_eq!(
                found,
                expect(expected),
                "{:?} on {:?}",
                query,
                app.backend()
            );
        }
        // Nothing a user types makes the statement fail.
        for hostile in [
            "NEAR(quick brown)",
            "quick*",
            "title:fox",
            "\"",
            "\"\"\"",
            "(((",
            ")",
            "-",
            "- -",
            "--quick",
            "fox AND",
            "OR",
            "^fox",
            "{title}: fox",
            "'; DROP TABLE documents_document; --",
            "\u{0}fox",
            "café 東京 🦊",
            "\u{0301}",
            "quick\\",
            "$1",
            "%_",
            "fox:*",
            "!fox",
            "fox & dog | cat",
            "<->",
        ] {
            let reply = app
                .rpc(
                    &ada,
                    "Document.search",
                    json!({"organizationId": org(&ada), "query": hostile}),
                )
                .await;
            assert!(
                matches!(reply, shared_server::testing::RpcReply::Success(_)),
                "{hostile:?}: {reply:?}"
            );
        }
        let near = sorted(ids(
            &search(&app, &ada, "NEAR(quick brown)", json!({})).await
        ));
        assert_eq!(
            near,
            Vec::<String>::new(),
            "NEAR is a word, and no row has it"
        );
        assert_eq!(
            search(&app, &bea, "quick or owl", json!({})).await,
            json!([])
        );
    }
}

#[tokio::test]
async fn search_excludes_archived_rows_unless_asked_and_filters_by_user_and_page() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let carl = app.join(&ada, "carl", "member").await;
        let archived = create(&app, &ada, json!({"title": "Archived report"})).await;
        by_id(&app, &ada, "Document.archive", &archived["id"])
            .await
            .success();
        let live = create(&app, &carl, json!({"title": "Live report"})).await;
        assert_eq!(
            ids(&search(&app, &ada, "report", json!({})).await),
            vec![live["id"].as_str().unwrap()]
        );
        let all = search(&app, &ada, "report", json!({"includeArchived": true})).await;
        assert_eq!(ids(&all).len(), 2);
        let carls = search(
            &app,
            &ada,
            "report",
            json!({"includeArchived": true, "userId": carl.user.id.as_str()}),
        )
        .await;
        assert_eq!(ids(&carls), vec![live["id"].as_str().unwrap()]);
        let one = search(
            &app,
            &ada,
            "report",
            json!({"includeArchived": true, "limit": 1}),
        )
        .await;
        let next = search(
            &app,
            &ada,
            "report",
            json!({"includeArchived": true, "limit": 1, "offset": 1}),
        )
        .await;
        assert_eq!(ids(&one).len() + ids(&next).len(), 2);
        assert_ne!(ids(&one), ids(&next));
        // Out-of-range numbers are clamped, not failures.
        assert_eq!(
            ids(&search(&app, &ada, "report", json!({"limit": 0, "offset": -5})).await).len(),
            1
        );
        let long = create(
            &app,
            &ada,
            json!({"title": "Long", "content": format!("needle {}", "x".repeat(900))}),
        )
        .await;
        let hit = search(&app, &ada, "needle", json!({})).await;
        assert_eq!(hit[0]["id"], long["id"]);
        assert_eq!(hit[0]["content"].as_str().unwrap().chars().count(), 500);
        let theirs = search(&app, &bea, "report", json!({"includeArchived": true})).await;
        assert_eq!(theirs, json!([]));
    }
}

#[tokio::test]
async fn lists_page_by_update_time_and_a_vanished_cursor_is_refused() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let mut made = Vec::new();
        for n in 0..5 {
            made.push(create(&app, &ada, json!({"title": format!("Page {n}")})).await);
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        create(&app, &bea, json!({"title": "Page of bea"})).await;
        // Touching a page moves it to the front.
        app.rpc(
            &ada,
            "Document.update",
            json!({"id": made[1]["id"], "icon": "*"}),
        )
        .await
        .success();
        let list = |cursor: Option<Value>, limit: i64| {
            let mut payload = json!({"organizationId": org(&ada), "limit": limit});
            if let Some(cursor) = cursor {
                payload["cursor"] = cursor;
            }
            app.rpc_stream(&ada, "Document.list", payload)
        };
        let first = list(None, 2).await.success();
        let second = list(Some(first[1]["id"].clone()), 2).await.success();
        let third = list(Some(second[1]["id"].clone()), 2).await.success();
        let order: Vec<String> = [ids(&first), ids(&second), ids(&third)].concat();
        let expected: Vec<String> = [1, 4, 3, 2, 0]
            .iter()
            .map(|&i| made[i]["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(order, expected);
        // Title filter: case-insensitive contains, with LIKE wildcards taken literally.
        let filtered = app
            .rpc_stream(
                &ada,
                "Document.list",
                json!({"organizationId": org(&ada), "search": "PAGE 3"}),
            )
            .await
            .success();
        assert_eq!(ids(&filtered), vec![made[3]["id"].as_str().unwrap()]);
        let wildcard = app
            .rpc_stream(
                &ada,
                "Document.list",
                json!({"organizationId": org(&ada), "search": "%"}),
            )
            .await
            .success();
        assert_eq!(wildcard, json!([]));
        // The cursor row is deleted: the next page cannot be placed.
        by_id(&app, &ada, "Document.delete", &second[1]["id"])
            .await
            .success();
        let failure = list(Some(second[1]["id"].clone()), 2).await.failure();
        assert_eq!(
            (failure["_tag"].clone(), failure["path"].clone()),
            (json!("ValidationError"), json!("cursor"))
        );
        // Text that is no id at all (NUL included) is no cursor.
        for junk in ["a\u{0}b", "documents_document__nope", ""] {
            let failure = list(Some(json!(junk)), 2).await.failure();
            assert_eq!(failure["path"], "cursor", "{junk:?}");
        }
        // Another tenant's id is no cursor either.
        let theirs = app
            .rpc_stream(&bea, "Document.list", json!({"organizationId": org(&bea)}))
            .await
            .success();
        assert_eq!(
            list(Some(theirs[0]["id"].clone()), 2).await.failure()["path"],
            "cursor"
        );
        let by_user = app
            .rpc_stream(
                &bea,
                "Document.listByUser",
                json!({"organizationId": org(&bea), "userId": bea.user.id.as_str()}),
            )
            .await
            .success();
        assert_eq!(ids(&by_user), ids(&theirs));
    }
}

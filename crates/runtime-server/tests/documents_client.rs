//! The documents group (slices.md §3.5) through the composed server, on SQLite and (when
//! `TEST_POSTGRES_URL` is set) PostgreSQL: two users sign up for real (better-auth endpoints,
//! personal organizations made active), then the real `@effect/rpc` client
//! (`tests/js/effect-rpc/documents.mjs`) drives a page tree over WebSocket/NDJSON, HTTP/NDJSON
//! and HTTP/JSON, decoding every reply strictly; the other organization's member sees none of it.

mod common;

use std::time::Duration;

use runtime_server::{server_layer, HttpServer, ServerRuntime};
use serde_json::{json, Value};

/// A signed-up user: bearer token, user id and active (personal) organization id.
struct SignedUp {
    token: String,
    user: String,
    organization: String,
}

async fn sign_up(base: &str, name: &str) -> SignedUp {
    let client = reqwest::Client::new();
    let email = format!("{}@example.com", name.to_lowercase());
    let response = client
        .post(format!("{base}/api/v1/auth/sign-up/email"))
        .header("origin", base)
        .json(&json!({"name": name, "email": email, "password": "correct horse battery staple"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "sign-up of {name}");
    let token = response.headers()["set-auth-token"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    let user = body["user"]["id"].as_str().unwrap().to_string();
    let organizations: Value = client
        .get(format!("{base}/api/v1/auth/organization/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let organization = organizations[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{organizations}"))
        .to_string();
    let activated = client
        .post(format!("{base}/api/v1/auth/organization/set-active"))
        .bearer_auth(&token)
        .header("origin", base)
        .json(&json!({"organizationId": organization}))
        .send()
        .await
        .unwrap();
    assert!(
        activated.status().is_success(),
        "set-active: {}",
        activated.status()
    );
    SignedUp {
        token,
        user,
        organization,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_client_builds_comments_snapshots_searches_and_deletes_a_page_tree() {
    let dir = common::node::effect_rpc_dir();
    let mut databases = vec![None];
    if let Some(pg) = shared_server::testing::postgres().await {
        databases.push(Some(pg.url.clone()));
        pg.db.close().await;
    }
    for database in databases {
        let data = common::DataDir::new();
        let vars: Vec<(&str, &str)> = database
            .iter()
            .map(|url| ("DATABASE_URL", url.as_str()))
            .collect();
        let runtime = ServerRuntime::new(server_layer(common::config(&data, &vars)));
        let ctx = runtime.context().await.expect("the server starts");
        let base = ctx.get::<HttpServer>().unwrap().base_url.clone();
        let (ada, bea) = (sign_up(&base, "Ada").await, sign_up(&base, "Bea").await);
        assert_ne!(ada.organization, bea.organization);

        let env = [
            ("RPC_BASE_URL", base.clone()),
            ("TOKEN_A", ada.token.clone()),
            ("USER_A", ada.user.clone()),
            ("ORG_A", ada.organization.clone()),
            ("TOKEN_B", bea.token.clone()),
            ("ORG_B", bea.organization.clone()),
        ];
        let dir = dir.clone();
        let output = tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            common::node::run_node(&dir, "documents.mjs", &env, Duration::from_secs(180))
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "the Node client failed ({database:?}):\n{stderr}"
        );
        let results: Vec<Value> = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("unreadable client output ({e}):\n{stderr}"));
        assert_eq!(results.len(), 3);
        for r in &results {
            check(r, &ada);
        }
        runtime.dispose().await.unwrap();
    }
}

/// What one transport's run must have observed.
fn check(r: &Value, ada: &SignedUp) {
    let t = &r["transport"];
    let (root, child, grandchild) = (&r["root"]["id"], &r["child"]["id"], &r["grandchild"]["id"]);
    assert_eq!(r["root"]["userId"], ada.user.as_str(), "{t}");
    assert_eq!(
        r["root"]["organizationId"],
        ada.organization.as_str(),
        "{t}"
    );
    assert_eq!(r["child"]["parentDocumentId"], *root, "{t}");
    assert_eq!(
        (
            r["updated"]["version"].clone(),
            r["updated"]["textStyle"].clone()
        ),
        (json!(2), json!("serif")),
        "{t}"
    );
    assert_eq!(r["updated"]["yjsSnapshot"], "AAEC", "{t}");
    assert_eq!(
        r["stale"],
        json!({"tag": "VersionConflictError", "typed": true, "id": root, "expectedVersion": 1, "actualVersion": 2}),
        "{t}"
    );
    assert_eq!(r["locked"]["lockPage"], true, "{t}");
    assert_eq!(r["refused"]["tag"], "DocumentLockedError", "{t}");
    assert_eq!(r["refused"]["typed"], true, "{t}");
    assert_eq!(r["unlockedInCall"]["lockPage"], false, "{t}");
    assert_eq!(
        r["publishedAgain"], r["published"],
        "{t}: publish is idempotent"
    );
    assert_eq!(r["childIds"], json!([child]), "{t}");
    assert!(r["rootIds"].as_array().unwrap().contains(root), "{t}");
    assert_eq!(r["firstPageIds"], json!([grandchild]), "{t}");
    assert!(
        r["byUserIds"].as_array().unwrap().contains(grandchild),
        "{t}"
    );
    assert_eq!(
        (r["cycle"]["tag"].clone(), r["cycle"]["path"].clone()),
        (json!("ValidationError"), json!("parentDocumentId")),
        "{t}"
    );
    assert_eq!(
        (r["tooLong"]["tag"].clone(), r["tooLong"]["path"].clone()),
        (json!("ValidationError"), json!("title")),
        "{t}"
    );
    assert_eq!(r["foreignOrg"]["tag"], "Forbidden", "{t}");

    assert_eq!(r["edited"]["isEdited"], true, "{t}");
    assert_eq!(r["comment"]["content"], "Everyone, really.", "{t}");
    assert_eq!(r["commentIds"].as_array().unwrap().len(), 2, "{t}");
    assert_eq!(r["resolved"]["isResolved"], true, "{t}");
    let discussion = &r["discussion"];
    assert_eq!(discussion["id"], r["thread"]["id"], "{t}");
    assert_eq!(
        discussion["comments"][0]["content"], "Who is the team?",
        "{t}"
    );
    assert_eq!(discussion["comments"][0]["user"]["name"], "Ada", "{t}");
    assert_eq!(r["threadIds"], json!([r["thread"]["id"]]), "{t}");
    assert_eq!(r["unresolved"]["isResolved"], false, "{t}");
    assert_eq!(r["deletedComment"], "void", "{t}");

    assert_eq!(r["snapshot"]["data"]["documentId"], *child, "{t}");
    assert_eq!(r["version"]["user"]["id"], ada.user.as_str(), "{t}");
    assert_eq!(
        r["content"]["documentVersionId"], r["snapshot"]["data"]["id"],
        "{t}"
    );
    assert!(
        r["content"]["content"]
            .as_str()
            .unwrap()
            .starts_with("First week"),
        "{t}"
    );
    assert_eq!(
        r["versionIds"],
        json!([r["extraId"], r["snapshot"]["data"]["id"]]),
        "{t}: newest first"
    );

    assert_eq!(
        r["hitIds"],
        json!([root, child]),
        "{t}: the title match ranks first"
    );
    assert!(
        r["hits"][0]["rank"].as_f64() > r["hits"][1]["rank"].as_f64(),
        "{t}"
    );
    assert_eq!(r["phraseIds"], json!([child]), "{t}");
    assert_eq!(r["hostileCount"], 0, "{t}");

    assert_eq!(r["trashed"]["isArchived"], true, "{t}");
    assert_eq!(r["trashIds"], json!([grandchild]), "{t}");
    assert_eq!(r["archivedRefusal"]["tag"], "DocumentArchivedError", "{t}");
    assert_eq!(r["restored"]["isArchived"], false, "{t}");

    let bea = &r["bea"];
    for key in ["get", "update", "remove"] {
        assert_eq!(
            bea[key],
            json!({"tag": "DocumentNotFoundError", "typed": true, "id": root}),
            "{t} {key}"
        );
    }
    assert_eq!(bea["discussion"]["tag"], "DiscussionNotFoundError", "{t}");
    assert_eq!(bea["version"]["tag"], "DocumentVersionNotFoundError", "{t}");
    assert_eq!(
        (bea["hits"].clone(), bea["children"].clone()),
        (json!([]), json!([])),
        "{t}"
    );

    let end = &r["end"];
    assert_eq!(end["deleted"], "void", "{t}");
    for key in ["child", "grandchild"] {
        assert_eq!(end[key]["tag"], "DocumentNotFoundError", "{t} {key}");
    }
    assert_eq!(end["discussion"]["tag"], "DiscussionNotFoundError", "{t}");
    assert_eq!(end["version"]["tag"], "DocumentVersionNotFoundError", "{t}");
    assert_eq!(end["hits"], json!([]), "{t}");
    assert_eq!(
        (
            end["vanishedCursor"]["tag"].clone(),
            end["vanishedCursor"]["path"].clone()
        ),
        (json!("ValidationError"), json!("cursor")),
        "{t}"
    );
}

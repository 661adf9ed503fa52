//! A document's states and its tree (slices.md §3.3), through the `documents` group on both
//! backends: a locked page refuses content fields unless the same call unlocks it, the trash
//! accepts only restore/archive/delete, flag changes are idempotent without a version bump, a
//! stale version reports both versions, and moves check the tree (no cycles, 64 levels at most).

mod common;

use common::{apps, by_id, create, ids, org, tag_of};
use serde_json::json;

#[tokio::test]
async fn a_locked_page_refuses_content_fields_unless_the_same_call_unlocks_it() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(&app, &ada, json!({"title": "Locked"})).await;
        let locked = by_id(&app, &ada, "Document.lock", &doc["id"])
            .await
            .success();
        assert_eq!(locked["lockPage"], true);
        for field in [
            json!({"title": "t"}),
            json!({"content": "c"}),
            json!({"contentRich": {"root": {}}}),
            json!({"yjsSnapshot": "AQID"}),
        ] {
            let mut payload = json!({"id": doc["id"]});
            common::merge(&mut payload, field.clone());
            let failure = app.rpc(&ada, "Document.update", payload).await.failure();
            assert_eq!(failure["_tag"], "DocumentLockedError", "{field}");
        }
        // Presentation fields are not content.
        let styled = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": doc["id"], "fullWidth": true, "icon": "📄"}),
            )
            .await
            .success();
        assert_eq!(
            (styled["fullWidth"].clone(), styled["icon"].clone()),
            (json!(true), json!("📄"))
        );
        let unlocked = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": doc["id"], "lockPage": false, "title": "Open", "yjsSnapshot": "AQID"}),
            )
            .await
            .success();
        assert_eq!(
            (unlocked["lockPage"].clone(), unlocked["title"].clone()),
            (json!(false), json!("Open"))
        );
        assert_eq!(unlocked["yjsSnapshot"], "AQID");
        assert_eq!(
            tag_of(by_id(&app, &bea, "Document.unlock", &doc["id"]).await),
            "DocumentNotFoundError"
        );
    }
}

#[tokio::test]
async fn an_archived_document_accepts_only_restore_archive_and_delete() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(&app, &ada, json!({"title": "Old"})).await;
        let archived = by_id(&app, &ada, "Document.archive", &doc["id"])
            .await
            .success();
        assert_eq!(
            (archived["isArchived"].clone(), archived["version"].clone()),
            (json!(true), json!(2))
        );
        for tag in [
            "Document.publish",
            "Document.unpublish",
            "Document.lock",
            "Document.unlock",
        ] {
            assert_eq!(
                tag_of(by_id(&app, &ada, tag, &doc["id"]).await),
                "DocumentArchivedError",
                "{tag}"
            );
        }
        let update = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": doc["id"], "toc": false}),
            )
            .await;
        assert_eq!(tag_of(update), "DocumentArchivedError");
        // Archive again: a no-op.
        assert_eq!(
            by_id(&app, &ada, "Document.archive", &doc["id"])
                .await
                .success(),
            archived
        );
        // The trash lists it (for its owner, with the title filter); the tree does not.
        let trash = app
            .rpc_stream(
                &ada,
                "Document.listTrash",
                json!({"organizationId": org(&ada), "search": "ol"}),
            )
            .await
            .success();
        assert_eq!(ids(&trash), vec![doc["id"].as_str().unwrap()]);
        let none = app
            .rpc_stream(
                &ada,
                "Document.listTrash",
                json!({"organizationId": org(&ada), "search": "zz"}),
            )
            .await
            .success();
        assert_eq!(none, json!([]));
        assert_eq!(
            app.rpc_stream(&ada, "Document.list", json!({"organizationId": org(&ada)}))
                .await
                .success(),
            json!([])
        );
        assert_eq!(
            app.rpc_stream(
                &bea,
                "Document.listTrash",
                json!({"organizationId": org(&bea)})
            )
            .await
            .success(),
            json!([])
        );
        let restored = by_id(&app, &ada, "Document.restore", &doc["id"])
            .await
            .success();
        assert_eq!(
            (restored["isArchived"].clone(), restored["version"].clone()),
            (json!(false), json!(3))
        );
        by_id(&app, &ada, "Document.archive", &doc["id"])
            .await
            .success();
        by_id(&app, &ada, "Document.delete", &doc["id"])
            .await
            .success();
        assert_eq!(
            tag_of(by_id(&app, &ada, "Document.get", &doc["id"]).await),
            "DocumentNotFoundError"
        );
    }
}

#[tokio::test]
async fn flag_changes_are_idempotent_and_do_not_bump_the_version_twice() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(&app, &ada, json!({"title": "Flags"})).await;
        assert_eq!(doc["version"], 1);
        let published = by_id(&app, &ada, "Document.publish", &doc["id"])
            .await
            .success();
        assert_eq!(
            (
                published["isPublished"].clone(),
                published["version"].clone()
            ),
            (json!(true), json!(2))
        );
        assert_eq!(
            by_id(&app, &ada, "Document.publish", &doc["id"])
                .await
                .success(),
            published
        );
        let unpublished = by_id(&app, &ada, "Document.unpublish", &doc["id"])
            .await
            .success();
        assert_eq!(unpublished["version"], 3);
        assert_eq!(
            by_id(&app, &ada, "Document.unpublish", &doc["id"])
                .await
                .success(),
            unpublished
        );
        assert_eq!(
            by_id(&app, &ada, "Document.unlock", &doc["id"])
                .await
                .success(),
            unpublished
        );
        assert_eq!(
            by_id(&app, &ada, "Document.restore", &doc["id"])
                .await
                .success(),
            unpublished
        );
        assert_eq!(
            tag_of(by_id(&app, &bea, "Document.publish", &doc["id"]).await),
            "DocumentNotFoundError"
        );
    }
}

#[tokio::test]
async fn a_stale_version_fails_with_both_versions() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(&app, &ada, json!({"title": "v1"})).await;
        let v2 = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": doc["id"], "version": 1, "title": "v2"}),
            )
            .await
            .success();
        assert_eq!(v2["version"], 2);
        let stale = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": doc["id"], "version": 1, "title": "lost"}),
            )
            .await
            .failure();
        assert_eq!(
            stale,
            json!({"_tag": "VersionConflictError", "id": doc["id"], "expectedVersion": 1, "actualVersion": 2})
        );
        let bad = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": doc["id"], "version": 0}),
            )
            .await
            .failure();
        assert_eq!(
            (bad["_tag"].clone(), bad["path"].clone()),
            (json!("ValidationError"), json!("version"))
        );
        let foreign = app
            .rpc(
                &bea,
                "Document.update",
                json!({"id": doc["id"], "version": 2, "title": "x"}),
            )
            .await;
        assert_eq!(tag_of(foreign), "DocumentNotFoundError");
    }
}

#[tokio::test]
async fn moves_need_a_parent_of_the_organization_outside_the_documents_subtree() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let root = create(&app, &ada, json!({"title": "root"})).await;
        let child = create(
            &app,
            &ada,
            json!({"title": "child", "parentDocumentId": root["id"]}),
        )
        .await;
        let grandchild = create(
            &app,
            &ada,
            json!({"title": "grandchild", "parentDocumentId": child["id"]}),
        )
        .await;
        let elsewhere = create(&app, &bea, json!({"title": "bea's"})).await;
        for parent in [
            &root["id"],
            &child["id"],
            &grandchild["id"],
            &elsewhere["id"],
            &json!("not-an-id"),
        ] {
            let failure = app
                .rpc(
                    &ada,
                    "Document.update",
                    json!({"id": root["id"], "parentDocumentId": parent}),
                )
                .await
                .failure();
            assert_eq!(failure["_tag"], "ValidationError", "{parent}");
            assert_eq!(failure["path"], "parentDocumentId");
        }
        // A legal move, and back to the root with null.
        let other = create(&app, &ada, json!({"title": "other"})).await;
        let moved = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": grandchild["id"], "parentDocumentId": other["id"]}),
            )
            .await
            .success();
        assert_eq!(moved["parentDocumentId"], other["id"]);
        let rooted = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": grandchild["id"], "parentDocumentId": null}),
            )
            .await
            .success();
        assert!(rooted.get("parentDocumentId").is_none());
        let roots = app
            .rpc_stream(&ada, "Document.list", json!({"organizationId": org(&ada)}))
            .await
            .success();
        assert_eq!(ids(&roots).len(), 3);
    }
}

#[tokio::test]
async fn nesting_stops_at_sixty_four_levels() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let mut parent = create(&app, &ada, json!({"title": "level 0"})).await;
        for level in 1..=64 {
            parent = create(
                &app,
                &ada,
                json!({"title": format!("level {level}"), "parentDocumentId": parent["id"]}),
            )
            .await;
        }
        let loose = create(&app, &ada, json!({"title": "loose"})).await;
        let failure = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": loose["id"], "parentDocumentId": parent["id"]}),
            )
            .await
            .failure();
        assert_eq!(
            (failure["_tag"].clone(), failure["path"].clone()),
            (json!("ValidationError"), json!("parentDocumentId"))
        );
        let theirs = create(&app, &bea, json!({"title": "bea's"})).await;
        let across = app
            .rpc(
                &bea,
                "Document.update",
                json!({"id": theirs["id"], "parentDocumentId": loose["id"]}),
            )
            .await
            .failure();
        assert_eq!(across["path"], "parentDocumentId");
    }
}

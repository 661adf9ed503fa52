//! The access rules of slices.md §3.3 through the `documents` group, black-box on both
//! backends, with a second organization in every test that reads: another tenant's ids are
//! `…NotFoundError`s, a payload `organizationId` of another organization is refused as §0.3
//! says, managers alone mutate, locks and the trash refuse what they must, flag changes are
//! idempotent, stale versions report both versions, moves check the tree.

mod common;

use common::{apps, by_id, create, ids, org, tag_of};
use serde_json::json;

#[tokio::test]
async fn another_organizations_documents_are_not_found_and_never_listed() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(
            &app,
            &ada,
            json!({"title": "Plans", "content": "secret roadmap"}),
        )
        .await;
        let child = create(
            &app,
            &ada,
            json!({"title": "Child", "parentDocumentId": doc["id"]}),
        )
        .await;
        for tag in [
            "Document.get",
            "Document.archive",
            "Document.restore",
            "Document.publish",
            "Document.unpublish",
            "Document.lock",
            "Document.unlock",
            "Document.delete",
        ] {
            let failure = by_id(&app, &bea, tag, &doc["id"]).await.failure();
            assert_eq!(
                failure,
                json!({"_tag": "DocumentNotFoundError", "id": doc["id"]}),
                "{tag}"
            );
        }
        let update = app
            .rpc(
                &bea,
                "Document.update",
                json!({"id": doc["id"], "title": "x"}),
            )
            .await;
        assert_eq!(tag_of(update), "DocumentNotFoundError");
        // Her own organization shows nothing of ada's.
        let streams = [
            ("Document.list", json!({"organizationId": org(&bea)})),
            (
                "Document.listChildren",
                json!({"parentDocumentId": doc["id"]}),
            ),
            (
                "Document.listByUser",
                json!({"organizationId": org(&bea), "userId": ada.user.id.as_str()}),
            ),
            (
                "Document.search",
                json!({"organizationId": org(&bea), "query": "roadmap"}),
            ),
            (
                "Discussion.listByDocument",
                json!({"documentId": doc["id"]}),
            ),
            (
                "DocumentVersion.listByDocument",
                json!({"documentId": doc["id"]}),
            ),
        ];
        for (tag, payload) in streams {
            assert_eq!(
                app.rpc_stream(&bea, tag, payload).await.success(),
                json!([]),
                "{tag}"
            );
        }
        // Under a parent of another organization she cannot create.
        let refused = app
            .rpc(
                &bea,
                "Document.create",
                json!({"organizationId": org(&bea), "parentDocumentId": doc["id"]}),
            )
            .await;
        assert_eq!(tag_of(refused), "DocumentNotFoundError");
        // ada still sees everything.
        let children = app
            .rpc_stream(
                &ada,
                "Document.listChildren",
                json!({"parentDocumentId": doc["id"]}),
            )
            .await
            .success();
        assert_eq!(ids(&children), vec![child["id"].as_str().unwrap()]);
        // A malformed id is a missing one too.
        let malformed = by_id(
            &app,
            &ada,
            "Document.get",
            &json!("documents_document__nope"),
        )
        .await
        .failure();
        assert_eq!(malformed["_tag"], "DocumentNotFoundError");
    }
}

#[tokio::test]
async fn a_payload_organization_other_than_the_active_one_is_refused() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(&app, &ada, json!({"title": "Mine"})).await;
        let foreign = org(&bea);
        let create = app
            .rpc(
                &ada,
                "Document.create",
                json!({"organizationId": foreign, "title": "x"}),
            )
            .await;
        assert_eq!(create.failure()["_tag"], "Forbidden");
        let discussion = app
            .rpc(
                &ada,
                "Discussion.create",
                json!({"organizationId": foreign, "documentId": doc["id"], "documentContent": "q"}),
            )
            .await;
        assert_eq!(tag_of(discussion), "Forbidden");
        let snapshot = app
            .rpc(
                &ada,
                "DocumentVersion.createSnapshot",
                json!({"organizationId": foreign, "documentId": doc["id"]}),
            )
            .await;
        assert_eq!(tag_of(snapshot), "Forbidden");
        // Streams without failures answer nothing.
        for (tag, payload) in [
            ("Document.list", json!({"organizationId": foreign})),
            ("Document.listTrash", json!({"organizationId": foreign})),
            (
                "Document.listByUser",
                json!({"organizationId": foreign, "userId": ada.user.id.as_str()}),
            ),
            (
                "Document.search",
                json!({"organizationId": foreign, "query": "Mine"}),
            ),
        ] {
            assert_eq!(
                app.rpc_stream(&ada, tag, payload).await.success(),
                json!([]),
                "{tag}"
            );
        }
        // getContent reports a mismatch as a missing version.
        let version = app
            .rpc(
                &ada,
                "DocumentVersion.createSnapshot",
                json!({"organizationId": org(&ada), "documentId": doc["id"]}),
            )
            .await
            .success();
        let content = app
            .rpc(
                &ada,
                "DocumentVersion.getContent",
                json!({"id": version["data"]["id"], "organizationId": foreign}),
            )
            .await
            .failure();
        assert_eq!(
            content,
            json!({"_tag": "DocumentVersionNotFoundError", "id": version["data"]["id"]})
        );
    }
}

#[tokio::test]
async fn only_the_owner_or_an_organization_admin_mutates_a_document() {
    for app in apps().await {
        let ada = app.member("ada").await;
        let (carl, dana) = (
            app.join(&ada, "carl", "member").await,
            app.join(&ada, "dana", "admin").await,
        );
        let doc = create(&app, &ada, json!({"title": "Ada's"})).await;
        // A plain member reads but does not mutate.
        assert_eq!(
            by_id(&app, &carl, "Document.get", &doc["id"])
                .await
                .success()["title"],
            "Ada's"
        );
        for tag in [
            "Document.archive",
            "Document.restore",
            "Document.publish",
            "Document.unpublish",
            "Document.lock",
            "Document.unlock",
            "Document.delete",
        ] {
            let failure = by_id(&app, &carl, tag, &doc["id"]).await.failure();
            assert_eq!(failure["_tag"], "DocumentPermissionDeniedError", "{tag}");
            assert_eq!(failure["id"], doc["id"]);
        }
        let update = app
            .rpc(
                &carl,
                "Document.update",
                json!({"id": doc["id"], "title": "mine now"}),
            )
            .await;
        assert_eq!(tag_of(update), "DocumentPermissionDeniedError");
        // An admin does; so does the owner; carl manages his own documents.
        let renamed = app
            .rpc(
                &dana,
                "Document.update",
                json!({"id": doc["id"], "title": "by dana"}),
            )
            .await
            .success();
        assert_eq!(
            (renamed["title"].clone(), renamed["version"].clone()),
            (json!("by dana"), json!(2))
        );
        assert_eq!(renamed["updatedBy"], dana.user.id.as_str());
        let own = create(&app, &carl, json!({"title": "Carl's"})).await;
        assert_eq!(
            by_id(&app, &carl, "Document.publish", &own["id"])
                .await
                .success()["isPublished"],
            true
        );
        by_id(&app, &ada, "Document.delete", &own["id"])
            .await
            .success();
    }
}

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
        let ada = app.member("ada").await;
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
    }
}

#[tokio::test]
async fn a_stale_version_fails_with_both_versions() {
    for app in apps().await {
        let ada = app.member("ada").await;
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
        let ada = app.member("ada").await;
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
    }
}

#[tokio::test]
async fn every_length_and_shape_rule_names_its_field() {
    for app in apps().await {
        let ada = app.member("ada").await;
        let doc = create(&app, &ada, json!({"title": "ok"})).await;
        let long = |n: usize| "x".repeat(n);
        let cases = [
            (
                "Document.create",
                json!({"organizationId": org(&ada), "title": long(501)}),
                "title",
            ),
            (
                "Document.create",
                json!({"organizationId": org(&ada), "content": "a\u{0}b"}),
                "content",
            ),
            (
                "Document.create",
                json!({"organizationId": org(&ada), "contentRich": [{"text": "\u{0}"}]}),
                "contentRich",
            ),
            (
                "Document.update",
                json!({"id": doc["id"], "coverImage": long(501)}),
                "coverImage",
            ),
            (
                "Document.update",
                json!({"id": doc["id"], "icon": long(101)}),
                "icon",
            ),
            (
                "Document.update",
                json!({"id": doc["id"], "textStyle": "comic"}),
                "textStyle",
            ),
            (
                "Document.update",
                json!({"id": doc["id"], "yjsSnapshot": "not base64!"}),
                "yjsSnapshot",
            ),
            (
                "Discussion.create",
                json!({"organizationId": org(&ada), "documentId": doc["id"], "documentContent": ""}),
                "documentContent",
            ),
            (
                "Discussion.create",
                json!({"organizationId": org(&ada), "documentId": doc["id"], "documentContent": long(1001)}),
                "documentContent",
            ),
            (
                "Discussion.createWithComment",
                json!({"organizationId": org(&ada), "documentId": doc["id"], "documentContent": "q", "contentRich": {"text": "no array"}}),
                "contentRich",
            ),
            (
                "Discussion.createWithComment",
                json!({"organizationId": org(&ada), "documentId": doc["id"], "documentContent": "q", "discussionId": "bad"}),
                "discussionId",
            ),
        ];
        for (tag, payload, path) in cases {
            let failure = app.rpc(&ada, tag, payload).await.failure();
            assert_eq!(failure["_tag"], "ValidationError", "{tag} {path}");
            assert_eq!(failure["path"], path, "{tag}");
        }
        let styled = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": doc["id"], "textStyle": "mono", "coverImage": long(500)}),
            )
            .await
            .success();
        assert_eq!(styled["textStyle"], "mono");
        let cleared = app
            .rpc(
                &ada,
                "Document.update",
                json!({"id": doc["id"], "coverImage": null}),
            )
            .await
            .success();
        assert!(cleared.get("coverImage").is_none());
    }
}

#[tokio::test]
async fn a_template_is_used_once_per_user() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        create(&app, &ada, json!({"templateId": "weekly"})).await;
        let again = app
            .rpc(
                &ada,
                "Document.create",
                json!({"organizationId": org(&ada), "templateId": "weekly"}),
            )
            .await
            .failure();
        assert_eq!(again["_tag"], "ConflictError");
        assert_eq!(
            again["constraint"],
            "documents_document_user_id_template_id_uq"
        );
        create(&app, &bea, json!({"templateId": "weekly"})).await;
    }
}

#[tokio::test]
async fn calls_without_a_session_are_unauthorized() {
    for app in apps().await {
        let reply = app
            .rpc_anonymous("Document.get", json!({"id": "documents_document__x"}))
            .await;
        assert_eq!(reply.failure()["_tag"], "Unauthorized");
    }
}

//! The access rules of slices.md §3.3 through the `documents` group, black-box on both
//! backends, with a second organization in every test that reads: another tenant's ids are
//! `…NotFoundError`s, a payload `organizationId` of another organization is refused as §0.3
//! says, managers alone mutate, every length and shape rule names its field (`document_states.rs`
//! has the locks, the trash, flags, versions and moves).

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
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
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
        // Owner of her own organization, bea is nobody here: the document does not exist for her.
        assert_eq!(
            tag_of(by_id(&app, &bea, "Document.archive", &doc["id"]).await),
            "DocumentNotFoundError"
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

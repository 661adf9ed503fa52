//! Discussions and comments (slices.md §3.3, §3.5): any member starts, comments and resolves;
//! comments are edited and deleted by their author only; a discussion is deleted by its author
//! or a manager of its document; the first comment of `createWithComment` is written with the
//! discussion, its text taken from the rich content.

mod common;

use common::{apps, by_id, create, ids, org, tag_of};
use serde_json::json;

#[tokio::test]
async fn a_discussion_with_its_first_comment_reads_back_with_authors() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let carl = app.join(&ada, "carl", "member").await;
        let doc = create(&app, &ada, json!({"title": "Doc"})).await;
        let chosen = "documents_discussion__0190f5d2-0000-7000-8000-0000000000aa";
        let created = app
            .rpc(&carl, "Discussion.createWithComment", json!({
                "organizationId": org(&carl), "documentId": doc["id"], "documentContent": "quoted",
                "contentRich": [{"type": "paragraph", "children": [{"text": "Is this "}, {"text": "right?"}]}],
                "discussionId": chosen,
            }))
            .await
            .success();
        assert_eq!(created, json!({"id": chosen}));
        let again = app
            .rpc(&carl, "Discussion.createWithComment", json!({"organizationId": org(&carl), "documentId": doc["id"], "documentContent": "q", "discussionId": chosen}))
            .await
            .failure();
        assert_eq!(
            (again["_tag"].clone(), again["constraint"].clone()),
            (json!("ConflictError"), json!("documents_discussion_id_uq"))
        );
        let thread = by_id(&app, &ada, "Discussion.get", &json!(chosen))
            .await
            .success();
        assert_eq!(thread["documentContent"], "quoted");
        assert_eq!(thread["isResolved"], false);
        assert_eq!(thread["user"]["id"], carl.user.id.as_str());
        let comments = thread["comments"].as_array().unwrap();
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0]["content"], "Is this right?");
        assert_eq!(comments[0]["discussionId"], chosen);
        assert_eq!(comments[0]["user"]["name"], "carl");
        let keys: Vec<&str> = comments[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "id",
            "_rowId",
            "content",
            "contentRich",
            "createdAt",
            "updatedAt",
            "discussionId",
            "isEdited",
            "user",
        ] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
        assert_eq!(
            tag_of(by_id(&app, &bea, "Discussion.get", &json!(chosen)).await),
            "DiscussionNotFoundError"
        );
        assert_eq!(
            app.rpc_stream(
                &bea,
                "Comment.listByDiscussion",
                json!({"discussionId": chosen})
            )
            .await
            .success(),
            json!([])
        );
        let missing_doc = app
            .rpc(&bea, "Discussion.create", json!({"organizationId": org(&bea), "documentId": doc["id"], "documentContent": "q"}))
            .await;
        assert_eq!(tag_of(missing_doc), "DocumentNotFoundError");
    }
}

#[tokio::test]
async fn discussions_list_newest_first_and_comments_oldest_first() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(&app, &ada, json!({"title": "Doc"})).await;
        let mut threads = Vec::new();
        for n in 0..3 {
            let created = app
                .rpc(&ada, "Discussion.create", json!({"organizationId": org(&ada), "documentId": doc["id"], "documentContent": format!("anchor {n}")}))
                .await
                .success();
            threads.push(created["id"].as_str().unwrap().to_string());
        }
        let mut comments = Vec::new();
        for n in 0..3 {
            let comment = app
                .rpc(&ada, "Comment.create", json!({"organizationId": org(&ada), "discussionId": threads[0], "content": format!("c{n}")}))
                .await
                .success();
            assert_eq!(
                (comment["isEdited"].clone(), comment["userId"].clone()),
                (json!(false), json!(ada.user.id.as_str()))
            );
            comments.push(comment["id"].as_str().unwrap().to_string());
        }
        let listed = app
            .rpc_stream(
                &ada,
                "Discussion.listByDocument",
                json!({"documentId": doc["id"]}),
            )
            .await
            .success();
        let newest_first: Vec<String> = threads.iter().rev().cloned().collect();
        assert_eq!(ids(&listed), newest_first);
        assert_eq!(ids(&listed[2]["comments"]), comments);
        let by_discussion = app
            .rpc_stream(
                &ada,
                "Comment.listByDiscussion",
                json!({"discussionId": threads[0]}),
            )
            .await
            .success();
        assert_eq!(ids(&by_discussion), comments);
        let rich_only = app
            .rpc(&ada, "Comment.create", json!({"organizationId": org(&ada), "discussionId": threads[1], "content": "", "contentRich": [{"text": "from rich"}]}))
            .await
            .success();
        assert_eq!(rich_only["content"], "from rich");
        let missing = app
            .rpc(&ada, "Comment.create", json!({"organizationId": org(&ada), "discussionId": "documents_discussion__0190f5d2-0000-7000-8000-00000000000a", "content": "x"}))
            .await;
        assert_eq!(tag_of(missing), "DiscussionNotFoundError");
        let foreign = app
            .rpc_stream(
                &bea,
                "Discussion.listByDocument",
                json!({"documentId": doc["id"]}),
            )
            .await
            .success();
        assert_eq!(foreign, json!([]));
    }
}

#[tokio::test]
async fn only_its_author_edits_or_deletes_a_comment() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let (carl, dana) = (
            app.join(&ada, "carl", "member").await,
            app.join(&ada, "dana", "admin").await,
        );
        let doc = create(&app, &ada, json!({"title": "Doc"})).await;
        let thread = app
            .rpc(&carl, "Discussion.create", json!({"organizationId": org(&carl), "documentId": doc["id"], "documentContent": "q"}))
            .await
            .success();
        let comment = app
            .rpc(&ada, "Comment.create", json!({"organizationId": org(&ada), "discussionId": thread["id"], "content": "ada's"}))
            .await
            .success();
        for who in [&carl, &dana] {
            let edit = app
                .rpc(
                    who,
                    "Comment.update",
                    json!({"id": comment["id"], "content": "hijacked"}),
                )
                .await
                .failure();
            assert_eq!(
                edit,
                json!({"_tag": "PermissionDeniedError", "id": comment["id"], "message": format!("not allowed on {}", comment["id"].as_str().unwrap())})
            );
            assert_eq!(
                tag_of(by_id(&app, who, "Comment.delete", &comment["id"]).await),
                "PermissionDeniedError"
            );
        }
        assert_eq!(
            tag_of(
                app.rpc(
                    &bea,
                    "Comment.update",
                    json!({"id": comment["id"], "content": "x"})
                )
                .await
            ),
            "CommentNotFoundError"
        );
        let edited = app
            .rpc(
                &ada,
                "Comment.update",
                json!({"id": comment["id"], "contentRich": [{"text": "edited"}]}),
            )
            .await
            .success();
        assert_eq!(
            (edited["content"].clone(), edited["isEdited"].clone()),
            (json!("edited"), json!(true))
        );
        assert_eq!(
            by_id(&app, &carl, "Comment.get", &comment["id"])
                .await
                .success()["content"],
            "edited"
        );
        by_id(&app, &ada, "Comment.delete", &comment["id"])
            .await
            .success();
        assert_eq!(
            tag_of(by_id(&app, &ada, "Comment.get", &comment["id"]).await),
            "CommentNotFoundError"
        );
        let thread_now = by_id(&app, &ada, "Discussion.get", &thread["id"])
            .await
            .success();
        assert_eq!(thread_now["comments"], json!([]));
    }
}

#[tokio::test]
async fn any_member_resolves_and_deleting_needs_the_author_or_a_document_manager() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let (carl, erin) = (
            app.join(&ada, "carl", "member").await,
            app.join(&ada, "erin", "member").await,
        );
        let doc = create(&app, &ada, json!({"title": "Doc"})).await;
        let thread = app
            .rpc(&carl, "Discussion.create", json!({"organizationId": org(&carl), "documentId": doc["id"], "documentContent": "q"}))
            .await
            .success();
        let resolved = by_id(&app, &erin, "Discussion.resolve", &thread["id"])
            .await
            .success();
        assert_eq!(
            (resolved["isResolved"].clone(), resolved["version"].clone()),
            (json!(true), json!(2))
        );
        assert_eq!(
            by_id(&app, &erin, "Discussion.resolve", &thread["id"])
                .await
                .success(),
            resolved
        );
        let reopened = by_id(&app, &carl, "Discussion.unresolve", &thread["id"])
            .await
            .success();
        assert_eq!(reopened["isResolved"], false);
        assert_eq!(
            tag_of(by_id(&app, &bea, "Discussion.resolve", &thread["id"]).await),
            "DiscussionNotFoundError"
        );
        assert_eq!(
            tag_of(by_id(&app, &erin, "Discussion.delete", &thread["id"]).await),
            "PermissionDeniedError"
        );
        assert_eq!(
            tag_of(by_id(&app, &bea, "Discussion.delete", &thread["id"]).await),
            "DiscussionNotFoundError"
        );
        // The document's owner may delete carl's discussion; carl may delete his own.
        by_id(&app, &ada, "Discussion.delete", &thread["id"])
            .await
            .success();
        let own = app
            .rpc(&carl, "Discussion.createWithComment", json!({"organizationId": org(&carl), "documentId": doc["id"], "documentContent": "mine"}))
            .await
            .success();
        by_id(&app, &carl, "Discussion.delete", &own["id"])
            .await
            .success();
        assert_eq!(
            app.rpc_stream(
                &ada,
                "Discussion.listByDocument",
                json!({"documentId": doc["id"]})
            )
            .await
            .success(),
            json!([])
        );
    }
}

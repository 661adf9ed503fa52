//! What `Document.delete` takes with it (children, discussions and their comments, versions,
//! import mappings; attached files stay, detached), the immutability of versions (no update in
//! the repository, and the database trigger refusing an `UPDATE` on both backends), the version
//! procedures, and the `DocumentSnapshots` port the layer provides.

mod common;

use std::sync::Arc;

use common::{apps, by_id, create, ids, org, tag_of};
use documents_server::entities::{DocumentId, NewDocumentFile, NewDocumentSource};
use documents_server::repos::{DocumentFileRepo, DocumentSourceRepo};
use serde_json::{json, Value};
use shared_server::db::repo::Sql;
use shared_server::snapshots::{DocumentSnapshots, DocumentVersionId, SnapshotError};
use shared_server::testing::TestApp;

async fn count(app: &TestApp, table: &str, column: &str, id: &Value) -> i64 {
    let mut pooled = app.db().acquire().await.unwrap();
    let mut sql = Sql::new(format!("SELECT COUNT(*) FROM {table} WHERE {column} = "));
    sql.push_bind(id.as_str().unwrap());
    let (n,): (i64,) = sql.fetch_one(&mut pooled.conn()).await.unwrap();
    n
}

#[tokio::test]
async fn deleting_a_document_cascades_to_its_subtree_threads_versions_and_sources() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let root = create(
            &app,
            &ada,
            json!({"title": "root", "content": "root words"}),
        )
        .await;
        let child = create(
            &app,
            &ada,
            json!({"title": "child", "parentDocumentId": root["id"]}),
        )
        .await;
        let grandchild = create(&app, &ada, json!({"title": "grandchild", "content": "deep words", "parentDocumentId": child["id"]})).await;
        let kept = create(&app, &ada, json!({"title": "kept", "content": "words"})).await;
        let theirs = create(&app, &bea, json!({"title": "theirs", "content": "words"})).await;
        let thread = app
            .rpc(&ada, "Discussion.createWithComment", json!({"organizationId": org(&ada), "documentId": grandchild["id"], "documentContent": "deep", "contentRich": [{"text": "why?"}]}))
            .await
            .success();
        let version = app
            .rpc(
                &ada,
                "DocumentVersion.createSnapshot",
                json!({"organizationId": org(&ada), "documentId": child["id"]}),
            )
            .await
            .success();
        let org_id = ada.organization.id.clone();
        let sources = app.ctx().get::<DocumentSourceRepo>().unwrap();
        let source = sources
            .insert(
                app.db(),
                &org_id,
                NewDocumentSource {
                    document_id: DocumentId::parse(root["id"].as_str().unwrap()).unwrap(),
                    user_id: ada.user.id.clone(),
                    provider_account_id: "iam_account__x".into(),
                    source_type: "gmail".into(),
                    source_id: "m-1".into(),
                    source_thread_id: Some("t-1".into()),
                    source_uri: None,
                    source_history_id: None,
                    source_internal_date: None,
                    source_hash: "h".into(),
                },
                ada.user.id.as_str(),
            )
            .await
            .unwrap();
        let files = app.ctx().get::<DocumentFileRepo>().unwrap();
        let file = files
            .insert(
                app.db(),
                &org_id,
                NewDocumentFile {
                    user_id: ada.user.id.clone(),
                    document_id: Some(DocumentId::parse(child["id"].as_str().unwrap()).unwrap()),
                    size: 3,
                    url: "https://files.example/a".into(),
                    app_url: "/files/a".into(),
                    mime_type: "text/plain".into(),
                },
                ada.user.id.as_str(),
            )
            .await
            .unwrap();
        // bea cannot delete it; then ada does.
        assert_eq!(
            tag_of(by_id(&app, &bea, "Document.delete", &root["id"]).await),
            "DocumentNotFoundError"
        );
        assert_eq!(
            by_id(&app, &ada, "Document.delete", &root["id"])
                .await
                .success(),
            Value::Null
        );
        for doc in [&root, &child, &grandchild] {
            assert_eq!(
                tag_of(by_id(&app, &ada, "Document.get", &doc["id"]).await),
                "DocumentNotFoundError"
            );
            assert_eq!(count(&app, "documents_document", "id", &doc["id"]).await, 0);
        }
        assert_eq!(
            count(&app, "documents_discussion", "id", &thread["id"]).await,
            0
        );
        assert_eq!(
            count(&app, "documents_comment", "discussion_id", &thread["id"]).await,
            0
        );
        assert_eq!(
            count(
                &app,
                "documents_document_version",
                "id",
                &version["data"]["id"]
            )
            .await,
            0
        );
        assert_eq!(
            count(
                &app,
                "documents_document_source",
                "id",
                &json!(source.id.as_str())
            )
            .await,
            0
        );
        let detached = files.get(app.db(), &org_id, &file.id).await.unwrap();
        assert_eq!(detached.document_id, None);
        // The search index forgot them too; the rest is still found.
        let hits = app
            .rpc_stream(
                &ada,
                "Document.search",
                json!({"organizationId": org(&ada), "query": "words"}),
            )
            .await
            .success();
        assert_eq!(ids(&hits), vec![kept["id"].as_str().unwrap()]);
        let theirs_hits = app
            .rpc_stream(
                &bea,
                "Document.search",
                json!({"organizationId": org(&bea), "query": "words"}),
            )
            .await
            .success();
        assert_eq!(ids(&theirs_hits), vec![theirs["id"].as_str().unwrap()]);
        if app.backend() == shared_server::db::Backend::Sqlite {
            let mut pooled = app.db().acquire().await.unwrap();
            Sql::new("INSERT INTO documents_document_fts (documents_document_fts) VALUES ('integrity-check')")
                .execute(&mut pooled.conn())
                .await
                .expect("the FTS index matches the table after cascades");
        }
    }
}

#[tokio::test]
async fn the_database_refuses_to_update_a_version() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(&app, &ada, json!({"title": "t", "content": "original"})).await;
        let version = app
            .rpc(
                &ada,
                "DocumentVersion.createSnapshot",
                json!({"organizationId": org(&ada), "documentId": doc["id"]}),
            )
            .await
            .success();
        let mut pooled = app.db().acquire().await.unwrap();
        let mut sql =
            Sql::new("UPDATE documents_document_version SET content = 'forged' WHERE id = ");
        sql.push_bind(version["data"]["id"].as_str().unwrap());
        let error = sql
            .execute(&mut pooled.conn())
            .await
            .expect_err("the trigger refuses");
        assert!(error.to_string().contains("immutable"), "{error}");
        drop(pooled);
        let content = app
            .rpc(
                &ada,
                "DocumentVersion.getContent",
                json!({"id": version["data"]["id"], "organizationId": org(&ada)}),
            )
            .await
            .success();
        assert_eq!(
            content,
            json!({"documentId": doc["id"], "documentVersionId": version["data"]["id"], "content": "original"})
        );
        let foreign = app
            .rpc(
                &bea,
                "DocumentVersion.getContent",
                json!({"id": version["data"]["id"], "organizationId": org(&bea)}),
            )
            .await;
        assert_eq!(tag_of(foreign), "DocumentVersionNotFoundError");
    }
}

#[tokio::test]
async fn snapshots_copy_absent_fields_and_list_newest_first_with_their_authors() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let carl = app.join(&ada, "carl", "member").await;
        let doc = create(
            &app,
            &ada,
            json!({"title": "Spec", "content": "v1 text", "contentRich": {"root": 1}}),
        )
        .await;
        let first = app
            .rpc(
                &carl,
                "DocumentVersion.createSnapshot",
                json!({"organizationId": org(&carl), "documentId": doc["id"]}),
            )
            .await
            .success()["data"]
            .clone();
        assert_eq!(
            (
                first["title"].clone(),
                first["content"].clone(),
                first["contentRich"].clone()
            ),
            (json!("Spec"), json!("v1 text"), json!({"root": 1}))
        );
        assert_eq!(first["userId"], carl.user.id.as_str());
        let second = app
            .rpc(
                &ada,
                "DocumentVersion.createSnapshot",
                json!({"organizationId": org(&ada), "documentId": doc["id"], "content": "given"}),
            )
            .await
            .success()["data"]
            .clone();
        assert_eq!(
            (second["title"].clone(), second["content"].clone()),
            (json!("Spec"), json!("given"))
        );
        let listed = app
            .rpc_stream(
                &ada,
                "DocumentVersion.listByDocument",
                json!({"documentId": doc["id"]}),
            )
            .await
            .success();
        assert_eq!(
            ids(&listed),
            vec![
                second["id"].as_str().unwrap(),
                first["id"].as_str().unwrap()
            ]
        );
        assert_eq!(
            listed[1]["user"],
            json!({"id": carl.user.id.as_str(), "_rowId": carl.user.row_id, "name": "carl"})
        );
        let got = by_id(&app, &ada, "DocumentVersion.get", &first["id"])
            .await
            .success();
        assert_eq!(got["user"]["name"], "carl");
        assert_eq!(
            tag_of(by_id(&app, &bea, "DocumentVersion.get", &first["id"]).await),
            "DocumentVersionNotFoundError"
        );
        // Deleting: the author or a document manager; a plain member not another's.
        assert_eq!(
            tag_of(by_id(&app, &carl, "DocumentVersion.hardDelete", &second["id"]).await),
            "PermissionDeniedError"
        );
        assert_eq!(
            tag_of(by_id(&app, &bea, "DocumentVersion.hardDelete", &second["id"]).await),
            "DocumentVersionNotFoundError"
        );
        by_id(&app, &carl, "DocumentVersion.hardDelete", &first["id"])
            .await
            .success();
        by_id(&app, &ada, "DocumentVersion.hardDelete", &second["id"])
            .await
            .success();
        assert_eq!(
            app.rpc_stream(
                &ada,
                "DocumentVersion.listByDocument",
                json!({"documentId": doc["id"]})
            )
            .await
            .success(),
            json!([])
        );
        let missing = app
            .rpc(&ada, "DocumentVersion.createSnapshot", json!({"organizationId": org(&ada), "documentId": "documents_document__0190f5d2-0000-7000-8000-00000000000a"}))
            .await;
        assert_eq!(tag_of(missing), "DocumentNotFoundError");
    }
}

#[tokio::test]
async fn the_layer_provides_the_document_snapshots_port() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let doc = create(
            &app,
            &ada,
            json!({"title": "Evidence", "content": "cited text"}),
        )
        .await;
        let document = DocumentId::parse(doc["id"].as_str().unwrap()).unwrap();
        let port: Arc<dyn DocumentSnapshots> = app.ctx().get::<dyn DocumentSnapshots>().unwrap();
        let snapshot = port
            .create_snapshot(&ada.organization.id, &ada.user.id, &document, None)
            .await
            .unwrap();
        assert_eq!(snapshot.content, "cited text");
        let read = port
            .get_version_content(&ada.organization.id, &snapshot.version_id)
            .await
            .unwrap();
        assert_eq!(
            (read.document_id, read.content),
            (document.clone(), "cited text".to_string())
        );
        assert!(matches!(
            port.get_version_content(&bea.organization.id, &snapshot.version_id)
                .await,
            Err(SnapshotError::VersionNotFound(_))
        ));
        assert!(matches!(
            port.create_snapshot(
                &bea.organization.id,
                &bea.user.id,
                &document,
                Some("x".into())
            )
            .await,
            Err(SnapshotError::DocumentNotFound(_))
        ));
        assert!(matches!(
            port.get_version_content(&ada.organization.id, &DocumentVersionId::new())
                .await,
            Err(SnapshotError::VersionNotFound(_))
        ));
    }
}

#[tokio::test]
async fn an_import_mapping_is_unique_per_organization_and_found_by_its_key() {
    for app in apps().await {
        let (ada, bea) = (
            app.member("ada").await,
            app.member_of_other_org("bea").await,
        );
        let sources = app.ctx().get::<DocumentSourceRepo>().unwrap();
        let mapping = |who: &shared_server::testing::TestUser, doc: &Value| NewDocumentSource {
            document_id: DocumentId::parse(doc["id"].as_str().unwrap()).unwrap(),
            user_id: who.user.id.clone(),
            provider_account_id: "iam_account__1".into(),
            source_type: "gmail".into(),
            source_id: "message-1".into(),
            source_thread_id: None,
            source_uri: None,
            source_history_id: None,
            source_internal_date: None,
            source_hash: "h1".into(),
        };
        let (mine, theirs) = (
            create(&app, &ada, json!({})).await,
            create(&app, &bea, json!({})).await,
        );
        let (ada_org, bea_org) = (&ada.organization.id, &bea.organization.id);
        let first = sources
            .insert(app.db(), ada_org, mapping(&ada, &mine), "t")
            .await
            .unwrap();
        let again = sources
            .insert(app.db(), ada_org, mapping(&ada, &mine), "t")
            .await
            .unwrap_err();
        assert!(
            matches!(&again, shared_server::RepoError::Conflict { constraint } if constraint == "documents_document_source_mapping_key_uq"),
            "{again:?}"
        );
        // The same external item imported by another organization is its own mapping.
        sources
            .insert(app.db(), bea_org, mapping(&bea, &theirs), "t")
            .await
            .unwrap();
        let found = sources
            .find_by_mapping_key(
                app.db(),
                ada_org,
                "iam_account__1",
                "gmail",
                "message-1",
                false,
            )
            .await
            .unwrap();
        assert_eq!(found.map(|s| s.id), Some(first.id.clone()));
        sources
            .soft_delete(app.db(), ada_org, &first.id, "t")
            .await
            .unwrap();
        let live = sources
            .find_by_mapping_key(
                app.db(),
                ada_org,
                "iam_account__1",
                "gmail",
                "message-1",
                false,
            )
            .await
            .unwrap();
        assert!(live.is_none());
        let with_deleted = sources
            .find_by_mapping_key(
                app.db(),
                ada_org,
                "iam_account__1",
                "gmail",
                "message-1",
                true,
            )
            .await
            .unwrap();
        assert_eq!(with_deleted.map(|s| s.id), Some(first.id));
    }
}

//! The procedure kit end to end (issue 19): two test slices, each a layer providing its own group
//! declared on the typed kit, served together by `TestApp` over the real RPC transport, on
//! SQLite and PostgreSQL. Repository errors reach the client as the §0.7 tags through `?`,
//! another tenant's id answers exactly like a missing one, the caller forms answer
//! `Unauthorized` as §0.8 says, and duplicate groups, tags and providers are refused.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use shared_server::auth::AuthContext;
use shared_server::db::repo::{PageRequest, MAX_PAGE_LIMIT};
use shared_server::entities::{Folder, FolderFilter, FolderId, FolderPatch, OrganizationId};
use shared_server::layer::{build, BuildError, Context, Layer, Scope};
use shared_server::repos::FolderRepo;
use shared_server::rpc::{
    Failure, GroupEntry, IntoFailure, OrgCaller, RegistryError, RpcError, RpcGroup, RpcRegistry,
};
use shared_server::testing::{RpcReply, TestApp};
use shared_server::{BoxError, Clock, Db};

// ---- slice one: "notes", organization-scoped procedures over the shared folder repository ----

struct NotesState {
    folders: FolderRepo,
}

/// The slice's one error enum, mapped to the wire once.
#[derive(Debug, thiserror::Error)]
enum NotesError {
    #[error(transparent)]
    Repo(#[from] shared_server::db::RepoError),
    #[error(transparent)]
    Failure(#[from] Failure),
    #[error("only the folder's owner may rename it")]
    NotOwner,
}

impl IntoFailure for NotesError {
    fn into_failure(self) -> RpcError<Failure> {
        match self {
            Self::Repo(error) => error.into_failure(),
            Self::Failure(failure) => RpcError::Fail(failure),
            Self::NotOwner => RpcError::Fail(Failure::permission_denied(self.to_string())),
        }
    }
}

shared_server::slice_rpc!(NotesRpc);

fn notes_group(state: NotesState) -> RpcGroup {
    RpcGroup::with_state("notes", state)
        .org("Folder.create", create)
        .org("Folder.get", get)
        .org("Folder.rename", rename)
        .org_stream("Folder.list", list)
        .authenticated("whoAmI", who_am_i)
        .build()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateFolder {
    name: String,
    organization_id: Option<OrganizationId>,
}

#[derive(Deserialize)]
struct ById {
    id: FolderId,
}

#[derive(Deserialize)]
struct Rename {
    id: FolderId,
    version: i32,
    name: String,
}

async fn create(s: Arc<NotesState>, who: OrgCaller, p: CreateFolder) -> Result<Folder, NotesError> {
    who.check_organization(p.organization_id.as_ref())?;
    Ok(s.folders
        .create(who.org_id(), who.user_id(), &p.name)
        .await?)
}

async fn get(s: Arc<NotesState>, who: OrgCaller, p: ById) -> Result<Folder, NotesError> {
    Ok(s.folders.get(who.org_id(), &p.id).await?)
}

async fn rename(s: Arc<NotesState>, who: OrgCaller, p: Rename) -> Result<Folder, NotesError> {
    let folder = s.folders.get(who.org_id(), &p.id).await?;
    if &folder.user_id != who.user_id() && !who.is_admin() {
        return Err(NotesError::NotOwner);
    }
    let patch = FolderPatch { name: Some(p.name) };
    Ok(s.folders
        .update(who.org_id(), &p.id, p.version, patch, who.actor())
        .await?)
}

async fn list(
    s: Arc<NotesState>,
    who: OrgCaller,
    _: (),
) -> Result<impl futures::Stream<Item = Result<Folder, NotesError>> + Send + 'static, NotesError> {
    let page = s
        .folders
        .list(
            who.org_id(),
            FolderFilter::default(),
            PageRequest::first(MAX_PAGE_LIMIT),
        )
        .await?;
    Ok(futures::stream::iter(page.items.into_iter().map(Ok)))
}

async fn who_am_i(_: Arc<NotesState>, who: AuthContext, _: ()) -> Result<String, NotesError> {
    Ok(who.user.id.to_string())
}

fn notes_layer() -> Layer {
    Layer::named_leaf("notes")
        .requires::<Db>()
        .requires::<dyn Clock>()
        .provides::<NotesRpc>()
        .build(|ctx, _| async move {
            let db = (*ctx.get::<Db>()?).clone();
            let folders = FolderRepo::new(db, ctx.get::<dyn Clock>()?);
            Ok::<_, BoxError>(Context::new().with(NotesRpc(notes_group(NotesState { folders }))))
        })
}

// ---- slice two: "tally", a public procedure in a group of its own ----

shared_server::slice_rpc!(TallyRpc);

async fn ping(_: Arc<()>, _: (), p: Option<Value>) -> Result<Value, Failure> {
    Ok(json!({"pong": p}))
}

fn tally_layer() -> Layer {
    Layer::named_leaf("tally").service(|_, _| async move {
        let group = RpcGroup::with_state("tally", ())
            .public("ping", ping)
            .build();
        Ok::<_, BoxError>(TallyRpc(group))
    })
}

fn groups() -> [GroupEntry; 2] {
    [GroupEntry::of::<NotesRpc>(), GroupEntry::of::<TallyRpc>()]
}

async fn apps() -> Vec<TestApp> {
    TestApp::spawn_all(
        || Layer::merge_all([notes_layer(), tally_layer()]),
        &[],
        &groups(),
    )
    .await
}

// ---- tests ----

#[tokio::test]
async fn two_slice_layers_each_with_a_group_are_both_served_on_their_paths() {
    for app in apps().await {
        assert_eq!(app.path_of("Folder.get"), "/v1/notes/rpc");
        assert_eq!(app.path_of("ping"), "/v1/tally/rpc");
        let ada = app.member("ada").await;
        let pong = app.rpc_anonymous("ping", json!(7)).await.success();
        assert_eq!(pong, json!({"pong": 7}));
        let folder = app
            .rpc(&ada, "Folder.create", json!({"name": "Plans"}))
            .await
            .success();
        assert_eq!(folder["name"], "Plans");
        assert_eq!(folder["organizationId"], ada.organization.id.as_str());
        app.stop().await;
    }
}

#[tokio::test]
async fn another_tenants_id_answers_exactly_like_a_missing_one() {
    for app in apps().await {
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let folder = app
            .rpc(&ada, "Folder.create", json!({"name": "Ada's"}))
            .await
            .success();
        let id = folder["id"].as_str().unwrap().to_string();

        let foreign = app
            .rpc(&bea, "Folder.get", json!({"id": id}))
            .await
            .failure();
        assert_eq!(foreign, json!({"_tag": "FolderNotFoundError", "id": id}));
        let missing_id = FolderId::new().to_string();
        let missing = app
            .rpc(&bea, "Folder.get", json!({"id": missing_id}))
            .await
            .failure();
        assert_eq!(
            missing,
            json!({"_tag": "FolderNotFoundError", "id": missing_id})
        );

        // Bea's list holds nothing of Ada's; Ada's own read still works.
        assert_eq!(
            app.rpc_stream(&bea, "Folder.list", json!(null))
                .await
                .success(),
            json!([])
        );
        let mine = app
            .rpc_stream(&ada, "Folder.list", json!(null))
            .await
            .success();
        assert_eq!(mine.as_array().unwrap().len(), 1);
        assert_eq!(mine[0]["id"], id.as_str());
        app.stop().await;
    }
}

#[tokio::test]
async fn repository_errors_reach_the_client_as_their_spec_tags() {
    for app in apps().await {
        let ada = app.member("ada").await;
        let folder = app
            .rpc(&ada, "Folder.create", json!({"name": "v1"}))
            .await
            .success();
        let id = folder["id"].as_str().unwrap();
        let version = folder["version"].as_i64().unwrap();

        let renamed = app
            .rpc(
                &ada,
                "Folder.rename",
                json!({"id": id, "version": version, "name": "v2"}),
            )
            .await
            .success();
        assert_eq!(renamed["version"].as_i64(), Some(version + 1));

        // A stale version: VersionConflictError with both versions.
        let stale = app
            .rpc(
                &ada,
                "Folder.rename",
                json!({"id": id, "version": version, "name": "v3"}),
            )
            .await
            .failure();
        assert_eq!(
            stale,
            json!({
                "_tag": "VersionConflictError",
                "id": id,
                "expectedVersion": version,
                "actualVersion": version + 1,
            })
        );

        // The entity's own validation: ValidationError with a message.
        let blank = app
            .rpc(&ada, "Folder.create", json!({"name": "   "}))
            .await
            .failure();
        assert_eq!(blank["_tag"], "ValidationError");
        assert!(blank["message"].as_str().unwrap().contains("folder name"));

        // The slice's own variant, mapped once in its IntoFailure.
        let cid = app.join(&ada, "cid", "member").await;
        let denied = app
            .rpc(
                &cid,
                "Folder.rename",
                json!({"id": id, "version": version + 1, "name": "x"}),
            )
            .await
            .failure();
        assert_eq!(
            denied,
            json!({"_tag": "PermissionDeniedError", "message": "only the folder's owner may rename it"})
        );
        // An admin of the organization may.
        let dan = app.join(&ada, "dan", "admin").await;
        app.rpc(
            &dan,
            "Folder.rename",
            json!({"id": id, "version": version + 1, "name": "y"}),
        )
        .await
        .success();
        app.stop().await;
    }
}

#[tokio::test]
async fn callers_without_the_required_access_get_unauthorized() {
    for app in apps().await {
        let ada = app.member("ada").await;
        let anonymous = app
            .rpc_anonymous("Folder.list", json!(null))
            .await
            .failure();
        assert_eq!(
            anonymous,
            json!({"_tag": "Unauthorized", "message": "Missing authorization header"})
        );
        assert_eq!(
            app.rpc_anonymous("whoAmI", json!(null)).await.failure_tag(),
            Some("Unauthorized")
        );
        assert_eq!(
            app.rpc(&ada, "whoAmI", json!(null)).await.success(),
            json!(ada.user.id.as_str())
        );

        // Membership is checked on every call: a removed member loses access at once.
        let cid = app.join(&ada, "cid", "member").await;
        app.rpc_stream(&cid, "Folder.list", json!(null))
            .await
            .success();
        app.auth().remove_member(&ada.organization.id, &cid.user.id);
        let removed = app.rpc(&cid, "Folder.list", json!(null)).await.failure();
        assert_eq!(
            removed,
            json!({"_tag": "Unauthorized", "message": "Organization not found"})
        );
        // ...while the signed-in form still works for them.
        app.rpc(&cid, "whoAmI", json!(null)).await.success();

        app.auth().sign_out(&ada.token);
        let signed_out = app.rpc(&ada, "Folder.list", json!(null)).await.failure();
        assert_eq!(signed_out["_tag"], "Unauthorized");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_payload_naming_another_organization_is_forbidden_and_writes_nothing() {
    for app in apps().await {
        let ada = app.member("ada").await;
        let bea = app.member_of_other_org("bea").await;
        let forbidden = app
            .rpc(
                &ada,
                "Folder.create",
                json!({"name": "x", "organizationId": bea.organization.id.as_str()}),
            )
            .await
            .failure();
        assert_eq!(forbidden["_tag"], "Forbidden");
        assert!(forbidden["message"].is_string());
        for who in [&ada, &bea] {
            assert_eq!(
                app.rpc_stream(who, "Folder.list", json!(null))
                    .await
                    .success(),
                json!([])
            );
        }
        // Naming the active organization is fine.
        app.rpc(
            &ada,
            "Folder.create",
            json!({"name": "x", "organizationId": ada.organization.id.as_str()}),
        )
        .await
        .success();
        app.stop().await;
    }
}

#[tokio::test]
async fn an_undecodable_payload_is_the_documented_defect_and_the_server_keeps_answering() {
    for app in apps().await {
        let ada = app.member("ada").await;
        let reply = app.rpc(&ada, "Folder.get", json!({"id": 42})).await;
        let RpcReply::Defect(cause) = reply else {
            panic!("expected the decode defect, got {reply:?}");
        };
        assert_eq!(cause["_tag"], "Die");
        assert!(cause["defect"]
            .as_str()
            .is_some_and(|d| d.starts_with("Invalid payload for Folder.get")));
        assert_eq!(
            app.rpc_anonymous("ping", json!(null)).await.success(),
            json!({"pong": null})
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn two_groups_with_one_name_stop_start_up_naming_both() {
    shared_server::slice_rpc!(OtherNotesRpc);
    let ctx = Context::new()
        .with(TallyRpc(
            RpcGroup::with_state("notes", ())
                .public("ping", ping)
                .build(),
        ))
        .with(OtherNotesRpc(
            RpcGroup::with_state("notes", ())
                .public("pong", ping)
                .build(),
        ));
    let error = RpcRegistry::collect(
        &ctx,
        &[
            GroupEntry::of::<TallyRpc>(),
            GroupEntry::of::<OtherNotesRpc>(),
        ],
    )
    .unwrap_err();
    assert!(matches!(error, RegistryError::DuplicateGroup { .. }));
    let message = error.to_string();
    assert!(
        message.contains("TallyRpc") && message.contains("OtherNotesRpc"),
        "{message}"
    );
    assert!(message.contains("/v1/notes/rpc"), "{message}");
}

#[tokio::test]
async fn a_tag_served_twice_on_one_path_stops_start_up() {
    let group = RpcGroup::with_state("tally", ())
        .public("ping", ping)
        .public("ping", ping)
        .build();
    let ctx = Context::new().with(TallyRpc(group));
    let error = RpcRegistry::collect(&ctx, &[GroupEntry::of::<TallyRpc>()]).unwrap_err();
    assert_eq!(
        error,
        RegistryError::DuplicateTag {
            group: "tally".into(),
            tag: "ping".into(),
            service: "TallyRpc"
        }
    );
}

#[tokio::test]
async fn a_group_listed_but_not_provided_stops_start_up() {
    let error = RpcRegistry::collect(&Context::new(), &[GroupEntry::of::<NotesRpc>()]).unwrap_err();
    assert_eq!(
        error,
        RegistryError::Missing {
            service: "NotesRpc"
        }
    );
}

#[tokio::test]
async fn a_service_provided_by_two_layers_is_refused_unless_one_overrides() {
    let twice = Layer::merge_all([tally_layer(), tally_layer().named("tally-again")]);
    let duplicates = twice.duplicate_providers();
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert!(duplicates[0].service.ends_with("TallyRpc"));
    assert_eq!(duplicates[0].layers.len(), 2);
    let scope = Scope::new("test");
    let Err(error) = build(&twice, Context::new(), &scope).await else {
        panic!("two providers of one service must not build");
    };
    match &*error {
        BuildError::DuplicateProviders(found) => assert_eq!(found, &duplicates),
        other => panic!("expected DuplicateProviders, got {other}"),
    }

    // A test double that declares the override is accepted, and wins.
    let double = Layer::named_leaf("tally-double")
        .overrides::<TallyRpc>()
        .service(|_, _| async move {
            let group = RpcGroup::with_state("tally", ())
                .public("double", ping)
                .build();
            Ok::<_, BoxError>(TallyRpc(group))
        });
    let layered = Layer::merge_all([tally_layer(), double]);
    assert!(layered.duplicate_providers().is_empty());
    let ctx = build(&layered, Context::new(), &scope)
        .await
        .expect("an override builds");
    let registry = RpcRegistry::collect(&ctx, &[GroupEntry::of::<TallyRpc>()]).unwrap();
    let group = registry.groups().next().unwrap();
    assert!(group.procedure("double").is_some());
    scope.close().await.unwrap();
}

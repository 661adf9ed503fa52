//! [`TestApp`]: a slice's layer built on a fresh database (SQLite, and PostgreSQL when
//! configured), its RPC groups served over the real transport on `127.0.0.1:0`, and helpers to
//! create members of two organizations and to call a procedure as one of them, decoding the
//! reply into a success or a typed failure.
//!
//! ```text
//! for app in TestApp::spawn_all(documents_server::layer, &[&DOCUMENTS_MIGRATIONS],
//!                               &[GroupEntry::of::<DocumentsRpc>()]).await {
//!     let (ada, bea) = (app.member("ada").await, app.member_of_other_org("bea").await);
//!     let doc = app.rpc(&ada, "Document.create", json!({"title": "T"})).await.success();
//!     let fail = app.rpc(&bea, "Document.get", json!({"id": doc["id"]})).await.failure();
//!     assert_eq!(fail["_tag"], "DocumentNotFoundError");
//! }
//! ```
//!
//! The app's input services: `Db`, `dyn Clock` (the system clock), `dyn ObjectStore`
//! (`MemoryObjectStore`), `dyn Mailer` (`RecordingMailer`), and [`TestAuth`] as
//! `dyn AuthResolver` and `dyn OrgMembers`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::auth::TestAuth;
use super::db::{self, TestDb};
use crate::auth::{AuthContext, AuthResolver, OrgMembers};
use crate::db::migrate::{self, SliceMigrations};
use crate::db::Backend;
use crate::entities::{NewOrganization, NewSession, NewUser, Organization, Session, User};
use crate::layer::{self, Context, Layer, Scope};
use crate::mail::{Mailer, RecordingMailer};
use crate::migrations::SHARED_MIGRATIONS;
use crate::repos::{OrganizationRepo, SessionRepo, UserRepo};
use crate::rpc::{GroupEntry, RpcLimits, RpcRegistry};
use crate::storage::{MemoryObjectStore, ObjectStore};
use crate::{Clock, Db, SystemClock, Timestamp};

/// A signed-in test user, with the organization active on their session.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub user: User,
    pub organization: Organization,
    pub session: Session,
    /// `Authorization: Bearer <token>` authenticates as this user.
    pub token: String,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcReply {
    /// The success value (`null` for void); for a stream, the array of its elements.
    Success(Value),
    /// The typed failure: `{"_tag": ..., ...}` (the `error` of a `Fail` cause).
    Failure(Value),
    /// Any other cause (`Die`, `Interrupt`, ...), as sent.
    Defect(Value),
}

impl RpcReply {
    /// The success value; panics with the reply otherwise.
    #[track_caller]
    pub fn success(self) -> Value {
        match self {
            RpcReply::Success(value) => value,
            other => panic!("expected a success, got {other:?}"),
        }
    }

    /// The typed failure; panics with the reply otherwise.
    #[track_caller]
    pub fn failure(self) -> Value {
        match self {
            RpcReply::Failure(error) => error,
            other => panic!("expected a typed failure, got {other:?}"),
        }
    }

    /// The defect's cause; panics with the reply otherwise.
    #[track_caller]
    pub fn defect(self) -> Value {
        match self {
            RpcReply::Defect(cause) => cause,
            other => panic!("expected a defect, got {other:?}"),
        }
    }

    /// The failure's `_tag` (`Unauthorized`, `DocumentNotFoundError`, ...), if it is one.
    pub fn failure_tag(&self) -> Option<&str> {
        match self {
            RpcReply::Failure(error) => error["_tag"].as_str(),
            _ => None,
        }
    }
}

/// A slice served on port 0 over one database (see the module documentation).
pub struct TestApp {
    db: TestDb,
    url: String,
    auth: Arc<TestAuth>,
    ctx: Context,
    registry: RpcRegistry,
    http: reqwest::Client,
    scope: Scope,
    server: tokio::task::JoinHandle<()>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("url", &self.url)
            .field("backend", &self.backend())
            .finish()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// One app per available backend (SQLite always; PostgreSQL when `TEST_POSTGRES_URL` is
    /// set), each built from `layer()` on a fresh database with `migrations` applied (the shared
    /// slice's first), serving `groups`.
    pub async fn spawn_all(
        layer: impl Fn() -> Layer,
        migrations: &[&'static SliceMigrations],
        groups: &[GroupEntry],
    ) -> Vec<TestApp> {
        let mut apps = Vec::new();
        for db in db::all_backends().await {
            apps.push(Self::spawn(db, layer(), migrations, groups).await);
        }
        apps
    }

    /// The app on `db` (see [`spawn_all`](Self::spawn_all)); panics with the reason when the
    /// layer, the migrations or the groups are refused.
    pub async fn spawn(
        db: TestDb,
        layer: Layer,
        migrations: &[&'static SliceMigrations],
        groups: &[GroupEntry],
    ) -> TestApp {
        let mut slices: Vec<&'static SliceMigrations> = vec![&SHARED_MIGRATIONS];
        for slice in migrations {
            if !slices.iter().any(|s| s.slice == slice.slice) {
                slices.push(slice);
            }
        }
        migrate::run(&db.db, &slices)
            .await
            .expect("the test database migrates");
        let auth = Arc::new(TestAuth::new());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let input = Context::new()
            .with(db.db.clone())
            .with_arc::<dyn Clock>(clock.clone())
            .with_arc::<dyn ObjectStore>(Arc::new(MemoryObjectStore::new()))
            .with_arc::<dyn Mailer>(Arc::new(RecordingMailer::new()))
            .with_arc::<dyn AuthResolver>(auth.clone())
            .with_arc::<dyn OrgMembers>(auth.clone())
            .with_arc::<TestAuth>(auth.clone());
        let scope = Scope::new("test app");
        let built = layer::build(&layer, input.clone(), &scope)
            .await
            .unwrap_or_else(|error| panic!("the slice layer builds: {error}"));
        let mut ctx = input;
        ctx.merge(&built);
        let registry = RpcRegistry::collect(&ctx, groups)
            .unwrap_or_else(|error| panic!("the RPC groups are accepted: {error}"));
        let router = crate::rpc::router(
            registry.groups().cloned(),
            ctx.clone(),
            RpcLimits::default(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a test port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        TestApp {
            db,
            url,
            auth,
            ctx,
            registry,
            http: reqwest::Client::new(),
            scope,
            server,
            clock,
        }
    }

    /// Stops serving and releases the layer (its finalizers run).
    pub async fn stop(self) {
        self.server.abort();
        if let Err(error) = self.scope.close().await {
            panic!("the slice layer releases cleanly: {error}");
        }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    pub fn db(&self) -> &Db {
        &self.db.db
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The built services (the slice's and the inputs).
    pub fn ctx(&self) -> &Context {
        &self.ctx
    }

    pub fn auth(&self) -> &TestAuth {
        &self.auth
    }

    /// `Authorization` header value of `who`.
    pub fn bearer(&self, who: &TestUser) -> String {
        format!("Bearer {}", who.token)
    }

    /// A new user who owns a new organization (role `owner`), active on their session.
    pub async fn member(&self, name: &str) -> TestUser {
        let user = self.new_user(name).await;
        let slug = format!("{}-{}", slug_of(name), short_id());
        let organization = OrganizationRepo::new(self.db().clone(), self.clock.clone())
            .insert(
                NewOrganization::new(format!("{name}'s organization"), slug, user.id.clone()),
                user.id.as_str(),
            )
            .await
            .expect("create a test organization");
        self.sign_in(user, organization, "owner").await
    }

    /// A member of another, new organization (the same as [`member`](Self::member): every
    /// call makes a new tenant; the name says what the test means).
    pub async fn member_of_other_org(&self, name: &str) -> TestUser {
        self.member(name).await
    }

    /// A new user who joins `colleague`'s organization with `roles` (`member`, `admin`, ...).
    pub async fn join(&self, colleague: &TestUser, name: &str, roles: &str) -> TestUser {
        let user = self.new_user(name).await;
        self.sign_in(user, colleague.organization.clone(), roles)
            .await
    }

    /// Calls `tag` as `who` over HTTP (JSON serialization); a stream's elements are collected.
    pub async fn rpc(&self, who: &TestUser, tag: &str, payload: Value) -> RpcReply {
        self.call(Some(&self.bearer(who)), tag, payload).await
    }

    /// Calls the stream procedure `tag` as `who`; the success is the array of elements.
    pub async fn rpc_stream(&self, who: &TestUser, tag: &str, payload: Value) -> RpcReply {
        assert!(
            self.is_stream(tag),
            "`{tag}` is not a stream procedure of the served groups"
        );
        self.rpc(who, tag, payload).await
    }

    /// Calls `tag` without credentials.
    pub async fn rpc_anonymous(&self, tag: &str, payload: Value) -> RpcReply {
        self.call(None, tag, payload).await
    }

    /// The path of the group serving `tag`; panics when no served group declares it.
    pub fn path_of(&self, tag: &str) -> String {
        self.registry
            .groups()
            .find(|group| group.procedure(tag).is_some())
            .map(|group| group.path())
            .unwrap_or_else(|| panic!("no served RPC group declares `{tag}`"))
    }

    fn is_stream(&self, tag: &str) -> bool {
        self.registry
            .groups()
            .find_map(|group| group.procedure(tag))
            .is_some_and(|procedure| procedure.is_stream())
    }

    async fn call(&self, authorization: Option<&str>, tag: &str, payload: Value) -> RpcReply {
        let url = format!("{}{}", self.url, self.path_of(tag));
        let mut request = json!({"_tag": "Request", "id": "1", "tag": tag, "headers": []});
        if !payload.is_null() {
            request["payload"] = payload;
        }
        let mut post = self
            .http
            .post(url)
            .timeout(Duration::from_secs(30))
            .json(&request);
        if let Some(authorization) = authorization {
            post = post.header("authorization", authorization);
        }
        let response = post.send().await.expect("the RPC endpoint answers");
        let status = response.status();
        let messages: Value = response.json().await.expect("the reply is JSON");
        assert!(status.is_success(), "HTTP {status}: {messages}");
        decode_reply(&messages, self.is_stream(tag))
    }

    async fn new_user(&self, name: &str) -> User {
        let email = format!("{}-{}@example.test", slug_of(name), short_id());
        UserRepo::new(self.db().clone(), self.clock.clone())
            .insert(NewUser::new(name, email), "system")
            .await
            .expect("create a test user")
    }

    async fn sign_in(&self, user: User, organization: Organization, roles: &str) -> TestUser {
        let token = format!("test-{}", uuid::Uuid::new_v4().simple());
        let expires = Timestamp::now().plus(Duration::from_secs(24 * 3600));
        let mut new = NewSession::new(token.clone(), user.id.clone(), expires);
        new.active_organization_id = Some(organization.id.clone());
        let session = SessionRepo::new(self.db().clone(), self.clock.clone())
            .insert(new, user.id.as_str())
            .await
            .expect("create a test session");
        self.auth.add_member(&organization.id, &user.id, roles);
        self.auth.sign_in(
            &token,
            AuthContext {
                user: user.clone(),
                session: session.clone(),
                organization: Some(organization.clone()),
            },
        );
        TestUser {
            user,
            organization,
            session,
            token,
        }
    }
}

/// The reply of one call: its Chunks' values and its Exit.
fn decode_reply(messages: &Value, stream: bool) -> RpcReply {
    let messages = messages
        .as_array()
        .expect("the reply is an array of messages");
    let mut elements = Vec::new();
    for message in messages {
        match message["_tag"].as_str() {
            Some("Chunk") => {
                elements.extend(message["values"].as_array().cloned().unwrap_or_default())
            }
            Some("Exit") => {
                let exit = &message["exit"];
                return match exit["_tag"].as_str() {
                    Some("Success") if stream => RpcReply::Success(Value::Array(elements)),
                    Some("Success") => {
                        RpcReply::Success(exit.get("value").cloned().unwrap_or(Value::Null))
                    }
                    _ => {
                        let cause = &exit["cause"];
                        if cause["_tag"] == "Fail" {
                            RpcReply::Failure(cause["error"].clone())
                        } else {
                            RpcReply::Defect(cause.clone())
                        }
                    }
                };
            }
            _ => {}
        }
    }
    panic!("the reply has no Exit: {messages:?}")
}

fn slug_of(name: &str) -> String {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if slug.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        slug
    } else {
        format!("u{slug}")
    }
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

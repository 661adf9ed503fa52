//! Black-box HTTP tests of the composed server on port 0: health, readiness, error envelope,
//! the protected group, and embedding routes. Runs on SQLite and, when configured, PostgreSQL.

mod common;

use axum::routing::get;
use runtime_server::{server_layer_with, ExtraRoutes, HttpServer, ServerRuntime};
use serde_json::Value;
use shared_server::Db;

async fn start(
    extra_vars: &[(&str, &str)],
    extra: ExtraRoutes,
) -> (ServerRuntime, String, common::DataDir) {
    let data = common::DataDir::new();
    let runtime = ServerRuntime::new(server_layer_with(common::config(&data, extra_vars), extra));
    let ctx = runtime.context().await.expect("server starts");
    let base = ctx.get::<HttpServer>().unwrap().base_url.clone();
    (runtime, base, data)
}

/// SQLite always; PostgreSQL when `TEST_POSTGRES_URL` is set.
async fn database_urls() -> Vec<String> {
    let mut urls = vec![String::new()];
    if let Some(pg) = shared_server::testing::postgres().await {
        urls.push(pg.url.clone());
        pg.db.close().await;
    }
    urls
}

#[tokio::test]
async fn health_readiness_and_errors_on_every_backend() {
    for url in database_urls().await {
        let vars: Vec<(&str, &str)> = if url.is_empty() {
            vec![]
        } else {
            vec![("DATABASE_URL", url.as_str())]
        };
        let (runtime, base, _data) = start(&vars, ExtraRoutes::default()).await;
        let client = reqwest::Client::new();

        let health = client
            .get(format!("{base}/v1/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        assert_eq!(health.text().await.unwrap(), "OK");

        let ready = client.get(format!("{base}/v1/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["checks"]["database"]["status"], "ok");
        assert_eq!(body["checks"]["objectStore"]["status"], "ok");

        let missing = client.get(format!("{base}/v1/nope")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        let body: Value = missing.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
        assert!(body["message"].as_str().unwrap().len() > 5);

        runtime.dispose().await.unwrap();
        assert!(
            client
                .get(format!("{base}/v1/health"))
                .send()
                .await
                .is_err(),
            "the listener is closed after dispose"
        );
    }
}

#[tokio::test]
async fn readiness_names_the_failing_dependency() {
    let (runtime, base, _data) = start(&[], ExtraRoutes::default()).await;
    // Break the database: close the pool the runtime uses.
    runtime
        .context()
        .await
        .unwrap()
        .get::<Db>()
        .unwrap()
        .close()
        .await;
    let ready = reqwest::get(format!("{base}/v1/ready")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["failing"], serde_json::json!(["database"]));
    assert_eq!(body["checks"]["objectStore"]["status"], "ok");
    // Releasing reports what could not be released cleanly on the closed pool; that's expected.
    let released = runtime.dispose().await;
    if let Err(error) = released {
        assert!(error.to_string().contains("closed pool"), "{error}");
    }
}

#[tokio::test]
async fn protected_routes_refuse_anonymous_callers_and_public_extras_work() {
    let extra = ExtraRoutes {
        public: axum::Router::new().route("/hello", get(|| async { "hello" })),
        protected: axum::Router::new().route("/v1/secret", get(|| async { "secret" })),
        ..ExtraRoutes::default()
    };
    let (runtime, base, _data) = start(&[], extra).await;
    assert_eq!(
        reqwest::get(format!("{base}/hello"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "hello"
    );
    let secret = reqwest::get(format!("{base}/v1/secret")).await.unwrap();
    assert_eq!(secret.status(), 401);
    let body: Value = secret.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"code": "unauthorized", "message": "Unauthorized"})
    );
    runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn a_port_in_use_fails_start_up_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let data = common::DataDir::new();
    let config = common::config(&data, &[("APP_API_PORT", port.as_str())]);
    let runtime = ServerRuntime::new(runtime_server::server_layer(config));
    let err = runtime.context().await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("HttpServer"), "{err}");
    runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn the_composed_runtime_provides_the_shared_repositories_on_a_migrated_database() {
    use shared_server::entities::NewUser;
    use shared_server::repos::UserRepo;

    let data = common::DataDir::new();
    let runtime = ServerRuntime::new(runtime_server::runtime_layer(common::config(&data, &[])));
    let user = runtime
        .run("test.create_user", |ctx| async move {
            let users = ctx.get::<UserRepo>()?;
            let created = users
                .insert(NewUser::new("Ada Lovelace", "Ada@Example.com"), "app")
                .await?;
            let found = users.find_by_email("ada@example.com").await?;
            Ok::<_, shared_server::BoxError>((created, found))
        })
        .await
        .unwrap();
    assert_eq!(user.0.email, "ada@example.com");
    assert_eq!(user.1.map(|u| u.id), Some(user.0.id));
    runtime.dispose().await.unwrap();
}

#[tokio::test]
async fn the_auth_api_is_mounted_and_its_sessions_open_the_protected_group() {
    use axum::Extension;
    use shared_server::auth::AuthContext;

    let extra = ExtraRoutes {
        public: axum::Router::new(),
        protected: axum::Router::new().route(
            "/v1/me",
            get(|Extension(caller): Extension<AuthContext>| async move { caller.user.email }),
        ),
        ..ExtraRoutes::default()
    };
    let (runtime, base, _data) = start(&[], extra).await;
    let client = reqwest::Client::new();
    let signed_up = client
        .post(format!("{base}/api/v1/auth/sign-up/email"))
        .header("origin", &base)
        .json(&serde_json::json!({"name": "Grace", "email": "grace@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.status(), 200, "{:?}", signed_up.text().await);
    let token = signed_up.headers()["set-auth-token"]
        .to_str()
        .unwrap()
        .to_string();

    let me = client
        .get(format!("{base}/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.text().await.unwrap(), "grace@example.com");
    let anonymous = client.get(format!("{base}/v1/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = client
        .get(format!("{base}/v1/me"))
        .bearer_auth("forged.token")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    runtime.dispose().await.unwrap();
}

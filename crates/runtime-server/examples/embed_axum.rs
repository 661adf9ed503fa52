//! Embedding the runtime in your own axum app: build the runtime's context once, hand it to your
//! handlers as state, and dispose the runtime when your server stops.
//!
//! `cargo run -p runtime-server --example embed_axum`, then `curl localhost:3001/users/count`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use runtime_server::{runtime_layer, AppConfig, ServerRuntime};
use shared_server::layer::BoxError;
use shared_server::{on_conn, Context, Db};

/// Your handler: takes services from the runtime's context.
async fn count_users(State(ctx): State<Context>) -> Result<Json<serde_json::Value>, StatusCode> {
    let db = ctx
        .get::<Db>()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let mut pooled = db
        .acquire()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let count: i64 = on_conn!(pooled.conn(), |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM shared_user")
            .fetch_one(&mut *c)
            .await
    })
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(serde_json::json!({ "users": count })))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let config = AppConfig::load()?;
    let runtime = ServerRuntime::new(runtime_layer(config));
    let ctx = runtime.context().await?;

    let app = Router::new()
        .route("/users/count", get(count_users))
        .with_state(ctx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    runtime.dispose().await?;
    Ok(())
}

//! The comms slice's layer (slices.md §9): from `Db`, `dyn Clock` and `CommsConfig` it builds
//! the repositories, the template renderer and services, the transport chosen by the
//! configuration, the outbox-backed `dyn Mailer`, and starts the delivery worker, which its
//! finalizer stops (in-flight sends get a grace period, unfinished rows go back to the queue).
//!
//! The database must already have the comms migrations (`COMMS_MIGRATIONS`); the runtime
//! applies every slice's migrations before slices are built.

use std::sync::Arc;

use shared_server::layer::{BoxError, Context, Layer, Scope};
use shared_server::mail::Mailer;
use shared_server::{Clock, Db};
use tokio::sync::Notify;

use crate::config::CommsConfig;
use crate::repos::{DeliveryLogRepo, EmailTemplateRepo, OutboxRepo};
use crate::services::{
    EmailTemplateService, OutboxMailer, OutboxService, OutboxWorker, TemplateRenderer,
};
use crate::transport::{self, EmailTransport};

/// The comms slice: requires `Db`, `dyn Clock`, `CommsConfig`; provides `dyn Mailer`,
/// `dyn EmailTransport`, `EmailTemplateRepo`, `OutboxRepo`, `DeliveryLogRepo`,
/// `TemplateRenderer`, `EmailTemplateService`, `OutboxService` and `OutboxWorker` (started
/// unless `COMMS_OUTBOX_WORKER=off`).
pub fn layer() -> Layer {
    declare(Layer::named_leaf("comms")).build(|ctx, scope| async move {
        let config = ctx.get::<CommsConfig>()?;
        let transport = transport::from_config(&config.transport, config.worker.concurrency)?;
        build(ctx, scope, transport).await
    })
}

/// The same layer with a transport of the caller's (tests, or an embedding program with its
/// own provider); `CommsConfig::transport` is then ignored.
pub fn layer_with_transport(transport: Arc<dyn EmailTransport>) -> Layer {
    declare(Layer::named_leaf("comms")).build(move |ctx, scope| {
        let transport = transport.clone();
        async move { build(ctx, scope, transport).await }
    })
}

fn declare(builder: shared_server::layer::LayerBuilder) -> shared_server::layer::LayerBuilder {
    builder
        .requires::<Db>()
        .requires::<dyn Clock>()
        .requires::<CommsConfig>()
        .provides::<dyn Mailer>()
        .provides::<dyn EmailTransport>()
        .provides::<EmailTemplateRepo>()
        .provides::<OutboxRepo>()
        .provides::<DeliveryLogRepo>()
        .provides::<TemplateRenderer>()
        .provides::<EmailTemplateService>()
        .provides::<OutboxService>()
        .provides::<OutboxWorker>()
}

async fn build(
    ctx: Context,
    scope: Scope,
    transport: Arc<dyn EmailTransport>,
) -> Result<Context, BoxError> {
    let db = (*ctx.get::<Db>()?).clone();
    let clock = ctx.get::<dyn Clock>()?;
    let config = ctx.get::<CommsConfig>()?;

    let templates = EmailTemplateRepo::new(db.clone(), clock.clone());
    let outbox = OutboxRepo::new(db.clone(), clock.clone());
    let logs = DeliveryLogRepo::new(db.clone(), clock.clone());
    let renderer = TemplateRenderer::new(
        config.app_name.clone(),
        config.app_url.clone(),
        clock.clone(),
    );
    let template_service = EmailTemplateService::new(templates.clone(), renderer.clone());
    let outbox_service = OutboxService::new(outbox.clone(), logs.clone());
    let wake = Arc::new(Notify::new());
    let mailer = OutboxMailer::new(
        outbox.clone(),
        template_service.clone(),
        config.from.clone(),
        config.worker.max_attempts,
        wake.clone(),
    );
    let worker = Arc::new(OutboxWorker::new(
        outbox.clone(),
        logs.clone(),
        transport.clone(),
        clock,
        config.worker.clone(),
        config.retention.clone(),
        wake,
    ));
    if config.worker.enabled {
        let handle = worker.clone().start();
        scope
            .add_finalizer("stop the outbox worker", move || async move {
                handle.shutdown().await.map_err(|e| Box::new(e) as BoxError)
            })
            .await;
    } else {
        tracing::info!("outbox worker disabled (COMMS_OUTBOX_WORKER=off): mail is queued, not delivered, by this instance");
    }

    let mut out = Context::new();
    out.insert_arc::<dyn Mailer>(Arc::new(mailer));
    out.insert_arc::<dyn EmailTransport>(transport);
    out.insert_arc::<OutboxWorker>(worker);
    out.insert(templates)
        .insert(outbox)
        .insert(logs)
        .insert(renderer)
        .insert(template_service)
        .insert(outbox_service);
    Ok(out)
}

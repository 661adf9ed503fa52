//! The comms slice's services: template rendering and management, the outbox-backed `Mailer`,
//! the outbox operations view, and the delivery worker.

pub mod mailer;
pub mod outbox;
pub mod renderer;
pub mod templates;
pub mod worker;

pub use mailer::OutboxMailer;
pub use outbox::{OutboxDetail, OutboxService};
pub use renderer::{RenderedEmail, TemplateRenderer, TemplateSource};
pub use templates::{EmailTemplateService, TemplateInput, TemplateUpdate};
pub use worker::{backoff_delay, BatchReport, OutboxWorker, OutboxWorkerHandle};

//! `comms-server`: email that is never lost.
//!
//! Other slices send mail through the `shared_server::mail::Mailer` port; this slice provides
//! it as a transactional outbox ([`services::OutboxMailer`]): a message is a row written in the
//! sender's transaction, delivered by a background [`services::OutboxWorker`] with leases (one
//! worker per row, even with several instances), exponential backoff, a maximum number of
//! attempts and a delivery log. Transports: SMTP, a development mailbox of `.eml` files, log
//! only. Templates are rendered when a message is queued: an organization's own
//! ([`entities::EmailTemplate`]) or a built-in one (verification, password reset, invitation).
//!
//! Layout: [`entities`] (rows), [`repos`] (SQL), [`services`] (rendering, mailer, worker,
//! operations), [`transport`] (delivery), [`config`] (environment), [`layer()`] (wiring).

pub mod config;
pub mod entities;
mod error;
mod host;
mod layer;
mod migrations;
pub mod repos;
pub mod services;
pub mod transport;

pub use config::{
    CommsConfig, CommsConfigError, RetentionConfig, SmtpConfig, SmtpTls, TransportConfig,
    WorkerConfig,
};
pub use error::CommsError;
pub use layer::{layer, layer_with_transport};
pub use migrations::COMMS_MIGRATIONS;

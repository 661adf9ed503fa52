//! better-auth's `twoFactor()` plugin (PLUGINS.md §2): TOTP with an authenticator app, codes
//! by email (through the `Mailer`), single-use backup codes, trusted devices, and the sign-in
//! hook that holds back the session of an enrolled user until the second factor is shown.
//! Secrets and backup codes are stored encrypted the way better-auth stores them
//! (`services::symmetric`), so an enrolment moved from better-auth keeps working.

mod codes;
pub mod config;
mod enrolment;
pub mod entities;
pub mod repo;
pub mod routes;
pub mod service;
pub mod sign_in;
mod verify;

pub use config::TwoFactorConfig;
pub use repo::TwoFactorRepo;
pub use service::TwoFactorService;

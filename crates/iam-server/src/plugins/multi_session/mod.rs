//! better-auth's `multiSession()` plugin (PLUGINS.md §5): several accounts signed in on one
//! browser, switched with `set-active`. It keeps no table: each account is a signed
//! `<session cookie>_multi-<token>` cookie next to the session cookie, so it has no
//! `entities.rs`, `repo.rs` or `service.rs` — its routes use the core sessions directly.

pub mod config;
pub mod routes;

pub use config::MultiSessionConfig;

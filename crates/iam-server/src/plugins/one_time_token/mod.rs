//! better-auth's `oneTimeToken()` plugin (PLUGINS.md §6): a signed-in client asks for a short,
//! single-use token that another client (a mobile app, a second domain) exchanges for the same
//! session. The tokens are verification values, so the plugin has no table of its own and no
//! `entities.rs` or `repo.rs`.

pub mod config;
pub mod routes;
pub mod service;

pub use config::OneTimeTokenConfig;
pub use service::OneTimeTokenService;

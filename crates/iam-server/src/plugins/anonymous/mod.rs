//! better-auth's `anonymous()` plugin (PLUGINS.md §4): guests get a real user (flagged
//! `isAnonymous`, with a placeholder email and no password) and session, and when they later
//! sign in or up as a real user the anonymous one is removed. Like better-auth, it adds a user
//! column (`shared_user.is_anonymous`) rather than a table, so it has no `entities.rs` or
//! `repo.rs`.

pub mod config;
pub mod routes;
pub mod service;

pub use config::AnonymousConfig;
pub use service::AnonymousService;

//! better-auth's `username()` plugin (PLUGINS.md §1): users may also have a username, checked
//! by better-auth's rules, stored lower-cased with the typed form as `displayUsername`, and
//! usable to sign in. Like better-auth, the plugin adds columns to the user (here already on
//! `shared_user`, with its unique constraint) rather than a table, so it has no `repo.rs`:
//! lookups are the shared `UserRepo::find_by_username`.

pub mod config;
pub mod entities;
pub mod routes;
pub mod service;

pub use config::UsernameConfig;
pub use service::{UsernameFields, UsernameService};

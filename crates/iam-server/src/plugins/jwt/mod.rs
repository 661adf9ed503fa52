//! better-auth's `jwt()` plugin (PLUGINS.md §7): JWTs of the signed-in user for services that
//! verify tokens rather than sessions, signed with Ed25519 keys kept (and rotated) in
//! `iam_jwks`, whose public half is served at `/jwks`.

pub mod config;
pub mod entities;
pub mod repo;
pub mod routes;
pub mod service;

pub use config::JwtConfig;
pub use repo::JwksRepo;
pub use service::JwtService;

//! `iam-server`: the identity slice. Credentials, verification values and memberships live in
//! its tables (`IAM_MIGRATIONS`); users, organizations and sessions in the shared ones. It serves
//! the better-auth-compatible auth API (`http`) and resolves every request's `AuthContext`
//! (`services::AuthContextResolver`).

pub mod config;
pub mod entities;
pub mod error;
pub mod http;
pub mod js;
mod layer;
pub mod migrations;
pub mod plugins;
pub mod repos;
pub mod services;

pub use config::{IamConfig, IamConfigError};
pub use error::{ErrorCode, IamError};
pub use http::AuthRoutes;
pub use layer::layer;
pub use migrations::IAM_MIGRATIONS;

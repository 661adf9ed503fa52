//! better-auth plugins beyond the core, organization and API-key parts, one folder per plugin
//! as better-auth keeps them (PLUGINS.md has each one's wire contract). A plugin folder holds
//! its settings (`config.rs`), its rules and rows (`entities.rs`), its queries (`repo.rs`), its
//! operations (`service.rs`) and its HTTP handlers (`routes.rs`); the core calls into a plugin
//! only at the hooks better-auth has (sign-up and update-user fields, the sign-in answer, the
//! user's JSON).
//!
//! Every plugin is on by default (the original system enabled them) and can be switched off;
//! a switched-off plugin's routes answer 404 like any unknown path.

pub mod anonymous;
pub mod jwt;
pub mod last_login_method;
pub mod multi_session;
pub mod one_time_token;
pub mod two_factor;
pub mod username;

use axum::http::Method;
use shared_server::config::Vars;

use crate::config::IamConfigError;
use crate::error::IamError;
use crate::http::reply::Reply;
use crate::http::request::AuthRequest;
use crate::http::AuthApi;
use crate::services::AuthService;

pub use anonymous::{AnonymousConfig, AnonymousService};
pub use jwt::{JwksRepo, JwtConfig, JwtService};
pub use last_login_method::LastLoginMethodConfig;
pub use multi_session::MultiSessionConfig;
pub use one_time_token::{OneTimeTokenConfig, OneTimeTokenService};
pub use two_factor::{TwoFactorConfig, TwoFactorRepo, TwoFactorService};
pub use username::{UsernameConfig, UsernameService};

/// Every plugin variable `(name, default, meaning)`, for the README and `doctor`.
pub fn variables() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    username::config::VARIABLES
        .iter()
        .chain(two_factor::config::VARIABLES)
        .chain(last_login_method::config::VARIABLES)
        .chain(anonymous::config::VARIABLES)
        .chain(multi_session::config::VARIABLES)
        .chain(one_time_token::config::VARIABLES)
        .chain(jwt::config::VARIABLES)
}

/// The plugins' settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginsConfig {
    pub username: UsernameConfig,
    pub two_factor: TwoFactorConfig,
    pub last_login_method: LastLoginMethodConfig,
    pub anonymous: AnonymousConfig,
    pub multi_session: MultiSessionConfig,
    pub one_time_token: OneTimeTokenConfig,
    pub jwt: JwtConfig,
}

impl PluginsConfig {
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        Ok(Self {
            username: UsernameConfig::from_vars(vars)?,
            two_factor: TwoFactorConfig::from_vars(vars)?,
            last_login_method: LastLoginMethodConfig::from_vars(vars)?,
            anonymous: AnonymousConfig::from_vars(vars)?,
            multi_session: MultiSessionConfig::from_vars(vars)?,
            one_time_token: OneTimeTokenConfig::from_vars(vars)?,
            jwt: JwtConfig::from_vars(vars)?,
        })
    }
}

/// The plugins' services, shared by the auth API's handlers.
#[derive(Debug, Clone)]
pub struct Plugins {
    pub username: UsernameService,
    pub two_factor: TwoFactorService,
    pub anonymous: AnonymousService,
    pub one_time_token: OneTimeTokenService,
    pub jwt: JwtService,
}

impl Plugins {
    pub fn new(auth: &AuthService) -> Self {
        let two_factor_repo = TwoFactorRepo::new(auth.db().clone(), auth.clock().clone());
        Self {
            username: UsernameService::new(auth.clone()),
            two_factor: TwoFactorService::new(auth.clone(), two_factor_repo),
            anonymous: AnonymousService::new(auth.clone()),
            one_time_token: OneTimeTokenService::new(auth.clone()),
            jwt: JwtService::new(
                auth.clone(),
                JwksRepo::new(auth.db().clone(), auth.clock().clone()),
            ),
        }
    }
}

/// A plugin endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginEndpoint {
    Username(username::routes::Route),
    TwoFactor(two_factor::routes::Route),
    Anonymous(anonymous::routes::Route),
    MultiSession(multi_session::routes::Route),
    OneTimeToken(one_time_token::routes::Route),
    Jwt(jwt::routes::Route),
}

impl PluginEndpoint {
    /// Whether the plugin serving it is switched on.
    pub fn enabled(&self, config: &PluginsConfig) -> bool {
        match self {
            PluginEndpoint::Username(_) => config.username.enabled,
            PluginEndpoint::TwoFactor(_) => config.two_factor.enabled,
            PluginEndpoint::Anonymous(_) => config.anonymous.enabled,
            PluginEndpoint::MultiSession(_) => config.multi_session.enabled,
            PluginEndpoint::OneTimeToken(_) => config.one_time_token.enabled,
            PluginEndpoint::Jwt(_) => config.jwt.enabled,
        }
    }
}

/// The plugins' route tables (paths below the base path, matched exactly).
pub fn route(method: &Method, path: &str) -> Option<PluginEndpoint> {
    use PluginEndpoint as P;
    let post = *method == Method::POST;
    let get = *method == Method::GET;
    None.or_else(|| username::routes::route(post, path).map(P::Username))
        .or_else(|| two_factor::routes::route(post, path).map(P::TwoFactor))
        .or_else(|| anonymous::routes::route(post, path).map(P::Anonymous))
        .or_else(|| multi_session::routes::route(get, post, path).map(P::MultiSession))
        .or_else(|| one_time_token::routes::route(get, post, path).map(P::OneTimeToken))
        .or_else(|| jwt::routes::route(get, path).map(P::Jwt))
}

/// Runs a plugin endpoint.
pub(crate) async fn handle(
    api: &AuthApi,
    endpoint: PluginEndpoint,
    req: &AuthRequest,
) -> Result<Reply, IamError> {
    use PluginEndpoint as P;
    match endpoint {
        P::Username(route) => username::routes::handle(api, route, req).await,
        P::TwoFactor(route) => two_factor::routes::handle(api, route, req).await,
        P::Anonymous(route) => anonymous::routes::handle(api, route, req).await,
        P::MultiSession(route) => multi_session::routes::handle(api, route, req).await,
        P::OneTimeToken(route) => one_time_token::routes::handle(api, route, req).await,
        P::Jwt(route) => jwt::routes::handle(api, route, req).await,
    }
}

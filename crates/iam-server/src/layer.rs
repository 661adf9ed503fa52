//! The iam slice's layer (slices.md §9): from `Db`, `dyn Clock`, the shared repositories,
//! `dyn Mailer` and `IamConfig` it builds the IAM repositories, the password hasher,
//! `AuthService`, the API keys (`ApiKeyService`), the auth API's `RateLimiter`, the
//! `AuthContextResolver` (as `Arc<dyn AuthResolver>`) and the auth API router (`AuthRoutes`).
//!
//! It also starts the `IamCleanup` job (hourly), which its finalizer stops.
//!
//! The database must already have the iam migrations (`IAM_MIGRATIONS`, after `shared`); the
//! runtime applies every slice's migrations before slices are built.

use std::sync::Arc;
use std::time::Duration;

use shared_server::auth::{AuthResolver, OrgMembers};
use shared_server::layer::{BoxError, Context, Layer};
use shared_server::mail::Mailer;
use shared_server::repos::{OrganizationRepo, SessionRepo, UserRepo};
use shared_server::{Clock, Db};

use crate::config::IamConfig;
use crate::http::{self, AuthRoutes};
use crate::plugins::Plugins;
use crate::repos::{AccountRepo, ApiKeyRepo, MemberRepo, RateLimitRepo, VerificationRepo};
use crate::services::{
    ApiKeyService, AuthContextResolver, AuthRepos, AuthService, IamCleanup, IamOrgMembers,
    PasswordHasher, RateLimiter,
};

/// The cleanup job's first run after start, and its period.
const CLEANUP_FIRST_RUN: Duration = Duration::from_secs(10);
const CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

/// The iam slice: requires `Db`, `dyn Clock`, `UserRepo`, `OrganizationRepo`, `SessionRepo`,
/// `dyn Mailer` and `IamConfig`; provides `AccountRepo`, `VerificationRepo`, `MemberRepo`,
/// `PasswordHasher`, `AuthService`, `AuthContextResolver`, `dyn AuthResolver`, `AuthRoutes`,
/// `IamCleanup` (started), `ApiKeyRepo`, `ApiKeyService` and `RateLimiter`.
pub fn layer() -> Layer {
    Layer::named_leaf("iam")
        .requires::<Db>()
        .requires::<dyn Clock>()
        .requires::<UserRepo>()
        .requires::<OrganizationRepo>()
        .requires::<SessionRepo>()
        .requires::<dyn Mailer>()
        .requires::<IamConfig>()
        .provides::<AccountRepo>()
        .provides::<VerificationRepo>()
        .provides::<MemberRepo>()
        .provides::<PasswordHasher>()
        .provides::<AuthService>()
        .provides::<AuthContextResolver>()
        .provides::<dyn AuthResolver>()
        .provides::<dyn OrgMembers>()
        .provides::<AuthRoutes>()
        .provides::<IamCleanup>()
        .provides::<ApiKeyRepo>()
        .provides::<ApiKeyService>()
        .provides::<RateLimiter>()
        .build(|ctx, scope| async move {
            let db = (*ctx.get::<Db>()?).clone();
            let clock = ctx.get::<dyn Clock>()?;
            let config = ctx.get::<IamConfig>()?;
            let mailer = ctx.get::<dyn Mailer>()?;
            let repos = AuthRepos {
                users: (*ctx.get::<UserRepo>()?).clone(),
                orgs: (*ctx.get::<OrganizationRepo>()?).clone(),
                sessions: (*ctx.get::<SessionRepo>()?).clone(),
                accounts: AccountRepo::new(db.clone(), clock.clone()),
                verifications: VerificationRepo::new(db.clone(), clock.clone()),
                members: MemberRepo::new(db.clone(), clock.clone()),
            };
            let passwords = PasswordHasher::new();
            let api_key_repo = ApiKeyRepo::new(db.clone(), clock.clone());
            let api_keys = Arc::new(ApiKeyService::new(
                db.clone(),
                clock.clone(),
                config.clone(),
                config.api_keys.clone(),
                api_key_repo.clone(),
                repos.users.clone(),
                repos.orgs.clone(),
                repos.members.clone(),
            ));
            let limiter = Arc::new(RateLimiter::new(
                config.rate_limit.clone(),
                clock.clone(),
                RateLimitRepo::new(db.clone()),
            ));
            let service = Arc::new(AuthService::new(
                db.clone(),
                clock.clone(),
                config,
                repos.clone(),
                passwords.clone(),
                mailer,
            ));
            let resolver = AuthContextResolver::new(service.clone(), api_keys.clone());
            let cleanup = IamCleanup::new(
                db,
                repos.verifications.clone(),
                repos.sessions.clone(),
                clock,
            );
            let job = cleanup.clone().start(CLEANUP_FIRST_RUN, CLEANUP_INTERVAL);
            scope
                .add_finalizer("stop the iam cleanup job", move || async move {
                    job.stop().await;
                    Ok::<_, BoxError>(())
                })
                .await;
            let plugins = Arc::new(Plugins::new(&service));
            let routes = AuthRoutes(http::router(http::AuthApi {
                service: service.clone(),
                api_keys: api_keys.clone(),
                limiter: limiter.clone(),
                plugins,
            }));

            let members_for_rpc = repos.members.clone();
            let mut out = Context::new();
            out.insert(repos.accounts)
                .insert(repos.verifications)
                .insert(repos.members)
                .insert(passwords)
                .insert(resolver.clone())
                .insert(routes)
                .insert(cleanup)
                .insert(api_key_repo);
            out.insert_arc::<AuthService>(service);
            out.insert_arc::<ApiKeyService>(api_keys);
            out.insert_arc::<RateLimiter>(limiter);
            out.insert_arc::<dyn AuthResolver>(Arc::new(resolver));
            out.insert_arc::<dyn OrgMembers>(Arc::new(IamOrgMembers::new(members_for_rpc)));
            Ok::<_, BoxError>(out)
        })
}

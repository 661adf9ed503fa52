//! `iam_server::layer()` as the runtime composes it: what it requires (checked before anything
//! is built) and what it provides.

use std::sync::Arc;

use iam_server::repos::{AccountRepo, MemberRepo, VerificationRepo};
use iam_server::services::AuthService;
use iam_server::{AuthRoutes, IamConfig};
use shared_server::auth::AuthResolver;
use shared_server::layer::{build, BuildError, Context, Scope, ServiceKey};
use shared_server::mail::Mailer;
use shared_server::repos::{OrganizationRepo, SessionRepo, UserRepo};
use shared_server::testing::sqlite;
use shared_server::{Clock, Db, SystemClock};

#[test]
fn the_layer_declares_its_services() {
    let layer = iam_server::layer();
    let provides = layer.provides();
    for key in [
        ServiceKey::of::<AuthService>(),
        ServiceKey::of::<AuthRoutes>(),
        ServiceKey::of::<dyn AuthResolver>(),
        ServiceKey::of::<AccountRepo>(),
        ServiceKey::of::<VerificationRepo>(),
        ServiceKey::of::<MemberRepo>(),
    ] {
        assert!(provides.contains(&key), "{} is not provided", key.name());
    }
    let requires = layer.requires();
    for key in [
        ServiceKey::of::<Db>(),
        ServiceKey::of::<dyn Clock>(),
        ServiceKey::of::<dyn Mailer>(),
        ServiceKey::of::<IamConfig>(),
        ServiceKey::of::<UserRepo>(),
        ServiceKey::of::<OrganizationRepo>(),
        ServiceKey::of::<SessionRepo>(),
    ] {
        assert!(requires.contains(&key), "{} is not required", key.name());
    }
    assert_eq!(
        requires.len(),
        7,
        "{:?}",
        requires.iter().map(|k| k.name()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_missing_mailer_or_config_is_named_before_anything_is_built() {
    let test = sqlite().await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut input = Context::new();
    input
        .insert(test.db.clone())
        .insert_arc::<dyn Clock>(clock.clone())
        .insert(UserRepo::new(test.db.clone(), clock.clone()))
        .insert(OrganizationRepo::new(test.db.clone(), clock.clone()))
        .insert(SessionRepo::new(test.db.clone(), clock));
    let error = build(&iam_server::layer(), input, &Scope::new("test"))
        .await
        .expect_err("requirements are missing");
    let BuildError::MissingRequirements(missing) = &*error else {
        panic!("{error}");
    };
    let names: Vec<&str> = missing.iter().map(|m| m.service).collect();
    assert!(names.iter().any(|n| n.contains("Mailer")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("IamConfig")), "{names:?}");
    assert!(error.to_string().contains("iam"), "{error}");
}

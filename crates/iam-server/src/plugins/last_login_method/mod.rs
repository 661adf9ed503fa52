//! better-auth's `lastLoginMethod()` plugin (PLUGINS.md §3): remembers how the user last signed
//! in — a JavaScript-readable cookie (`lastLoginMethodClient().getLastUsedLoginMethod()` reads
//! it), and optionally `shared_user.last_login_method`. It has no endpoints, no table and no
//! service of its own: it is two hooks, on the reply of a sign-in/sign-up (`cookie_for`) and
//! on the user row (`method_of`), plus its settings.

pub mod config;

pub use config::LastLoginMethodConfig;

use crate::http::Endpoint;

/// better-auth's default method resolver for the endpoints this server has: email sign-in and
/// sign-up are `email`; other paths name no method (`/sign-in/username` included, as in
/// better-auth 1.7.7's default).
pub fn method_of(endpoint: &Endpoint) -> Option<&'static str> {
    match endpoint {
        Endpoint::SignInEmail | Endpoint::SignUpEmail => Some("email"),
        _ => None,
    }
}

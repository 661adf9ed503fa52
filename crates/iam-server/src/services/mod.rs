//! The iam slice's services: password hashing, token formats, credentials, the organization
//! hooks, the auth emails, `AuthService` (the operations behind the auth API), the API keys
//! (`ApiKeyService`), the auth API's `RateLimiter`, the `AuthContextResolver` the runtime uses
//! for protected routes, the `IamCleanup` job, and the organization plugin (`org`:
//! `OrganizationService`, with its access control in `access`), and `IamOrgMembers`, the
//! kernel's membership port for organization-scoped RPC procedures.

pub mod access;
pub mod apikeys;
pub mod auth;
pub mod cleanup;
pub mod cookie_cache;
pub mod credentials;
pub mod emails;
pub mod org;
pub mod org_members;
pub mod organizations;
pub mod password;
pub mod rate_limit;
pub mod resolver;
pub mod symmetric;
pub mod tokens;

pub use apikeys::{ApiKeyCaller, ApiKeyService, ApiKeySettings, CreateApiKey, UpdateApiKey};
pub use auth::{
    AuthRepos, AuthService, ClientInfo, EmailChange, EmailVerified, SignUpInput, SignedIn,
};
pub use cleanup::{CleanupReport, IamCleanup};
pub use org_members::IamOrgMembers;
pub use password::{PasswordCheck, PasswordHasher};
pub use rate_limit::{RateDecision, RateLimiter};
pub use resolver::AuthContextResolver;

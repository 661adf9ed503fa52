//! `IamConfig`: how the auth API is mounted, signs, names its cookies, times sessions and
//! tokens, and which origins it trusts — read from environment variables (`from_vars`) with the
//! defaults of `specs/better-auth-api.md` §0 and slices.md §2.2.
//!
//! Errors name the variable and the expected form; the secret never appears in an error, a log
//! line or `Debug` output.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::services::credentials::CookieNames;
use crate::services::symmetric::SecretConfig;
use crate::services::tokens::Secret;

mod api_keys;
mod organization;

pub use api_keys::API_KEY_VARIABLES;
pub use organization::{OrganizationConfig, ORGANIZATION_VARIABLES};
use shared_server::config::{VarError, Vars};

/// Why the IAM configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamConfigError {
    #[error("invalid {var}=`{value}`: expected {expected}")]
    Invalid {
        var: &'static str,
        /// The value as given (`***` for secrets).
        value: String,
        expected: String,
    },
    #[error("{var} is required: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
}

impl From<VarError> for IamConfigError {
    fn from(e: VarError) -> Self {
        IamConfigError::Invalid {
            var: e.var,
            value: e.value,
            expected: e.expected,
        }
    }
}

/// How verification identifiers (which embed reset tokens) are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierStorage {
    /// As is (better-auth's default).
    Plain,
    /// `base64url(SHA-256(identifier))`: a database leak yields no usable reset token.
    Hashed,
}

/// Every variable [`IamConfig::from_vars`] reads: `(name, default, meaning)`, for the README
/// and `doctor`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("BETTER_AUTH_SECRET", "(the runtime's development secret)", "server secret (≥ 32 characters) signing session cookies, bearer tokens and email-verification JWTs; required outside development"),
    ("BETTER_AUTH_SECRETS", "(none)", "rotation list `2:new,1:old`; the first entry signs and verifies (rotation signs everyone out, as in better-auth); overrides BETTER_AUTH_SECRET"),
    ("BETTER_AUTH_URL", "APP_AUTH_URL, else APP_PUBLIC_URL, else the listen address", "public origin (optionally with a path prefix) used in email links and trusted for Origin checks; `https://` turns on `__Secure-` cookies"),
    ("APP_AUTH_URL", "(none)", "same as BETTER_AUTH_URL (which wins)"),
    ("IAM_AUTH_BASE_PATH", "/api/v1/auth", "where the auth API is mounted"),
    ("SECURITY_TRUSTED_ORIGINS", "(none)", "comma-separated origins trusted besides the public URL's (shared with CORS); `*` wildcards allowed, e.g. https://*.example.com"),
    ("BETTER_AUTH_TRUSTED_ORIGINS", "(none)", "more trusted origins, same form (better-auth's variable)"),
    ("IAM_SESSION_EXPIRES_IN_SECS", "2592000 (30 days)", "session lifetime; also the session cookie's Max-Age"),
    ("IAM_SESSION_UPDATE_AGE_SECS", "86400 (1 day)", "sliding refresh: get-session extends a session at most this often"),
    ("IAM_SESSION_FRESH_AGE_SECS", "86400 (1 day)", "list-sessions and password-less delete-user need a session younger than this"),
    ("IAM_DISABLE_SESSION_REFRESH", "false", "never extend sessions on get-session"),
    ("IAM_COOKIE_CACHE_ENABLED", "false", "cache the session and user in a signed `session_data` cookie so get-session skips the database (a session revoked elsewhere stays visible through the cache for up to its max age)"),
    ("IAM_COOKIE_CACHE_MAX_AGE_SECS", "300", "lifetime of the `session_data` cookie cache"),
    ("IAM_COOKIE_PREFIX", "better-auth", "cookie names are `<prefix>.session_token`, …"),
    ("IAM_SECURE_COOKIES", "auto (on when the public URL is https)", "`true`/`false`: force the `__Secure-` prefix and the Secure attribute"),
    ("IAM_EMAIL_VERIFICATION_EXPIRES_IN_SECS", "3600", "lifetime of email-verification links"),
    ("IAM_SEND_VERIFICATION_ON_SIGN_UP", "true", "email a verification link at sign-up"),
    ("IAM_RESET_PASSWORD_EXPIRES_IN_SECS", "3600", "lifetime of password-reset links"),
    ("IAM_REVOKE_SESSIONS_ON_PASSWORD_RESET", "false", "a password reset signs the user out everywhere"),
    ("IAM_CHANGE_EMAIL_ENABLED", "true", "allow change-email"),
    ("IAM_DELETE_USER_ENABLED", "true", "allow delete-user"),
    ("IAM_VERIFICATION_IDENTIFIERS", "hashed", "`hashed` or `plain`: how reset-token identifiers are stored"),
    // rate limiting (better-auth-api.md §6)
    ("IAM_RATE_LIMIT_ENABLED", "true when APP_ENV=prod, else false", "rate-limit every auth API request per (client IP, path) before routing; 429 with X-Retry-After"),
    ("IAM_RATE_LIMIT_STORAGE", "`database` with a PostgreSQL `DATABASE_URL`, else `memory`", "`memory` (one instance; bounded, expired entries evicted) or `database` (table iam_rate_limit, shared by several instances)"),
    ("IAM_RATE_LIMIT_WINDOW_SECS", "10", "window of the default rule (1 to 86400); sign-in/up, change-password/email keep 3 per 10 s, reset/verification mails 3 per 60 s"),
    ("IAM_RATE_LIMIT_MAX", "100", "requests per window of the default rule (1 to 1000000)"),
    ("IAM_RATE_LIMIT_IP_HEADER", "x-forwarded-for", "header carrying the client IP (single value only; a comma list is not trusted); without it the connection's peer address, else the shared `no-trusted-ip` bucket"),
];

/// The auth slice's settings.
#[derive(Debug)]
pub struct IamConfig {
    /// Where the API is mounted, e.g. `/api/v1/auth` (leading `/`, no trailing `/`).
    pub base_path: String,
    /// The configured public URL, if any; otherwise the runtime supplies the listen address
    /// ([`IamConfig::set_default_public_url`]).
    public_url: RwLock<PublicUrl>,
    secret: Secret,
    /// The secrets of encryption at rest (better-auth's `secretConfig`).
    secrets: SecretConfig,
    pub session_expires_in: Duration,
    pub session_update_age: Duration,
    pub session_fresh_age: Duration,
    /// Session lifetime when the user asked not to be remembered (§2.6).
    pub dont_remember_expires_in: Duration,
    pub disable_session_refresh: bool,
    /// The `session_data` cookie cache's lifetime (§2.8); `None`: the cache is off.
    pub cookie_cache_max_age: Option<Duration>,
    pub cookie_prefix: String,
    /// `None`: secure cookies iff the public URL is https.
    pub secure_cookies: Option<bool>,
    /// Trusted origins besides the public URL's (may contain `*`).
    pub trusted_origins: Vec<String>,
    pub min_password_length: usize,
    pub max_password_length: usize,
    pub email_verification_expires_in: Duration,
    pub send_verification_on_sign_up: bool,
    pub reset_password_expires_in: Duration,
    pub revoke_sessions_on_password_reset: bool,
    pub change_email_enabled: bool,
    pub delete_user_enabled: bool,
    pub delete_token_expires_in: Duration,
    pub identifier_storage: IdentifierStorage,
    /// The organization plugin's limits and rules (`IAM_*`, see [`ORGANIZATION_VARIABLES`]).
    pub organization: OrganizationConfig,
    /// The API-key plugin's options (`IAM_API_KEY_*`, see [`API_KEY_VARIABLES`]).
    pub api_keys: crate::services::ApiKeySettings,
    /// The auth API's rate limiter (§6).
    pub rate_limit: RateLimitConfig,
    /// The better-auth plugins beyond organization and API keys (PLUGINS.md).
    pub plugins: crate::plugins::PluginsConfig,
}

/// Where the rate limiter keeps its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitStorage {
    /// In this process (one instance).
    Memory,
    /// In `iam_rate_limit` (several instances over one database).
    Database,
}

/// The auth API's rate limiter (`specs/better-auth-api.md` §6): the default rule's window and
/// max; the special rules (sign-in/up 3 per 10 s, …) are fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub storage: RateLimitStorage,
    pub window: Duration,
    pub max: u32,
    /// Lower-case header name carrying the client IP.
    pub ip_header: String,
}

impl Default for RateLimitConfig {
    /// Off (better-auth's default outside production), memory, 100 per 10 s,
    /// `x-forwarded-for`.
    fn default() -> Self {
        Self {
            enabled: false,
            storage: RateLimitStorage::Memory,
            window: Duration::from_secs(10),
            max: 100,
            ip_header: "x-forwarded-for".to_string(),
        }
    }
}

impl RateLimitConfig {
    /// Reads the `IAM_RATE_LIMIT_*` variables; on by default when `APP_ENV=prod`.
    fn from_vars(vars: Vars<'_>) -> Result<Self, IamConfigError> {
        // The runtime accepts `prod` and `production` for APP_ENV.
        let production = vars
            .get("APP_ENV")
            .is_some_and(|env| matches!(env.as_str(), "prod" | "production"));
        let enabled = vars.flag("IAM_RATE_LIMIT_ENABLED", production)?;
        // On PostgreSQL several instances may share the database (DESIGN.md "Scale"), and
        // in-memory counters would multiply the limits by the number of instances: the
        // database storage is the default there. SQLite means one instance: memory.
        let on_postgres = vars
            .get("DATABASE_URL")
            .is_some_and(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"));
        let storage = match vars.get("IAM_RATE_LIMIT_STORAGE").as_deref() {
            None if on_postgres => RateLimitStorage::Database,
            None | Some("memory") => RateLimitStorage::Memory,
            Some("database") => RateLimitStorage::Database,
            Some(other) => {
                return Err(
                    Vars::invalid("IAM_RATE_LIMIT_STORAGE", other, "memory or database").into(),
                )
            }
        };
        let window = vars.secs("IAM_RATE_LIMIT_WINDOW_SECS", 10, 1..=86_400)?;
        let max = vars.number("IAM_RATE_LIMIT_MAX", 100, 1..=1_000_000)?;
        let ip_header = match vars.get("IAM_RATE_LIMIT_IP_HEADER") {
            None => "x-forwarded-for".to_string(),
            Some(v) if axum::http::HeaderName::from_bytes(v.as_bytes()).is_ok() => {
                v.to_ascii_lowercase()
            }
            Some(v) => {
                return Err(Vars::invalid(
                    "IAM_RATE_LIMIT_IP_HEADER",
                    &v,
                    "an HTTP header name such as x-forwarded-for or x-real-ip",
                )
                .into())
            }
        };
        Ok(Self {
            enabled,
            storage,
            window,
            max,
            ip_header,
        })
    }
}

#[derive(Debug, Clone)]
struct PublicUrl {
    url: String,
    /// Set from a variable: the runtime's listen address does not replace it.
    explicit: bool,
    /// The cookie names in effect, made on first use (whether they are `__Secure-` depends on
    /// the URL, so a new default URL clears them). Every auth request needs them.
    cookie_names: Option<Arc<CookieNames>>,
}

impl IamConfig {
    /// The reference configuration (§0) with `secret`, public URL `public_url` and the other
    /// settings at their defaults; for tests and embedding.
    pub fn new(secret: impl Into<String>, public_url: impl Into<String>) -> Self {
        let secret: String = secret.into();
        Self {
            base_path: "/api/v1/auth".to_string(),
            public_url: RwLock::new(PublicUrl {
                url: public_url.into().trim_end_matches('/').to_string(),
                explicit: true,
                cookie_names: None,
            }),
            secrets: SecretConfig::Single(Secret::new(secret.clone())),
            secret: Secret::new(secret),
            session_expires_in: Duration::from_secs(30 * 86_400),
            session_update_age: Duration::from_secs(86_400),
            session_fresh_age: Duration::from_secs(86_400),
            dont_remember_expires_in: Duration::from_secs(86_400),
            disable_session_refresh: false,
            cookie_cache_max_age: None,
            cookie_prefix: "better-auth".to_string(),
            secure_cookies: None,
            trusted_origins: Vec::new(),
            min_password_length: 8,
            max_password_length: 128,
            email_verification_expires_in: Duration::from_secs(3600),
            send_verification_on_sign_up: true,
            reset_password_expires_in: Duration::from_secs(3600),
            revoke_sessions_on_password_reset: false,
            change_email_enabled: true,
            delete_user_enabled: true,
            delete_token_expires_in: Duration::from_secs(86_400),
            identifier_storage: IdentifierStorage::Hashed,
            organization: OrganizationConfig::default(),
            api_keys: crate::services::ApiKeySettings::default(),
            rate_limit: RateLimitConfig::default(),
            plugins: crate::plugins::PluginsConfig::default(),
        }
    }

    /// Reads the configuration. `get` returns a variable's value (blank counts as unset).
    /// `fallback_secret` is used when neither `BETTER_AUTH_SECRETS` nor `BETTER_AUTH_SECRET`
    /// is set (the runtime's generated development secret); without either, the secret is
    /// missing. The public URL defaults to `http://<APP_API_HOST>:<APP_API_PORT>` until the
    /// runtime reports the real listen address with [`IamConfig::set_default_public_url`].
    pub fn from_vars(
        get: &dyn Fn(&str) -> Option<String>,
        fallback_secret: Option<&str>,
    ) -> Result<IamConfig, IamConfigError> {
        let vars = Vars::new(get);
        let var = |name: &str| vars.get(name);
        let rotation = var("BETTER_AUTH_SECRETS")
            .map(|list| rotated_secrets(&list))
            .transpose()?;
        let secret = match (&rotation, var("BETTER_AUTH_SECRET")) {
            (Some(keys), _) => keys[0].1.clone(),
            (None, Some(secret)) => secret,
            (None, None) => match fallback_secret {
                Some(secret) => secret.to_string(),
                None => {
                    return Err(IamConfigError::Missing {
                        var: "BETTER_AUTH_SECRET",
                        hint: "at least 32 random characters, e.g. `openssl rand -hex 32`",
                    })
                }
            },
        };
        if secret.len() < 32 {
            return Err(IamConfigError::Invalid {
                var: "BETTER_AUTH_SECRET",
                value: "***".into(),
                expected: "at least 32 characters (e.g. `openssl rand -hex 32`)".into(),
            });
        }

        let (public_url, explicit) = match ["BETTER_AUTH_URL", "APP_AUTH_URL", "APP_PUBLIC_URL"]
            .into_iter()
            .find_map(|name| var(name).map(|v| (name, v)))
        {
            Some((name, value)) => (parse_public_url(name, &value)?, true),
            None => (
                format!(
                    "http://{}:{}",
                    var("APP_API_HOST").unwrap_or_else(|| "127.0.0.1".into()),
                    var("APP_API_PORT").unwrap_or_else(|| "8080".into())
                ),
                false,
            ),
        };

        let base_path = match var("IAM_AUTH_BASE_PATH") {
            Some(path) => parse_base_path(&path)?,
            None => "/api/v1/auth".to_string(),
        };

        let mut trusted_origins = Vec::new();
        for name in ["SECURITY_TRUSTED_ORIGINS", "BETTER_AUTH_TRUSTED_ORIGINS"] {
            if let Some(list) = var(name) {
                for origin in parse_origins(name, &list)? {
                    if !trusted_origins.contains(&origin) {
                        trusted_origins.push(origin);
                    }
                }
            }
        }

        let secs = |name: &'static str, default: u64, min: u64| {
            vars.secs(name, default, min..=10 * 365 * 86_400)
        };
        let flag = |name: &'static str, default: bool| vars.flag(name, default);

        let session_expires_in = secs("IAM_SESSION_EXPIRES_IN_SECS", 30 * 86_400, 60)?;
        let session_update_age = secs("IAM_SESSION_UPDATE_AGE_SECS", 86_400, 0)?;
        if session_update_age > session_expires_in {
            return Err(IamConfigError::Invalid {
                var: "IAM_SESSION_UPDATE_AGE_SECS",
                value: session_update_age.as_secs().to_string(),
                expected: format!(
                    "at most IAM_SESSION_EXPIRES_IN_SECS ({})",
                    session_expires_in.as_secs()
                ),
            });
        }
        let cookie_prefix = match var("IAM_COOKIE_PREFIX") {
            None => "better-auth".to_string(),
            Some(prefix)
                if prefix.len() <= 64
                    && prefix
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
            {
                prefix
            }
            Some(other) => {
                return Err(IamConfigError::Invalid {
                    var: "IAM_COOKIE_PREFIX",
                    value: other.chars().take(80).collect(),
                    expected: "up to 64 letters, digits, `-`, `_` or `.`".into(),
                })
            }
        };
        let secure_cookies = match var("IAM_SECURE_COOKIES").as_deref() {
            None | Some("auto") => None,
            Some(_) => Some(flag("IAM_SECURE_COOKIES", false)?),
        };
        let identifier_storage = match var("IAM_VERIFICATION_IDENTIFIERS").as_deref() {
            None | Some("hashed") => IdentifierStorage::Hashed,
            Some("plain") => IdentifierStorage::Plain,
            Some(other) => {
                return Err(IamConfigError::Invalid {
                    var: "IAM_VERIFICATION_IDENTIFIERS",
                    value: other.chars().take(80).collect(),
                    expected: "hashed or plain".into(),
                })
            }
        };

        let secrets = match rotation {
            Some(keys) => SecretConfig::Rotated {
                keys: keys
                    .into_iter()
                    .map(|(version, secret)| (version, Secret::new(secret)))
                    .collect(),
                legacy: var("BETTER_AUTH_SECRET").map(Secret::new),
            },
            None => SecretConfig::Single(Secret::new(secret.clone())),
        };
        Ok(IamConfig {
            secrets,
            base_path,
            public_url: RwLock::new(PublicUrl {
                url: public_url,
                explicit,
                cookie_names: None,
            }),
            secret: Secret::new(secret),
            session_expires_in,
            session_update_age,
            session_fresh_age: secs("IAM_SESSION_FRESH_AGE_SECS", 86_400, 0)?,
            dont_remember_expires_in: Duration::from_secs(86_400),
            disable_session_refresh: flag("IAM_DISABLE_SESSION_REFRESH", false)?,
            cookie_cache_max_age: {
                // Validated even while the cache is off, so a typo is caught before it matters.
                let max_age = secs("IAM_COOKIE_CACHE_MAX_AGE_SECS", 300, 1)?;
                flag("IAM_COOKIE_CACHE_ENABLED", false)?.then_some(max_age)
            },
            cookie_prefix,
            secure_cookies,
            trusted_origins,
            min_password_length: 8,
            max_password_length: 128,
            email_verification_expires_in: secs(
                "IAM_EMAIL_VERIFICATION_EXPIRES_IN_SECS",
                3600,
                60,
            )?,
            send_verification_on_sign_up: flag("IAM_SEND_VERIFICATION_ON_SIGN_UP", true)?,
            reset_password_expires_in: secs("IAM_RESET_PASSWORD_EXPIRES_IN_SECS", 3600, 60)?,
            revoke_sessions_on_password_reset: flag(
                "IAM_REVOKE_SESSIONS_ON_PASSWORD_RESET",
                false,
            )?,
            change_email_enabled: flag("IAM_CHANGE_EMAIL_ENABLED", true)?,
            delete_user_enabled: flag("IAM_DELETE_USER_ENABLED", true)?,
            delete_token_expires_in: Duration::from_secs(86_400),
            identifier_storage,
            organization: OrganizationConfig::from_vars(vars)?,
            api_keys: api_keys::api_key_settings(vars)?,
            rate_limit: RateLimitConfig::from_vars(vars)?,
            plugins: crate::plugins::PluginsConfig::from_vars(vars)?,
        })
    }

    /// The secret signing cookies, bearer tokens and JWTs.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The secrets of encryption at rest (every rotated version, and the legacy one).
    pub fn secret_config(&self) -> &SecretConfig {
        &self.secrets
    }

    /// The public URL (origin, optionally with a path prefix), without a trailing `/`.
    pub fn public_url(&self) -> String {
        self.public_url
            .read()
            .map(|p| p.url.clone())
            .unwrap_or_else(|p| p.into_inner().url.clone())
    }

    /// The runtime's listen address (`http://127.0.0.1:4000`), known once the listener is
    /// bound. Used as the public URL unless one was configured.
    pub fn set_default_public_url(&self, url: &str) {
        let mut guard = self.public_url.write().unwrap_or_else(|p| p.into_inner());
        if !guard.explicit {
            guard.url = url.trim_end_matches('/').to_string();
            guard.cookie_names = None;
        }
    }

    /// The cookie names in effect ([`CookieNames::for_config`]), made once per public URL.
    pub fn cookie_names(&self) -> Arc<CookieNames> {
        let cached = self
            .public_url
            .read()
            .map(|p| p.cookie_names.clone())
            .unwrap_or_else(|p| p.into_inner().cookie_names.clone());
        if let Some(names) = cached {
            return names;
        }
        let names = Arc::new(CookieNames::for_config(self));
        let mut guard = self.public_url.write().unwrap_or_else(|p| p.into_inner());
        guard.cookie_names = Some(Arc::clone(&names));
        names
    }

    /// `<public URL><base path>`: better-auth's `baseURL`, the prefix of every email link.
    pub fn auth_url(&self) -> String {
        let public = self.public_url();
        if public.ends_with(&self.base_path) {
            public
        } else {
            format!("{public}{}", self.base_path)
        }
    }

    /// The public URL's origin (`scheme://host[:port]`).
    pub fn public_origin(&self) -> String {
        origin_of(&self.public_url()).unwrap_or_else(|| self.public_url())
    }

    /// Whether cookies get the `__Secure-` prefix and the `Secure` attribute (§2.2).
    pub fn use_secure_cookies(&self) -> bool {
        self.secure_cookies
            .unwrap_or_else(|| self.public_url().starts_with("https://"))
    }
}

/// The origin of an absolute http(s) URL, `None` otherwise.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// `2:new,1:old` → `[(2, new), (1, old)]` (newest first; never empty).
fn rotated_secrets(list: &str) -> Result<Vec<(u32, String)>, IamConfigError> {
    let invalid = || IamConfigError::Invalid {
        var: "BETTER_AUTH_SECRETS",
        value: "***".into(),
        expected:
            "a comma-separated list of `<version>:<secret>`, newest first, e.g. `2:new,1:old`"
                .into(),
    };
    let mut keys = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (version, secret) = entry.split_once(':').ok_or_else(invalid)?;
        let version = version.trim().parse::<u32>().map_err(|_| invalid())?;
        if secret.is_empty() || keys.iter().any(|(v, _)| *v == version) {
            return Err(invalid());
        }
        keys.push((version, secret.to_string()));
    }
    if keys.is_empty() {
        return Err(invalid());
    }
    Ok(keys)
}

fn parse_public_url(var: &'static str, value: &str) -> Result<String, IamConfigError> {
    match url::Url::parse(value) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.query().is_none()
                && url.fragment().is_none() =>
        {
            Ok(value.trim_end_matches('/').to_string())
        }
        _ => Err(IamConfigError::Invalid {
            var,
            value: value.chars().take(120).collect(),
            expected: "an http(s) URL such as https://api.example.com".into(),
        }),
    }
}

fn parse_base_path(path: &str) -> Result<String, IamConfigError> {
    let trimmed = path.trim_end_matches('/');
    let valid = trimmed.starts_with('/')
        && trimmed.len() > 1
        && !trimmed.contains("//")
        && trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c));
    if valid {
        Ok(trimmed.to_string())
    } else {
        Err(IamConfigError::Invalid {
            var: "IAM_AUTH_BASE_PATH",
            value: path.chars().take(120).collect(),
            expected: "a path such as /api/v1/auth".into(),
        })
    }
}

/// Comma-separated origins; `*` wildcards are kept as patterns, other entries are reduced to
/// their origin.
fn parse_origins(var: &'static str, list: &str) -> Result<Vec<String>, IamConfigError> {
    let mut origins = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let origin = if item.contains('*') {
            item.trim_end_matches('/').to_string()
        } else {
            origin_of(item).ok_or_else(|| IamConfigError::Invalid {
                var,
                value: item.chars().take(120).collect(),
                expected: "comma-separated URLs such as https://app.example.com (wildcards: https://*.example.com)".into(),
            })?
        };
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

/// The variable lookup of the configuration unit tests: `name=value` pairs instead of the
/// process environment.
#[cfg(test)]
pub(crate) fn test_lookup<'p>(
    pairs: &'p [(&'p str, &'p str)],
) -> impl Fn(&str) -> Option<String> + 'p {
    move |name| {
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn read(vars: &[(&str, &str)]) -> Result<IamConfig, IamConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        IamConfig::from_vars(&|name| map.get(name).cloned(), None)
    }

    #[test]
    fn defaults_follow_the_reference_configuration() {
        let config = read(&[("BETTER_AUTH_SECRET", SECRET)]).expect("config");
        assert_eq!(config.base_path, "/api/v1/auth");
        assert_eq!(config.public_url(), "http://127.0.0.1:8080");
        assert_eq!(config.auth_url(), "http://127.0.0.1:8080/api/v1/auth");
        assert_eq!(config.session_expires_in, Duration::from_secs(30 * 86_400));
        assert_eq!(config.session_update_age, Duration::from_secs(86_400));
        assert!(!config.use_secure_cookies());
        // The runtime's listen address replaces the guess.
        config.set_default_public_url("http://127.0.0.1:41234/");
        assert_eq!(config.public_origin(), "http://127.0.0.1:41234");
        assert!(!format!("{config:?}").contains(SECRET));
    }

    #[test]
    fn an_explicit_url_wins_and_turns_on_secure_cookies() {
        let config = read(&[
            ("BETTER_AUTH_SECRET", SECRET),
            ("APP_PUBLIC_URL", "https://api.example.com"),
            (
                "SECURITY_TRUSTED_ORIGINS",
                "https://app.example.com/path, https://*.example.org",
            ),
        ])
        .expect("config");
        config.set_default_public_url("http://127.0.0.1:9999");
        assert_eq!(config.public_url(), "https://api.example.com");
        assert!(config.use_secure_cookies());
        assert_eq!(
            config.trusted_origins,
            vec![
                "https://app.example.com".to_string(),
                "https://*.example.org".to_string()
            ]
        );
        let config = read(&[
            ("BETTER_AUTH_SECRET", SECRET),
            ("BETTER_AUTH_URL", "http://localhost:3000"),
            ("APP_PUBLIC_URL", "https://api.example.com"),
        ])
        .expect("config");
        assert_eq!(config.public_url(), "http://localhost:3000");
    }

    #[test]
    fn errors_name_the_variable() {
        for (vars, var) in [
            (vec![], "BETTER_AUTH_SECRET"),
            (vec![("BETTER_AUTH_SECRET", "short")], "BETTER_AUTH_SECRET"),
            (
                vec![
                    ("BETTER_AUTH_SECRET", SECRET),
                    ("BETTER_AUTH_URL", "ftp://x"),
                ],
                "BETTER_AUTH_URL",
            ),
            (
                vec![
                    ("BETTER_AUTH_SECRET", SECRET),
                    ("IAM_AUTH_BASE_PATH", "api"),
                ],
                "IAM_AUTH_BASE_PATH",
            ),
            (
                vec![
                    ("BETTER_AUTH_SECRET", SECRET),
                    ("IAM_SESSION_EXPIRES_IN_SECS", "soon"),
                ],
                "IAM_SESSION_EXPIRES_IN_SECS",
            ),
            (
                vec![
                    ("BETTER_AUTH_SECRET", SECRET),
                    ("IAM_SESSION_UPDATE_AGE_SECS", "999999999"),
                ],
                "IAM_SESSION_UPDATE_AGE_SECS",
            ),
            (
                vec![
                    ("BETTER_AUTH_SECRET", SECRET),
                    ("SECURITY_TRUSTED_ORIGINS", "not a url"),
                ],
                "SECURITY_TRUSTED_ORIGINS",
            ),
            (
                vec![
                    ("BETTER_AUTH_SECRET", SECRET),
                    ("IAM_SECURE_COOKIES", "maybe"),
                ],
                "IAM_SECURE_COOKIES",
            ),
            (vec![("BETTER_AUTH_SECRETS", "nope")], "BETTER_AUTH_SECRETS"),
        ] {
            let err = read(&vars).expect_err("refused");
            assert!(err.to_string().contains(var), "{err} should name {var}");
            assert!(!err.to_string().contains(SECRET));
        }
    }

    #[test]
    fn the_rate_limiter_is_on_in_production_and_validated() {
        let dev = read(&[("BETTER_AUTH_SECRET", SECRET)]).expect("config");
        assert_eq!(dev.rate_limit, RateLimitConfig::default());
        assert!(!dev.rate_limit.enabled);
        for env in ["prod", "production"] {
            let prod = read(&[("BETTER_AUTH_SECRET", SECRET), ("APP_ENV", env)]).expect("config");
            assert!(prod.rate_limit.enabled, "{env}");
        }
        let staging =
            read(&[("BETTER_AUTH_SECRET", SECRET), ("APP_ENV", "staging")]).expect("config");
        assert!(!staging.rate_limit.enabled);
        assert_eq!(staging.rate_limit.storage, RateLimitStorage::Memory);
        let several_instances = read(&[
            ("BETTER_AUTH_SECRET", SECRET),
            ("DATABASE_URL", "postgres://app@db:5432/app"),
        ])
        .expect("config");
        assert_eq!(
            several_instances.rate_limit.storage,
            RateLimitStorage::Database,
            "PostgreSQL: the limits are counted together by every instance"
        );
        let pinned = read(&[
            ("BETTER_AUTH_SECRET", SECRET),
            ("DATABASE_URL", "postgresql://app@db:5432/app"),
            ("IAM_RATE_LIMIT_STORAGE", "memory"),
        ])
        .expect("config");
        assert_eq!(pinned.rate_limit.storage, RateLimitStorage::Memory);
        let custom = read(&[
            ("BETTER_AUTH_SECRET", SECRET),
            ("APP_ENV", "prod"),
            ("IAM_RATE_LIMIT_ENABLED", "false"),
            ("IAM_RATE_LIMIT_STORAGE", "database"),
            ("IAM_RATE_LIMIT_WINDOW_SECS", "60"),
            ("IAM_RATE_LIMIT_MAX", "5"),
            ("IAM_RATE_LIMIT_IP_HEADER", "X-Real-IP"),
        ])
        .expect("config");
        assert_eq!(
            custom.rate_limit,
            RateLimitConfig {
                enabled: false,
                storage: RateLimitStorage::Database,
                window: Duration::from_secs(60),
                max: 5,
                ip_header: "x-real-ip".into(),
            }
        );
        for (var, value) in [
            ("IAM_RATE_LIMIT_ENABLED", "sometimes"),
            ("IAM_RATE_LIMIT_STORAGE", "redis"),
            ("IAM_RATE_LIMIT_WINDOW_SECS", "0"),
            ("IAM_RATE_LIMIT_MAX", "-3"),
            ("IAM_RATE_LIMIT_IP_HEADER", "bad header"),
        ] {
            let err = read(&[("BETTER_AUTH_SECRET", SECRET), (var, value)]).expect_err(var);
            assert!(err.to_string().contains(var), "{err} should name {var}");
        }
    }

    #[test]
    fn rotation_lists_sign_with_the_first_secret() {
        let config = read(&[(
            "BETTER_AUTH_SECRETS",
            "2:new-secret-new-secret-new-secret-1,1:old-secret-old-secret-old-secret-1",
        )])
        .expect("config");
        assert_eq!(
            config.secret(),
            &Secret::new("new-secret-new-secret-new-secret-1")
        );
    }
}

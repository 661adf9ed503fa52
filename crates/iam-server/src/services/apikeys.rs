//! `ApiKeyService`: the API-key plugin's operations (`specs/better-auth-api.md` §8) — create
//! (the plain key is returned once; only its SHA-256 is stored), get, list, update, delete, and
//! the validation of a presented key (§8.4) with its usage accounting (§8.5), which both the
//! `x-api-key` hook of the auth API and the runtime's `AuthContextResolver` use.
//!
//! A key acts in one organization: `iam_apikey.organization_id`, the creator's active
//! organization when the key was created. Its caller gets a synthetic session (never stored)
//! whose active organization is that one, provided the owner is still an active member of it;
//! otherwise the caller has no organization. Keys are managed (get/list/update/delete) in the
//! organization they act in, like every org-scoped row.
//!
//! Expired keys are deleted opportunistically, at most once per 10 s, when keys are created,
//! read, listed, updated, deleted or used.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Value};
use shared_server::entities::{
    Audit, Organization, OrganizationId, Session, SessionId, User, UserId,
};
use shared_server::repos::{OrganizationRepo, UserRepo};
use shared_server::{Clock, Db, RepoError, Timestamp};

use crate::config::IamConfig;
use crate::entities::{
    ApiKey, ApiKeyId, ApiKeyPatch, MemberStatus, NewApiKey, DEFAULT_RATE_LIMIT_MAX,
    DEFAULT_RATE_LIMIT_TIME_WINDOW_MS,
};
use crate::error::{ErrorCode, IamError};
use crate::js::truthy;
use crate::repos::{ApiKeyListQuery, ApiKeyRepo, MemberRepo};
use crate::services::auth::ClientInfo;
use crate::services::tokens;

/// The header carrying an API key (§8.6).
pub const API_KEY_HEADER: &str = "x-api-key";
/// `configId` of every key (one configuration).
pub const CONFIG_ID: &str = "default";
/// `source` of key rows and of the synthetic sessions of API-key callers.
const API_KEY_SOURCE: &str = "api-key";
/// Characters of the plain key kept in `start`.
const START_CHARS: usize = 6;
/// Expired keys are swept at most this often.
const CLEANUP_EVERY_MS: i64 = 10_000;
/// Guarded uses retried when a key's limits change under them.
const USE_ATTEMPTS: usize = 5;

/// The plugin options of this deployment (better-auth's defaults, §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySettings {
    /// The per-key rate limiter (`rateLimit.enabled`).
    pub rate_limit_enabled: bool,
    pub default_rate_limit_time_window_ms: i64,
    pub default_rate_limit_max: i32,
    pub min_expires_in_days: u32,
    pub max_expires_in_days: u32,
    pub name_length: (usize, usize),
    pub prefix_length: (usize, usize),
    pub enable_metadata: bool,
    pub require_name: bool,
    pub default_prefix: Option<String>,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        Self {
            rate_limit_enabled: true,
            default_rate_limit_time_window_ms: DEFAULT_RATE_LIMIT_TIME_WINDOW_MS,
            default_rate_limit_max: DEFAULT_RATE_LIMIT_MAX,
            min_expires_in_days: 1,
            max_expires_in_days: 365,
            name_length: (1, 32),
            prefix_length: (1, 32),
            enable_metadata: false,
            require_name: false,
            default_prefix: None,
        }
    }
}

/// What `create` takes. The fields after `metadata` are server-only: the HTTP API refuses them
/// (400 `SERVER_ONLY_PROPERTY`); Rust callers may set them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateApiKey {
    pub name: Option<String>,
    /// Seconds (fractions allowed, as JSON numbers); `None` never expires.
    pub expires_in: Option<f64>,
    pub prefix: Option<String>,
    pub metadata: Option<Value>,
    pub remaining: Option<i32>,
    pub refill_amount: Option<i32>,
    /// Milliseconds.
    pub refill_interval: Option<i32>,
    pub rate_limit_enabled: Option<bool>,
    /// Milliseconds.
    pub rate_limit_time_window: Option<i64>,
    pub rate_limit_max: Option<i32>,
    /// `{resource: [actions]}`.
    pub permissions: Option<Value>,
}

/// What `update` takes (unset fields are kept). `expires_in: Some(None)` removes the expiry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateApiKey {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub expires_in: Option<Option<f64>>,
    pub metadata: Option<Value>,
    pub remaining: Option<i32>,
    pub refill_amount: Option<i32>,
    pub refill_interval: Option<i32>,
    pub rate_limit_enabled: Option<bool>,
    pub rate_limit_time_window: Option<i64>,
    pub rate_limit_max: Option<i32>,
    pub permissions: Option<Option<Value>>,
}

/// The caller behind a valid key: its owner, the synthetic session and the organization the
/// key acts in (`None` when the owner is no longer an active member of it).
#[derive(Clone)]
pub struct ApiKeyCaller {
    pub key: ApiKey,
    pub user: User,
    pub session: Session,
    pub organization: Option<Organization>,
}

impl std::fmt::Debug for ApiKeyCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyCaller")
            .field("key_id", &self.key.id)
            .field("user_id", &self.user.id)
            .field("organization", &self.organization.as_ref().map(|o| &o.id))
            .finish_non_exhaustive()
    }
}

/// The API-key operations (see the module documentation).
pub struct ApiKeyService {
    db: Db,
    clock: Arc<dyn Clock>,
    config: Arc<IamConfig>,
    settings: ApiKeySettings,
    keys: ApiKeyRepo,
    users: UserRepo,
    orgs: OrganizationRepo,
    members: MemberRepo,
    last_cleanup_ms: AtomicI64,
}

impl std::fmt::Debug for ApiKeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// `base64url_nopad(SHA-256(plain key))`: the stored form of a key (§8.1).
pub fn hash_key(plain: &str) -> String {
    tokens::sha256_base64url(plain)
}

fn api(status: StatusCode, code: ErrorCode) -> IamError {
    IamError::api(status, code)
}

fn not_found() -> IamError {
    api(StatusCode::NOT_FOUND, ErrorCode::KeyNotFound)
}

impl ApiKeyService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        config: Arc<IamConfig>,
        settings: ApiKeySettings,
        keys: ApiKeyRepo,
        users: UserRepo,
        orgs: OrganizationRepo,
        members: MemberRepo,
    ) -> Self {
        Self {
            db,
            clock,
            config,
            settings,
            keys,
            users,
            orgs,
            members,
            last_cleanup_ms: AtomicI64::new(i64::MIN),
        }
    }

    pub fn settings(&self) -> &ApiKeySettings {
        &self.settings
    }

    pub fn repo(&self) -> &ApiKeyRepo {
        &self.keys
    }

    /// Deletes expired keys unless that ran less than 10 s ago.
    pub async fn delete_expired_if_due(&self) {
        let now = self.clock.now();
        let now_ms = now.unix_millis();
        let last = self.last_cleanup_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < CLEANUP_EVERY_MS {
            return;
        }
        if self
            .last_cleanup_ms
            .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        match self.keys.delete_expired(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired API keys deleted"),
            Err(error) => tracing::warn!(%error, "deleting expired API keys failed"),
        }
    }

    fn expires_at(&self, seconds: f64) -> Result<Timestamp, IamError> {
        let days = seconds / 86_400.0;
        if days < f64::from(self.settings.min_expires_in_days) {
            return Err(IamError::bad_request(ErrorCode::ExpiresInIsTooSmall));
        }
        if days > f64::from(self.settings.max_expires_in_days) {
            return Err(IamError::bad_request(ErrorCode::ExpiresInIsTooLarge));
        }
        Ok(self
            .clock
            .now()
            .plus(Duration::from_millis((seconds * 1000.0).round() as u64)))
    }

    fn check_name(&self, name: &str) -> Result<(), IamError> {
        let len = name.encode_utf16().count();
        let (min, max) = self.settings.name_length;
        if len < min || len > max {
            return Err(IamError::bad_request(ErrorCode::InvalidNameLength));
        }
        Ok(())
    }

    fn check_metadata(&self, metadata: &Value) -> Result<(), IamError> {
        if !self.settings.enable_metadata {
            return Err(IamError::bad_request(ErrorCode::MetadataDisabled));
        }
        if !metadata.is_object() {
            return Err(IamError::bad_request(ErrorCode::InvalidMetadataType));
        }
        Ok(())
    }

    /// Creates a key for `user` acting in `org`; returns the row and the plain key (shown only
    /// now). Errors are §8.3's 400s.
    pub async fn create(
        &self,
        user: &User,
        org: &OrganizationId,
        input: CreateApiKey,
    ) -> Result<(ApiKey, String), IamError> {
        let metadata = input.metadata.filter(truthy);
        if let Some(metadata) = &metadata {
            self.check_metadata(metadata)?;
        }
        let refill_amount = input.refill_amount.filter(|a| *a != 0);
        let refill_interval = input.refill_interval.filter(|i| *i != 0);
        match (refill_amount, refill_interval) {
            (Some(_), None) => {
                return Err(IamError::bad_request(
                    ErrorCode::RefillAmountAndIntervalRequired,
                ))
            }
            (None, Some(_)) => {
                return Err(IamError::bad_request(
                    ErrorCode::RefillIntervalAndAmountRequired,
                ))
            }
            _ => {}
        }
        if refill_amount.is_some_and(|a| a < 1) || refill_interval.is_some_and(|i| i < 1) {
            return Err(IamError::bad_request(ErrorCode::InvalidRemaining));
        }
        if input.remaining.is_some_and(|r| r < 0) {
            return Err(IamError::bad_request(ErrorCode::InvalidRemaining));
        }
        let expires_at = match input.expires_in.filter(|s| *s != 0.0) {
            Some(seconds) => Some(self.expires_at(seconds)?),
            None => None,
        };
        let prefix = input
            .prefix
            .filter(|p| !p.is_empty())
            .or_else(|| self.settings.default_prefix.clone());
        if let Some(prefix) = &prefix {
            if !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(IamError::validation(
                    "[body.prefix] Invalid prefix format, must be alphanumeric and contain only underscores and hyphens.",
                ));
            }
            let (min, max) = self.settings.prefix_length;
            if prefix.len() < min || prefix.len() > max {
                return Err(IamError::bad_request(ErrorCode::InvalidPrefixLength));
            }
        }
        match input.name.as_deref() {
            Some(name) if !name.is_empty() => self.check_name(name)?,
            _ if self.settings.require_name => {
                return Err(IamError::bad_request(ErrorCode::NameRequired))
            }
            _ => {}
        }
        let window = input
            .rate_limit_time_window
            .unwrap_or(self.settings.default_rate_limit_time_window_ms);
        let max = input
            .rate_limit_max
            .unwrap_or(self.settings.default_rate_limit_max);
        if window <= 0 || max <= 0 {
            return Err(IamError::validation(
                "[body.rateLimitTimeWindow] rateLimitTimeWindow and rateLimitMax must be positive",
            ));
        }
        self.delete_expired_if_due().await;

        let plain = format!(
            "{}{}",
            prefix.as_deref().unwrap_or_default(),
            tokens::new_api_key_secret()?
        );
        let new = NewApiKey {
            user_id: user.id.clone(),
            name: input.name,
            start: Some(plain.chars().take(START_CHARS).collect()),
            prefix,
            key: hash_key(&plain),
            enabled: true,
            rate_limit_enabled: input
                .rate_limit_enabled
                .unwrap_or(self.settings.rate_limit_enabled),
            rate_limit_time_window: window,
            rate_limit_max: max,
            remaining: input.remaining.or(refill_amount),
            refill_interval,
            refill_amount,
            expires_at,
            permissions: input.permissions.map(|p| p.to_string()),
            metadata: metadata.map(|m| m.to_string()),
            source: Some(API_KEY_SOURCE.to_string()),
        };
        let key = self
            .keys
            .insert(&self.db, org, new, user.id.as_str())
            .await?;
        tracing::info!(user.id = %user.id, org.id = %org, apikey.id = %key.id, "API key created");
        Ok((key, plain))
    }

    /// The user's key `id` in `org`, or 404 `KEY_NOT_FOUND` (also for another user's key).
    pub async fn get(
        &self,
        user: &UserId,
        org: Option<&OrganizationId>,
        id: &str,
    ) -> Result<ApiKey, IamError> {
        let (Some(org), Ok(id)) = (org, ApiKeyId::parse(id)) else {
            return Err(not_found());
        };
        let key = self.keys.find_by_id(&self.db, org, &id).await?;
        let key = key.filter(|k| &k.user_id == user).ok_or_else(not_found)?;
        self.delete_expired_if_due().await;
        Ok(key)
    }

    /// The user's keys in `org` (none without an organization) and their total.
    pub async fn list(
        &self,
        user: &UserId,
        org: Option<&OrganizationId>,
        query: ApiKeyListQuery,
    ) -> Result<(Vec<ApiKey>, u64), IamError> {
        let Some(org) = org else {
            return Ok((Vec::new(), 0));
        };
        let keys = self.keys.list_by_user(&self.db, org, user, query).await?;
        let total = self.keys.count_by_user(org, user).await?;
        self.delete_expired_if_due().await;
        Ok((keys, total))
    }

    /// Applies `input` to the user's key `id`: 404 `KEY_NOT_FOUND`, 400 for invalid values,
    /// 400 `NO_VALUES_TO_UPDATE` when nothing would change.
    pub async fn update(
        &self,
        user: &UserId,
        org: Option<&OrganizationId>,
        id: &str,
        input: UpdateApiKey,
    ) -> Result<ApiKey, IamError> {
        let key = self.get(user, org, id).await?;
        let mut patch = ApiKeyPatch::default();
        if let Some(name) = input.name {
            self.check_name(&name)?;
            patch.name = Some(Some(name));
        }
        patch.enabled = input.enabled;
        if let Some(expires_in) = input.expires_in {
            patch.expires_at = Some(match expires_in.filter(|s| *s != 0.0) {
                Some(seconds) => Some(self.expires_at(seconds)?),
                None => None,
            });
        }
        if let Some(metadata) = input.metadata {
            // Ignored while metadata is disabled, as in the plugin.
            if self.settings.enable_metadata {
                if !metadata.is_object() {
                    return Err(IamError::bad_request(ErrorCode::InvalidMetadataType));
                }
                patch.metadata = Some(Some(metadata.to_string()));
            }
        }
        if let Some(remaining) = input.remaining {
            if remaining < 0 {
                return Err(IamError::bad_request(ErrorCode::InvalidRemaining));
            }
            patch.remaining = Some(Some(remaining));
        }
        match (input.refill_amount, input.refill_interval) {
            (Some(_), None) => {
                return Err(IamError::bad_request(
                    ErrorCode::RefillAmountAndIntervalRequired,
                ))
            }
            (None, Some(_)) => {
                return Err(IamError::bad_request(
                    ErrorCode::RefillIntervalAndAmountRequired,
                ))
            }
            (Some(amount), Some(interval)) => {
                if amount < 1 || interval < 1 {
                    return Err(IamError::bad_request(ErrorCode::InvalidRemaining));
                }
                patch.refill_amount = Some(Some(amount));
                patch.refill_interval = Some(Some(interval));
            }
            (None, None) => {}
        }
        patch.rate_limit_enabled = input.rate_limit_enabled;
        patch.rate_limit_time_window = input.rate_limit_time_window;
        patch.rate_limit_max = input.rate_limit_max;
        if input.rate_limit_time_window.is_some_and(|w| w <= 0)
            || input.rate_limit_max.is_some_and(|m| m <= 0)
        {
            return Err(IamError::validation(
                "[body.rateLimitTimeWindow] rateLimitTimeWindow and rateLimitMax must be positive",
            ));
        }
        if let Some(permissions) = input.permissions {
            patch.permissions = Some(permissions.map(|p| p.to_string()));
        }
        if patch.is_empty() {
            return Err(IamError::bad_request(ErrorCode::NoValuesToUpdate));
        }
        let org = key.organization_id.clone();
        let mut current = key;
        for _ in 0..3 {
            match self
                .keys
                .update(
                    &self.db,
                    &org,
                    &current.id,
                    current.audit.version,
                    patch.clone(),
                    user.as_str(),
                )
                .await
            {
                Ok(updated) => {
                    self.delete_expired_if_due().await;
                    return Ok(updated);
                }
                // Uses bump `updated_at` only; a concurrent settings update bumps the version.
                Err(RepoError::VersionConflict { .. }) => {
                    current = self
                        .keys
                        .find_by_id(&self.db, &org, &current.id)
                        .await?
                        .ok_or_else(not_found)?;
                }
                Err(RepoError::NotFound { .. }) => return Err(not_found()),
                Err(RepoError::Invalid { .. }) => {
                    return Err(IamError::bad_request(ErrorCode::FailedToUpdateApiKey))
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(IamError::api(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::FailedToUpdateApiKey,
        ))
    }

    /// Deletes the user's key `id`: 404 `KEY_NOT_FOUND`; a banned user → 401 `USER_BANNED`.
    pub async fn delete(
        &self,
        user: &User,
        org: Option<&OrganizationId>,
        id: &str,
    ) -> Result<(), IamError> {
        if user.banned {
            return Err(IamError::unauthorized(ErrorCode::UserBanned));
        }
        let key = self.get(&user.id, org, id).await?;
        match self
            .keys
            .hard_delete(&self.db, &key.organization_id, &key.id)
            .await
        {
            Ok(()) => {}
            Err(RepoError::NotFound { .. }) => return Err(not_found()),
            Err(other) => return Err(other.into()),
        }
        tracing::info!(user.id = %user.id, apikey.id = %key.id, "API key deleted");
        self.delete_expired_if_due().await;
        Ok(())
    }

    /// Validates a presented key and spends one use (§8.4, §8.5). Errors: 401
    /// `INVALID_API_KEY` (unknown), 401 `KEY_DISABLED`, 401 `KEY_EXPIRED` (the key is deleted),
    /// 429 `USAGE_EXCEEDED` (deleted when it cannot refill), 429 `RATE_LIMITED` with
    /// `details.tryAgainIn`.
    pub async fn verify(&self, plain: &str) -> Result<ApiKey, IamError> {
        self.verify_with_permissions(plain, None).await
    }

    /// [`ApiKeyService::verify`] that also requires `permissions` (`{resource: [actions]}`,
    /// every action of every resource): a key without permissions, or not granting them, is
    /// 401 `KEY_NOT_FOUND` (§8.4 step 4, the server-side `verifyApiKey`).
    pub async fn verify_with_permissions(
        &self,
        plain: &str,
        permissions: Option<&Value>,
    ) -> Result<ApiKey, IamError> {
        let hash = hash_key(plain);
        let invalid = || IamError::unauthorized(ErrorCode::InvalidApiKey);
        let mut key = self
            .keys
            .find_by_key_hash(&self.db, &hash)
            .await?
            .ok_or_else(invalid)?;
        for _ in 0..USE_ATTEMPTS {
            let now = self.clock.now();
            if !key.enabled {
                return Err(IamError::unauthorized(ErrorCode::KeyDisabled));
            }
            if key.is_expired(now) {
                self.keys.delete_by_id(&key.id).await?;
                tracing::info!(apikey.id = %key.id, "expired API key presented and deleted");
                return Err(IamError::unauthorized(ErrorCode::KeyExpired));
            }
            if let Some(required) = permissions {
                let granted = key
                    .permissions
                    .as_deref()
                    .and_then(|p| serde_json::from_str::<Value>(p).ok());
                if !granted.is_some_and(|granted| grants(&granted, required)) {
                    return Err(IamError::unauthorized(ErrorCode::KeyNotFound));
                }
            }
            if key.remaining == Some(0) && key.refill_amount.is_none() {
                self.keys.delete_by_id(&key.id).await?;
                tracing::info!(apikey.id = %key.id, "exhausted API key deleted");
                return Err(api(StatusCode::TOO_MANY_REQUESTS, ErrorCode::UsageExceeded));
            }
            let limiter = self.settings.rate_limit_enabled;
            if let Some(used) = self.keys.record_use(&self.db, &key, now, limiter).await? {
                self.delete_expired_if_due().await;
                return Ok(used);
            }
            // A guard failed: read the row again and say which one.
            let fresh = self
                .keys
                .find_by_key_hash(&self.db, &hash)
                .await?
                .ok_or_else(invalid)?;
            let limits_changed = fresh.rate_limit_enabled != key.rate_limit_enabled
                || fresh.rate_limit_time_window != key.rate_limit_time_window
                || fresh.rate_limit_max != key.rate_limit_max
                || fresh.refill_interval != key.refill_interval
                || fresh.refill_amount != key.refill_amount;
            key = fresh;
            if limits_changed || !key.enabled || key.is_expired(now) {
                continue;
            }
            if key.remaining.is_some_and(|r| r <= 0) && !key.refill_due(now) {
                if key.refill_amount.is_none() {
                    continue; // deleted at the top of the loop
                }
                return Err(api(StatusCode::TOO_MANY_REQUESTS, ErrorCode::UsageExceeded));
            }
            if limiter && key.rate_limit_enabled {
                if let Some(last) = key.last_request {
                    let since = now.unix_millis() - last.unix_millis();
                    if since <= key.rate_limit_time_window
                        && key.request_count >= key.rate_limit_max
                    {
                        return Err(IamError::KeyRateLimited {
                            try_again_in_ms: key.rate_limit_time_window - since,
                        });
                    }
                }
            }
        }
        Err(IamError::api(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::FailedToUpdateApiKey,
        ))
    }

    /// The caller behind a presented key (§8.6): a key shorter than 64 characters → 403
    /// `INVALID_API_KEY` without lookup; then [`ApiKeyService::verify`]; the owner must exist
    /// (401 `INVALID_REFERENCE_ID_FROM_API_KEY`).
    pub async fn caller(&self, plain: &str, client: &ClientInfo) -> Result<ApiKeyCaller, IamError> {
        if plain.encode_utf16().count() < tokens::API_KEY_LEN {
            return Err(IamError::forbidden(ErrorCode::InvalidApiKey));
        }
        let key = self.verify(plain).await?;
        let user = self
            .users
            .find_by_id(&self.db, &key.user_id)
            .await?
            .ok_or_else(|| IamError::unauthorized(ErrorCode::InvalidReferenceIdFromApiKey))?;
        let organization = self.key_organization(&key).await?;
        let now = self.clock.now();
        // The session id carries the key's UUID under the session table's prefix (ids are
        // typed); the auth API shows the key's own id.
        let uuid = key
            .id
            .as_str()
            .strip_prefix("iam_apikey__")
            .unwrap_or_default();
        let session_id = SessionId::parse(&format!("{}__{uuid}", SessionId::TABLE))
            .map_err(|e| IamError::internal(e.to_string()))?;
        let session = Session {
            row_id: 0,
            id: session_id,
            token: plain.to_string(),
            expires_at: key
                .expires_at
                .unwrap_or_else(|| now.plus(self.config.session_expires_in)),
            user_id: user.id.clone(),
            ip_address: client.ip_address.clone(),
            user_agent: client.user_agent.clone(),
            impersonated_by: None,
            active_organization_id: organization.as_ref().map(|o| o.id.clone()),
            active_team_id: None,
            audit: Audit {
                created_at: now,
                updated_at: now,
                deleted_at: None,
                created_by: Some(user.id.as_str().to_string()),
                updated_by: Some(user.id.as_str().to_string()),
                deleted_by: None,
                version: 1,
                source: Some(API_KEY_SOURCE.to_string()),
            },
        };
        Ok(ApiKeyCaller {
            key,
            user,
            session,
            organization,
        })
    }

    /// The key's organization, if it exists and the owner is an active member of it.
    async fn key_organization(&self, key: &ApiKey) -> Result<Option<Organization>, IamError> {
        let active = self
            .members
            .find(&self.db, &key.organization_id, &key.user_id)
            .await?
            .is_some_and(|m| m.status == MemberStatus::Active);
        if !active {
            return Ok(None);
        }
        Ok(self.orgs.find_by_id(&self.db, &key.organization_id).await?)
    }
}

/// Whether the statement `granted` allows every action of every resource in `required`
/// (better-auth's `role(...).authorize(...)` with its default AND connector).
pub fn grants(granted: &Value, required: &Value) -> bool {
    let Some(required) = required.as_object() else {
        return false;
    };
    required.iter().all(|(resource, actions)| {
        let Some(allowed) = granted.get(resource).and_then(Value::as_array) else {
            return false;
        };
        match actions {
            Value::Array(actions) => actions.iter().all(|a| allowed.contains(a)),
            single @ Value::String(_) => allowed.contains(single),
            _ => false,
        }
    })
}

/// The ApiKey JSON object (§8.2); `plain` adds `key` (create only).
pub fn api_key_json(key: &ApiKey, plain: Option<&str>) -> Value {
    let parse = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null)
    };
    let mut value = json!({
        "id": key.id,
        "configId": CONFIG_ID,
        "name": key.name,
        "start": key.start,
        "prefix": key.prefix,
        "referenceId": key.user_id,
        "enabled": key.enabled,
        "expiresAt": key.expires_at,
        "createdAt": key.audit.created_at,
        "updatedAt": key.audit.updated_at,
        "lastRequest": key.last_request,
        "requestCount": key.request_count,
        "rateLimitEnabled": key.rate_limit_enabled,
        "rateLimitTimeWindow": key.rate_limit_time_window,
        "rateLimitMax": key.rate_limit_max,
        "remaining": key.remaining,
        "refillAmount": key.refill_amount,
        "refillInterval": key.refill_interval,
        "lastRefillAt": key.last_refill_at,
        "permissions": parse(&key.permissions),
        "metadata": parse(&key.metadata),
    });
    if let (Some(plain), Some(map)) = (plain, value.as_object_mut()) {
        map.insert("key".into(), Value::String(plain.to_string()));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashed_as_the_plugin_does() {
        // §8.1 test vector.
        let plain = format!("ba_{}{}", "A".repeat(32), "b".repeat(32));
        assert_eq!(
            hash_key(&plain),
            "mCt2jyByGnhked7o7rtfJmJ_tDvYgjI5UB5Z4BHvI6E"
        );
        let secret = tokens::new_api_key_secret().expect("random");
        assert_eq!(secret.len(), 64);
        assert!(secret.chars().all(|c| c.is_ascii_alphabetic()));
    }

    #[test]
    fn permission_statements_need_every_action() {
        let granted = json!({"files": ["read", "write"], "docs": ["read"]});
        assert!(grants(&granted, &json!({"files": ["read"]})));
        assert!(grants(
            &granted,
            &json!({"files": ["read", "write"], "docs": ["read"]})
        ));
        assert!(!grants(&granted, &json!({"files": ["delete"]})));
        assert!(!grants(
            &granted,
            &json!({"files": ["read"], "billing": ["read"]})
        ));
        assert!(!grants(&granted, &json!("files")));
    }
}

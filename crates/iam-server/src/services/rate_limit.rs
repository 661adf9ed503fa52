//! The auth API's rate limiter (`specs/better-auth-api.md` §6): every request under the base
//! path is counted per `<client IP>|<path>` before routing, with better-auth's rules (sign-in,
//! sign-up, change-password, change-email: 3 per 10 s; reset and verification mails: 3 per
//! 60 s; everything else: the configured window and max) and its sliding algorithm (an allowed
//! request moves the window; a burst gets exactly `max`). A denied request is answered 429 with
//! `X-Retry-After` by the HTTP layer.
//!
//! The client IP is the configured header's single value (a comma list is not trusted), else
//! the connection's peer address when the server exposes it (axum `ConnectInfo`), else the
//! shared `no-trusted-ip` bucket. IPv4-mapped IPv6 becomes IPv4; IPv6 is reduced to its /64.
//!
//! Counters live in memory (one instance; bounded, expired entries evicted) or in the database
//! (`RateLimitRepo`, several instances; rows whose window has passed are deleted at most once a
//! minute, so random paths cannot grow the table for long). A database failure lets the request
//! through (logged): the limiter must not take the auth API down with it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use shared_server::Clock;

use crate::config::{RateLimitConfig, RateLimitStorage};
use crate::repos::{RateLimitHit, RateLimitRepo};

/// Most keys the memory store holds; beyond it expired entries go first, then the oldest.
pub const MEMORY_MAX_KEYS: usize = 100_000;
/// How often the memory store drops expired entries, and the database storage deletes stale
/// rows (ms).
const MEMORY_SWEEP_EVERY_MS: i64 = 60_000;
/// The longest window of the fixed rules (reset and verification mails).
const LONGEST_FIXED_WINDOW_MS: i64 = 60_000;
/// The bucket of clients without a usable IP.
pub const NO_TRUSTED_IP: &str = "no-trusted-ip";

/// The window and max applying to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub window_ms: i64,
    pub max: u32,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Denied: `X-Retry-After: <retry_after_secs>`.
    Limited {
        retry_after_secs: i64,
    },
}

/// The rule for `path` (below the base path, trailing slashes removed), first match wins.
pub fn rule_for(config: &RateLimitConfig, path: &str) -> Rule {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| path.starts_with(p));
    // The two-factor plugin's rule (`/two-factor/*`: 3 per 10 s) covers its verifications.
    if starts(&[
        "/sign-in",
        "/sign-up",
        "/change-password",
        "/change-email",
        "/two-factor/",
    ]) {
        return Rule {
            window_ms: 10_000,
            max: 3,
        };
    }
    if matches!(
        path,
        "/request-password-reset"
            | "/send-verification-email"
            | "/email-otp/send-verification-otp"
            | "/email-otp/request-password-reset"
    ) || path.starts_with("/forget-password")
    {
        return Rule {
            window_ms: 60_000,
            max: 3,
        };
    }
    Rule {
        window_ms: i64::try_from(config.window.as_millis()).unwrap_or(i64::MAX),
        max: config.max,
    }
}

/// An address as the limiter counts it: IPv4-mapped IPv6 as IPv4, other IPv6 as its /64
/// network address.
pub fn normalize_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                Ipv6Addr::from(bits).to_string()
            }
        },
    }
}

/// The client's address: the single value of `ip_header` if it parses, else `peer`.
pub fn client_ip(headers: &HeaderMap, ip_header: &str, peer: Option<IpAddr>) -> Option<String> {
    let from_header = headers
        .get(ip_header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.contains(','))
        .and_then(|v| v.parse::<IpAddr>().ok());
    from_header.or(peer).map(normalize_ip)
}

/// The counter key `<ip>|<path>` (`no-trusted-ip|<path>` without an IP); `path` loses its
/// trailing slashes.
pub fn limit_key(ip: Option<&str>, path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let path = if trimmed.is_empty() { "/" } else { trimmed };
    format!("{}|{path}", ip.unwrap_or(NO_TRUSTED_IP))
}

/// Seconds for `X-Retry-After`: the milliseconds until a slot frees, rounded up.
fn retry_after_secs(retry_after_ms: i64) -> i64 {
    (retry_after_ms.max(0) + 999) / 1000
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u32,
    last_ms: i64,
    window_ms: i64,
}

#[derive(Debug, Default)]
struct MemoryStore {
    entries: HashMap<String, Entry>,
    last_sweep_ms: i64,
}

impl MemoryStore {
    fn hit(&mut self, key: &str, rule: Rule, now_ms: i64) -> RateLimitHit {
        if now_ms - self.last_sweep_ms >= MEMORY_SWEEP_EVERY_MS {
            self.sweep(now_ms);
        }
        if let Some(entry) = self.entries.get_mut(key) {
            if now_ms - entry.last_ms >= rule.window_ms {
                *entry = Entry {
                    count: 1,
                    last_ms: now_ms,
                    window_ms: rule.window_ms,
                };
                return RateLimitHit::Allowed;
            }
            if entry.count >= rule.max {
                return RateLimitHit::Limited {
                    retry_after_ms: entry.last_ms + rule.window_ms - now_ms,
                };
            }
            entry.count += 1;
            entry.last_ms = now_ms;
            return RateLimitHit::Allowed;
        }
        if self.entries.len() >= MEMORY_MAX_KEYS {
            self.make_room(now_ms);
        }
        self.entries.insert(
            key.to_string(),
            Entry {
                count: 1,
                last_ms: now_ms,
                window_ms: rule.window_ms,
            },
        );
        RateLimitHit::Allowed
    }

    /// Drops entries whose window has passed (they would restart at 1 anyway).
    fn sweep(&mut self, now_ms: i64) {
        self.entries.retain(|_, e| now_ms - e.last_ms < e.window_ms);
        self.last_sweep_ms = now_ms;
    }

    /// At capacity: drop expired entries, and if that is not enough, the oldest tenth.
    fn make_room(&mut self, now_ms: i64) {
        self.sweep(now_ms);
        if self.entries.len() < MEMORY_MAX_KEYS {
            return;
        }
        let mut ages: Vec<i64> = self.entries.values().map(|e| e.last_ms).collect();
        let cut = ages.len() / 10;
        let (_, threshold, _) = ages.select_nth_unstable(cut);
        let threshold = *threshold;
        self.entries.retain(|_, e| e.last_ms > threshold);
    }
}

enum Store {
    Memory(Mutex<MemoryStore>),
    Database(RateLimitRepo),
}

/// The limiter (see the module documentation).
pub struct RateLimiter {
    config: RateLimitConfig,
    clock: Arc<dyn Clock>,
    store: Store,
    /// When the database storage last deleted stale rows (epoch ms).
    last_prune_ms: AtomicI64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter for `config`; `repo` is used with database storage.
    pub fn new(config: RateLimitConfig, clock: Arc<dyn Clock>, repo: RateLimitRepo) -> Self {
        let store = match config.storage {
            RateLimitStorage::Memory => Store::Memory(Mutex::new(MemoryStore::default())),
            RateLimitStorage::Database => Store::Database(repo),
        };
        Self {
            config,
            clock,
            store,
            last_prune_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Deletes database rows whose window has passed, unless that ran less than a minute ago.
    async fn prune_if_due(&self, repo: &RateLimitRepo, now_ms: i64) {
        let last = self.last_prune_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < MEMORY_SWEEP_EVERY_MS
            || self
                .last_prune_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let longest = i64::try_from(self.config.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(LONGEST_FIXED_WINDOW_MS);
        match repo.delete_stale(now_ms.saturating_sub(longest)).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "stale rate-limit rows deleted"),
            Err(error) => tracing::warn!(%error, "deleting stale rate-limit rows failed"),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Counts a request to `path` (below the base path) from the client of `headers` / `peer`.
    pub async fn check(
        &self,
        path: &str,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> RateDecision {
        if !self.config.enabled {
            return RateDecision::Allowed;
        }
        let ip = client_ip(headers, &self.config.ip_header, peer);
        let key = limit_key(ip.as_deref(), path);
        let rule = rule_for(&self.config, path.trim_end_matches('/'));
        let now_ms = self.clock.now().unix_millis();
        let hit = match &self.store {
            Store::Memory(store) => store
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .hit(&key, rule, now_ms),
            Store::Database(repo) => {
                self.prune_if_due(repo, now_ms).await;
                match repo
                    .hit(&key, rule.window_ms, i64::from(rule.max), now_ms)
                    .await
                {
                    Ok(hit) => hit,
                    Err(error) => {
                        tracing::warn!(%error, "rate limiter storage failed; request let through");
                        RateLimitHit::Allowed
                    }
                }
            }
        };
        match hit {
            RateLimitHit::Allowed => RateDecision::Allowed,
            RateLimitHit::Limited { retry_after_ms } => {
                tracing::info!(path, "rate limited");
                RateDecision::Limited {
                    retry_after_secs: retry_after_secs(retry_after_ms),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn rules_follow_better_auth() {
        let config = RateLimitConfig::default();
        let strict = Rule {
            window_ms: 10_000,
            max: 3,
        };
        let mails = Rule {
            window_ms: 60_000,
            max: 3,
        };
        let default = Rule {
            window_ms: 10_000,
            max: 100,
        };
        assert_eq!(rule_for(&config, "/sign-in/email"), strict);
        assert_eq!(rule_for(&config, "/sign-up/email"), strict);
        assert_eq!(rule_for(&config, "/change-password"), strict);
        assert_eq!(rule_for(&config, "/change-email"), strict);
        // The plugins' sign-in and verification paths (PLUGINS.md).
        assert_eq!(rule_for(&config, "/sign-in/username"), strict);
        assert_eq!(rule_for(&config, "/two-factor/verify-totp"), strict);
        assert_eq!(rule_for(&config, "/two-factor/verify-otp"), strict);
        assert_eq!(rule_for(&config, "/two-factor/send-otp"), strict);
        assert_eq!(rule_for(&config, "/two-factor/verify-backup-code"), strict);
        assert_eq!(rule_for(&config, "/is-username-available"), default);
        assert_eq!(rule_for(&config, "/request-password-reset"), mails);
        assert_eq!(rule_for(&config, "/send-verification-email"), mails);
        assert_eq!(rule_for(&config, "/forget-password/x"), mails);
        assert_eq!(rule_for(&config, "/get-session"), default);
        assert_eq!(rule_for(&config, "/api-key/create"), default);
    }

    #[test]
    fn client_ips_are_single_values_normalised() {
        let mut h = HeaderMap::new();
        assert_eq!(client_ip(&h, "x-forwarded-for", None), None);
        let peer: IpAddr = "10.1.2.3".parse().expect("ip");
        assert_eq!(
            client_ip(&h, "x-forwarded-for", Some(peer)).as_deref(),
            Some("10.1.2.3")
        );
        h.insert("x-forwarded-for", HeaderValue::from_static(" 203.0.113.9 "));
        assert_eq!(
            client_ip(&h, "x-forwarded-for", Some(peer)).as_deref(),
            Some("203.0.113.9")
        );
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 5.6.7.8"),
        );
        assert_eq!(
            client_ip(&h, "x-forwarded-for", Some(peer)).as_deref(),
            Some("10.1.2.3"),
            "a list is not trusted"
        );
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("::ffff:1.2.3.4"),
        );
        assert_eq!(
            client_ip(&h, "x-forwarded-for", None).as_deref(),
            Some("1.2.3.4")
        );
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("2001:db8:aa:bb:1:2:3:4"),
        );
        assert_eq!(
            client_ip(&h, "x-forwarded-for", None).as_deref(),
            Some("2001:db8:aa:bb::")
        );
        h.insert("x-real-ip", HeaderValue::from_static("198.51.100.7"));
        assert_eq!(
            client_ip(&h, "x-real-ip", None).as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(limit_key(None, "/ok//"), "no-trusted-ip|/ok");
        assert_eq!(limit_key(Some("1.2.3.4"), "/ok"), "1.2.3.4|/ok");
    }

    #[test]
    fn the_memory_store_slides_and_stays_bounded() {
        let rule = Rule {
            window_ms: 10_000,
            max: 3,
        };
        let mut store = MemoryStore::default();
        for _ in 0..3 {
            assert_eq!(store.hit("k", rule, 1_000), RateLimitHit::Allowed);
        }
        assert_eq!(
            store.hit("k", rule, 4_000),
            RateLimitHit::Limited {
                retry_after_ms: 7_000
            }
        );
        assert_eq!(store.hit("k", rule, 11_000), RateLimitHit::Allowed);
        assert_eq!(retry_after_secs(7_000), 7);
        assert_eq!(retry_after_secs(6_001), 7);

        for i in 0..MEMORY_MAX_KEYS + 10 {
            let now = 20_000 + i64::try_from(i).expect("small");
            store.hit(&format!("key-{i}"), rule, now);
        }
        assert!(store.entries.len() <= MEMORY_MAX_KEYS);
        assert!(
            store
                .entries
                .contains_key(&format!("key-{}", MEMORY_MAX_KEYS + 9)),
            "the newest key is kept"
        );
    }
}

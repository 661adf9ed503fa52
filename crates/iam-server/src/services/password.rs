//! Password hashing: Argon2id for every new hash, and verification of the scrypt hashes
//! better-auth wrote (`specs/better-auth-api.md` §4), so an existing better-auth database keeps
//! working and each legacy hash is upgraded to Argon2id at the user's next successful sign-in.
//!
//! Hashing is CPU- and memory-bound by design: it runs on tokio's blocking pool, at most
//! [`PasswordHasher::max_concurrent`] at a time, never on the async worker threads. Unknown
//! users are checked against a dummy hash so a failed sign-in takes the same time whether or
//! not the email exists. Passwords and hashes are never logged.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::{OnceCell, Semaphore};
use unicode_normalization::UnicodeNormalization;

use crate::error::IamError;

/// Argon2id memory cost in KiB: 19 MiB.
///
/// With [`ARGON2_T_COST`] = 2 and [`ARGON2_P_COST`] = 1 this is OWASP's recommended minimum for
/// Argon2id (Password Storage Cheat Sheet): about 20–40 ms per hash on a current server core,
/// which bounds online guessing and makes offline cracking of a leaked table expensive, while a
/// sign-in stays fast. Hashes record their parameters (PHC string), so raising them later only
/// affects new hashes, and older ones are re-hashed at the next sign-in ([`PasswordCheck`]).
pub const ARGON2_M_COST_KIB: u32 = 19 * 1024;
/// Argon2id passes over memory.
pub const ARGON2_T_COST: u32 = 2;
/// Argon2id lanes (one: hashing runs on a single blocking thread).
pub const ARGON2_P_COST: u32 = 1;
/// Argon2id output length in bytes.
pub const ARGON2_OUTPUT_LEN: usize = 32;
/// Salt length in bytes (encoded as unpadded base64 in the PHC string).
const SALT_LEN: usize = 16;

/// better-auth's scrypt parameters: N = 2^14, r = 16, p = 1, 64-byte key.
const SCRYPT_LOG_N: u8 = 14;
const SCRYPT_R: u32 = 16;
const SCRYPT_P: u32 = 1;
const SCRYPT_KEY_LEN: usize = 64;

/// What a stored hash says about a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password does not match (or the stored value is not a hash this build reads).
    Mismatch,
    /// It matches; `rehash` is set when the stored hash should be replaced by a new Argon2id
    /// hash (a better-auth scrypt hash, or Argon2 with other parameters).
    Match { rehash: bool },
}

impl PasswordCheck {
    pub fn matches(&self) -> bool {
        matches!(self, PasswordCheck::Match { .. })
    }
}

/// Hashes and verifies passwords off the async threads.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    permits: Semaphore,
    max_concurrent: usize,
    /// An Argon2id hash of a random password, verified against when a user is unknown.
    dummy: OnceCell<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost_kib", &self.inner.params.m_cost())
            .field("t_cost", &self.inner.params.t_cost())
            .field("p_cost", &self.inner.params.p_cost())
            .field("max_concurrent", &self.inner.max_concurrent)
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// The documented parameters; as many concurrent hashes as the machine has cores.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let params = Params::new(
            ARGON2_M_COST_KIB,
            ARGON2_T_COST,
            ARGON2_P_COST,
            Some(ARGON2_OUTPUT_LEN),
        )
        .unwrap_or_default();
        Self::with_params(params, cores.max(1))
    }

    fn with_params(params: Params, max_concurrent: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                params,
                permits: Semaphore::new(max_concurrent),
                max_concurrent,
                dummy: OnceCell::new(),
            }),
        }
    }

    /// Hashes running at the same time at most (the rest wait their turn).
    pub fn max_concurrent(&self) -> usize {
        self.inner.max_concurrent
    }

    /// A new Argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) of the
    /// NFKC-normalised password.
    pub async fn hash(&self, password: &str) -> Result<String, IamError> {
        let password = normalize(password);
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt)
            .map_err(|e| IamError::Password(format!("no randomness for a salt: {e}")))?;
        let params = self.inner.params.clone();
        self.blocking(move || {
            let salt = SaltString::encode_b64(&salt)
                .map_err(|e| IamError::Password(format!("salt encoding: {e}")))?;
            argon2(params)
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| IamError::Password(format!("argon2: {e}")))
        })
        .await
    }

    /// Checks `password` against a stored hash: Argon2 (any variant and parameters) or
    /// better-auth's scrypt `salt:key`. A value in neither format is a mismatch.
    pub async fn verify(&self, password: &str, stored: &str) -> Result<PasswordCheck, IamError> {
        let password = normalize(password);
        let stored = stored.to_string();
        let current = self.inner.params.clone();
        self.blocking(move || Ok(verify_blocking(&password, &stored, &current)))
            .await
    }

    /// Spends the time of a real verification and always answers "mismatch": used when the
    /// user or their password does not exist, so timing does not reveal which emails exist.
    pub async fn verify_dummy(&self, password: &str) -> Result<PasswordCheck, IamError> {
        let dummy = self
            .inner
            .dummy
            .get_or_try_init(|| async {
                let mut random = [0u8; 24];
                getrandom::fill(&mut random)
                    .map_err(|e| IamError::Password(format!("no randomness: {e}")))?;
                self.hash(&base64_std(&random)).await
            })
            .await?
            .clone();
        self.verify(password, &dummy).await?;
        Ok(PasswordCheck::Mismatch)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, IamError> + Send + 'static,
    ) -> Result<T, IamError> {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| IamError::Password("the hasher was shut down".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| IamError::Password(format!("hashing task failed: {e}")))?
    }
}

fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// NFKC, as better-auth normalises before hashing: the same password typed with composed or
/// decomposed characters verifies.
fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn verify_blocking(password: &str, stored: &str, current: &Params) -> PasswordCheck {
    if stored.starts_with('$') {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return PasswordCheck::Mismatch;
        };
        // Verify with the hash's own algorithm and parameters.
        if Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return PasswordCheck::Mismatch;
        }
        let rehash = parsed.algorithm.as_str() != "argon2id"
            || Params::try_from(&parsed).map_or(true, |p| {
                p.m_cost() != current.m_cost()
                    || p.t_cost() != current.t_cost()
                    || p.p_cost() != current.p_cost()
            });
        return PasswordCheck::Match { rehash };
    }
    match verify_scrypt(password, stored) {
        true => PasswordCheck::Match { rehash: true },
        false => PasswordCheck::Mismatch,
    }
}

/// better-auth's scrypt: the salt is the 32-character hex string itself (its ASCII bytes), the
/// key 64 bytes, stored as `<saltHex>:<keyHex>`; the comparison is constant-time.
fn verify_scrypt(password: &str, stored: &str) -> bool {
    let Some((salt, key_hex)) = stored.split_once(':') else {
        return false;
    };
    if salt.is_empty() || key_hex.len() != SCRYPT_KEY_LEN * 2 {
        return false;
    }
    let Some(computed) = scrypt_key_hex(password, salt) else {
        return false;
    };
    computed
        .as_bytes()
        .ct_eq(key_hex.to_ascii_lowercase().as_bytes())
        .into()
}

fn scrypt_key_hex(password: &str, salt: &str) -> Option<String> {
    let params = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, SCRYPT_KEY_LEN).ok()?;
    let mut key = [0u8; SCRYPT_KEY_LEN];
    scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut key).ok()?;
    Some(hex_lower(&key))
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// A better-auth scrypt hash of `password` with the given salt string: what better-auth's
/// `hashPassword` stores. Only for tests and migration tooling: new hashes are Argon2id.
pub fn better_auth_scrypt_hash(password: &str, salt_hex: &str) -> Option<String> {
    let key = scrypt_key_hex(&normalize(password), salt_hex)?;
    Some(format!("{salt_hex}:{key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: these tests check formats and logic, not cost.
    fn fast() -> PasswordHasher {
        PasswordHasher::with_params(Params::new(64, 1, 1, Some(32)).expect("params"), 2)
    }

    #[test]
    fn scrypt_matches_better_auths_test_vector() {
        let expected = "000102030405060708090a0b0c0d0e0f:7034425e783148ac6ce2c4521177f6fc8ba611950b64145053bf3c4fbf26457865bbf1ea8164754187636d431114bca7374e96cf91409d23fbc0b086580d2442";
        assert_eq!(
            better_auth_scrypt_hash(
                "correct horse battery staple",
                "000102030405060708090a0b0c0d0e0f"
            )
            .as_deref(),
            Some(expected)
        );
        assert!(verify_scrypt("correct horse battery staple", expected));
        assert!(!verify_scrypt("correct horse battery stapl", expected));
        assert!(!verify_scrypt(
            "correct horse battery staple",
            &expected[..100]
        ));
        assert!(!verify_scrypt("correct horse battery staple", "no-colon"));
    }

    #[tokio::test]
    async fn argon2id_hashes_verify_and_record_their_parameters() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("s3cret-Passw0rd").await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            hasher
                .verify("s3cret-Passw0rd", &hash)
                .await
                .expect("verify"),
            PasswordCheck::Match { rehash: false }
        );
        assert_eq!(
            hasher
                .verify("s3cret-passw0rd", &hash)
                .await
                .expect("verify"),
            PasswordCheck::Mismatch
        );
        let again = hasher.hash("s3cret-Passw0rd").await.expect("hash");
        assert_ne!(hash, again, "every hash has its own salt");
    }

    #[tokio::test]
    async fn legacy_and_weaker_hashes_ask_for_a_rehash() {
        let strong = PasswordHasher::new();
        let weak = fast();
        let weak_hash = weak.hash("password-1").await.expect("hash");
        assert_eq!(
            strong
                .verify("password-1", &weak_hash)
                .await
                .expect("verify"),
            PasswordCheck::Match { rehash: true }
        );
        let scrypt = better_auth_scrypt_hash("password-1", "00112233445566778899aabbccddeeff")
            .expect("scrypt");
        assert_eq!(
            weak.verify("password-1", &scrypt).await.expect("verify"),
            PasswordCheck::Match { rehash: true }
        );
        assert_eq!(
            weak.verify("password-2", &scrypt).await.expect("verify"),
            PasswordCheck::Mismatch
        );
        assert_eq!(
            weak.verify("password-1", "garbage").await.expect("verify"),
            PasswordCheck::Mismatch
        );
        assert_eq!(
            weak.verify("password-1", "$argon2id$garbage")
                .await
                .expect("verify"),
            PasswordCheck::Mismatch
        );
    }

    #[tokio::test]
    async fn passwords_are_nfkc_normalised() {
        let hasher = fast();
        // "é" composed (U+00E9) and decomposed (e + U+0301) are the same password.
        let hash = hasher.hash("caf\u{e9}-latte").await.expect("hash");
        assert!(hasher
            .verify("cafe\u{301}-latte", &hash)
            .await
            .expect("verify")
            .matches());
    }

    #[tokio::test]
    async fn dummy_verification_never_matches() {
        let hasher = fast();
        assert_eq!(
            hasher.verify_dummy("anything").await.expect("dummy"),
            PasswordCheck::Mismatch
        );
        // The dummy hash is made once.
        let first = hasher.inner.dummy.get().cloned();
        hasher.verify_dummy("other").await.expect("dummy");
        assert_eq!(hasher.inner.dummy.get().cloned(), first);
    }
}

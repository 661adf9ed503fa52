//! The jwt plugin's operations: Ed25519 signing keys kept in `iam_jwks` (made on first use and
//! on rotation; the private JWK encrypted with better-auth's `symmetricEncrypt` and stored as
//! its JSON text, exactly as better-auth stores it), the public key set, and signing a
//! session's JWT (`{iat, ...user, sub, exp, iss, aud}`, header `{alg: "EdDSA", kid}`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Map, Value};
use shared_server::Timestamp;

use super::config::JwtConfig;
use super::entities::{Jwk, NewJwk};
use super::repo::JwksRepo;
use crate::error::IamError;
use crate::services::AuthService;

const ALG: &str = "EdDSA";
const CRV: &str = "Ed25519";

fn internal(what: &str) -> IamError {
    IamError::internal(what.to_string())
}

/// The plugin's operations (cheap to clone).
#[derive(Debug, Clone)]
pub struct JwtService {
    auth: AuthService,
    repo: JwksRepo,
}

impl JwtService {
    pub fn new(auth: AuthService, repo: JwksRepo) -> Self {
        Self { auth, repo }
    }

    pub fn config(&self) -> &JwtConfig {
        &self.auth.config().plugins.jwt
    }

    fn now(&self) -> Timestamp {
        self.auth.now()
    }

    /// Makes and stores a new signing key.
    pub async fn create_key(&self) -> Result<Jwk, IamError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| IamError::internal(format!("no randomness available: {e}")))?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| internal("ed25519 key from seed"))?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let d = URL_SAFE_NO_PAD.encode(seed);
        let public = json!({ "crv": CRV, "x": x, "kty": "OKP" }).to_string();
        let private = json!({ "crv": CRV, "d": d, "x": x, "kty": "OKP" }).to_string();
        let private_key = if self.config().disable_private_key_encryption {
            private
        } else {
            let encrypted = self.auth.config().secret_config().encrypt(&private)?;
            Value::String(encrypted).to_string()
        };
        let new = NewJwk {
            public_key: public,
            private_key,
            alg: Some(ALG.to_string()),
            crv: Some(CRV.to_string()),
            expires_at: self
                .config()
                .rotation_interval
                .map(|every| self.now().plus(every)),
        };
        let key = self.repo.insert(self.auth.db(), new, "app").await?;
        tracing::info!(kid = %key.id, "jwt signing key created");
        Ok(key)
    }

    /// The key set: every key not retired for longer than the grace period (one is made when
    /// there is none), as `{alg, crv, ...public JWK, kid}`.
    pub async fn jwks(&self) -> Result<Value, IamError> {
        let mut keys = self.repo.list_newest_first(self.auth.db()).await?;
        if keys.is_empty() {
            keys.push(self.create_key().await?);
        }
        let now = self.now();
        let grace = self.config().grace_period;
        let listed: Vec<Value> = keys
            .iter()
            .filter(|key| key.expires_at.is_none_or(|at| at.plus(grace) > now))
            .filter_map(|key| {
                let Ok(Value::Object(public)) = serde_json::from_str::<Value>(&key.public_key)
                else {
                    tracing::error!(kid = %key.id, "jwks: unreadable public key skipped");
                    return None;
                };
                let mut out = Map::new();
                out.insert("alg".into(), json!(key.alg.as_deref().unwrap_or(ALG)));
                if let Some(crv) = &key.crv {
                    out.insert("crv".into(), json!(crv));
                }
                out.extend(public);
                out.insert("kid".into(), json!(key.id));
                Some(Value::Object(out))
            })
            .collect();
        Ok(json!({ "keys": listed }))
    }

    /// The newest live EdDSA key, made when there is none (or the newest has expired).
    async fn signing_key(&self) -> Result<(Jwk, Ed25519KeyPair), IamError> {
        let now = self.now();
        let keys = self.repo.list_newest_first(self.auth.db()).await?;
        let live = keys.into_iter().find(|key| {
            key.alg.as_deref().unwrap_or(ALG) == ALG && key.expires_at.is_none_or(|at| at > now)
        });
        let key = match live {
            Some(key) => key,
            None => self.create_key().await?,
        };
        let pair = self.key_pair(&key)?;
        Ok((key, pair))
    }

    /// The key's private half: decrypted (or read as is when stored plain).
    fn key_pair(&self, key: &Jwk) -> Result<Ed25519KeyPair, IamError> {
        let stored: Value = serde_json::from_str(&key.private_key)
            .map_err(|_| internal("jwks: private key is not JSON"))?;
        let jwk: Value = match stored {
            Value::String(encrypted) => {
                let plain = self
                    .auth
                    .config()
                    .secret_config()
                    .decrypt(&encrypted)
                    .map_err(|e| {
                        tracing::error!(kid = %key.id, error = %e, "jwks: private key cannot be decrypted (was the secret changed?)");
                        internal("jwks: private key cannot be decrypted")
                    })?;
                serde_json::from_str(&plain)
                    .map_err(|_| internal("jwks: decrypted private key is not JSON"))?
            }
            other => other,
        };
        let d = jwk
            .get("d")
            .and_then(Value::as_str)
            .and_then(|d| URL_SAFE_NO_PAD.decode(d).ok())
            .filter(|d| d.len() == 32)
            .ok_or_else(|| internal("jwks: private key has no Ed25519 `d`"))?;
        Ed25519KeyPair::from_seed_unchecked(&d).map_err(|_| internal("jwks: bad Ed25519 key"))
    }

    /// A JWT for a user: `user` (the user JSON) spread into the payload after `iat`, then
    /// `sub` (the user id), `exp`, `iss`, `aud`.
    pub async fn token_for(&self, user: &Value) -> Result<String, IamError> {
        let (key, pair) = self.signing_key().await?;
        let config = self.config();
        let origin = self.auth.config().public_origin();
        let iat = self.now().unix_millis() / 1000;
        let mut payload = Map::new();
        payload.insert("iat".into(), json!(iat));
        if let Value::Object(fields) = user {
            payload.extend(fields.clone());
        }
        payload.insert("sub".into(), user.get("id").cloned().unwrap_or(Value::Null));
        let exp = iat + i64::try_from(config.expiration.as_secs()).unwrap_or(900);
        payload.insert("exp".into(), json!(exp));
        payload.insert(
            "iss".into(),
            json!(config.issuer.clone().unwrap_or_else(|| origin.clone())),
        );
        payload.insert(
            "aud".into(),
            json!(config.audience.clone().unwrap_or(origin)),
        );
        let header = json!({ "alg": ALG, "kid": key.id });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string())
        );
        let signature = pair.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

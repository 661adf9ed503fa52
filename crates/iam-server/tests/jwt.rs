//! The jwt plugin over HTTP (PLUGINS.md §7), on every available database backend: `/jwks`,
//! `/token` (verified here with the served public key), `set-auth-jwt` on get-session, keys
//! encrypted at rest, rotation with its grace period, and a key written by better-auth itself.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{servers, servers_with, TestServer};
use iam_server::plugins::jwt::entities::NewJwk;
use iam_server::plugins::JwksRepo;
use ring::signature::{UnparsedPublicKey, ED25519};
use serde_json::{json, Value};
use shared_server::Clock;

fn part(jwt: &str, index: usize) -> Value {
    let text = jwt.split('.').nth(index).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).expect("base64url")).expect("JSON")
}

/// Checks the JWT's Ed25519 signature against the JWKS key of its `kid`; returns the payload.
fn verified(jwt: &str, jwks: &Value) -> Value {
    let header = part(jwt, 0);
    assert_eq!(header["alg"], "EdDSA");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("kid {} not in {jwks}", header["kid"]));
    let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
    let (input, signature) = jwt.rsplit_once('.').unwrap();
    UnparsedPublicKey::new(&ED25519, x)
        .verify(
            input.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .expect("signature verifies");
    part(jwt, 1)
}

async fn jwks(s: &TestServer) -> Value {
    let r = s.get("/jwks", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

async fn token(s: &TestServer, cookie: &str) -> String {
    let r = s.get("/token", &[("cookie", cookie)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn tokens_are_signed_by_a_key_of_the_jwks() {
    for s in servers().await {
        let set = jwks(&s).await;
        let keys = set["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "made on first use");
        let key = &keys[0];
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["kty"], "OKP");
        assert!(key.get("d").is_none(), "never the private half");
        assert_eq!(jwks(&s).await, set, "the same key next time");

        assert_eq!(s.get("/token", &[]).await.status, 401);
        let up = s.sign_up("ada@example.com", "Ada").await;
        let user_id = up.json()["user"]["id"].clone();
        let cookie = up.session_cookie();
        let jwt = token(&s, &cookie).await;
        let payload = verified(&jwt, &set);
        assert_eq!(part(&jwt, 0)["kid"], key["kid"]);
        assert_eq!(payload["sub"], user_id);
        assert_eq!(payload["id"], user_id);
        assert_eq!(payload["email"], "ada@example.com");
        assert_eq!(payload["iss"], s.origin.as_str());
        assert_eq!(payload["aud"], s.origin.as_str());
        let iat = payload["iat"].as_i64().unwrap();
        assert_eq!(iat, s.clock.now().unix_millis() / 1000);
        assert_eq!(payload["exp"].as_i64().unwrap(), iat + 900);

        // get-session hands one over in set-auth-jwt; without a session, none.
        let r = s.get("/get-session", &[("cookie", &cookie)]).await;
        let header = r.header("set-auth-jwt").expect("set-auth-jwt");
        assert_eq!(verified(&header, &set)["sub"], user_id);
        assert!(r
            .header("access-control-expose-headers")
            .is_some_and(|h| h.contains("set-auth-jwt")));
        let r = s.get("/get-session", &[]).await;
        assert!(r.header("set-auth-jwt").is_none());
        assert_eq!(s.post("/token", json!({}), &[]).await.status, 404);
    }
}

#[tokio::test]
async fn private_keys_are_encrypted_at_rest() {
    for s in servers().await {
        let kid = jwks(&s).await["keys"][0]["kid"].clone();
        let clock: Arc<dyn Clock> = s.clock.clone();
        let repo = JwksRepo::new(s.test.db.clone(), clock);
        let row = repo.list_newest_first(&s.test.db).await.unwrap().remove(0);
        assert_eq!(Value::String(row.id.to_string()), kid);
        let stored: Value = serde_json::from_str(&row.private_key).unwrap();
        let encrypted = stored
            .as_str()
            .expect("a JSON string of the encrypted text");
        assert!(encrypted.chars().all(|c| c.is_ascii_hexdigit()));
        let plain = s
            .service()
            .config()
            .secret_config()
            .decrypt(encrypted)
            .unwrap();
        let jwk: Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert!(jwk["d"].is_string());
    }
    for s in servers_with(|c| c.plugins.jwt.disable_private_key_encryption = true).await {
        jwks(&s).await;
        let clock: Arc<dyn Clock> = s.clock.clone();
        let repo = JwksRepo::new(s.test.db.clone(), clock);
        let row = repo.list_newest_first(&s.test.db).await.unwrap().remove(0);
        let stored: Value = serde_json::from_str(&row.private_key).unwrap();
        assert!(stored["d"].is_string(), "stored as the JWK itself");
        let cookie = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        let jwt = token(&s, &cookie).await;
        verified(&jwt, &jwks(&s).await);
    }
}

#[tokio::test]
async fn keys_rotate_and_retired_ones_stay_for_the_grace_period() {
    for s in servers_with(|c| {
        c.plugins.jwt.rotation_interval = Some(Duration::from_secs(3600));
        c.plugins.jwt.grace_period = Duration::from_secs(7200);
    })
    .await
    {
        let cookie = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        let first = token(&s, &cookie).await;
        s.advance(Duration::from_secs(3601));
        let cookie = s
            .sign_in("ada@example.com", common::PASSWORD)
            .await
            .session_cookie();
        let second = token(&s, &cookie).await;
        let (a, b) = (
            part(&first, 0)["kid"].clone(),
            part(&second, 0)["kid"].clone(),
        );
        assert_ne!(a, b, "a new key after the rotation interval");
        let set = jwks(&s).await;
        verified(&first, &set);
        verified(&second, &set);
        s.advance(Duration::from_secs(7300));
        let set = jwks(&s).await;
        let kids: Vec<&Value> = set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| &k["kid"])
            .collect();
        assert!(!kids.contains(&&a), "past its grace period");
        assert!(kids.contains(&&b));
    }
}

#[tokio::test]
async fn a_key_written_by_better_auth_signs() {
    for s in servers().await {
        // jose's exportJWK of an Ed25519 key pair and better-auth 1.7.7's symmetricEncrypt of
        // the private JWK under the test secret, stored as better-auth stores it (JSON text).
        let clock: Arc<dyn Clock> = s.clock.clone();
        let repo = JwksRepo::new(s.test.db.clone(), clock);
        let row = repo
            .insert(
                &s.test.db,
                NewJwk {
                    public_key: r#"{"crv":"Ed25519","x":"L4l0ZMytaZvLoFy0pEQ3wLvS48EU8gyBojbGABekPFs","kty":"OKP"}"#.into(),
                    private_key: r#""2ed3fdb20c5fe77f3386dda1be819db5ac7f4061fb5f25c15bb5210f4fbf033e1bef934c73d56c9a82fa6424803b25416f23acae03673cb861706ff69788246d807236d0a8b5e7ce48cdab3041202d777315e2e75019a8bc0faf5be1578d3df529557ddbd04ac49b420d1be9b7ff10f36b2d891772d55df141daadad69fdeb2a9d6f82a52b57209754a4f60c50eb015957e59dbe50bd7abe79538a9ef57f14e3c17542978373db7b38""#.into(),
                    alg: Some("EdDSA".into()),
                    crv: Some("Ed25519".into()),
                    expires_at: None,
                },
                "test",
            )
            .await
            .unwrap();
        let cookie = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        let jwt = token(&s, &cookie).await;
        assert_eq!(part(&jwt, 0)["kid"], row.id.to_string().as_str());
        verified(&jwt, &jwks(&s).await);
    }
}

#[tokio::test]
async fn the_header_and_the_plugin_can_be_switched_off() {
    for s in servers_with(|c| c.plugins.jwt.disable_setting_jwt_header = true).await {
        let cookie = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        let r = s.get("/get-session", &[("cookie", &cookie)]).await;
        assert!(r.header("set-auth-jwt").is_none());
        token(&s, &cookie).await;
    }
    for s in servers_with(|c| c.plugins.jwt.enabled = false).await {
        assert_eq!(s.get("/jwks", &[]).await.status, 404);
        let cookie = s.sign_up("ada@example.com", "Ada").await.session_cookie();
        assert_eq!(s.get("/token", &[("cookie", &cookie)]).await.status, 404);
    }
}

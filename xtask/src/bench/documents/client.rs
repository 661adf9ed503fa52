//! Talking to `runtime-server serve` as a front end would: a real sign-up with an active
//! organization, RPC calls over HTTP (JSON serialization), and the seeding of the corpus through
//! `Document.create` on several keep-alive connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::super::http::{Connection, Target};
use super::super::Progress;
use super::corpus::Corpus;
use super::{DOCUMENTS_RPC, HOT_DOCUMENTS, SUCCESS};

const AUTH: &str = "/api/v1/auth";
const SEED_CONNECTIONS: usize = 8;

/// A signed-up user with an active organization.
pub struct Session {
    pub bearer: String,
    pub organization: String,
}

fn call(
    connection: &mut Connection,
    target: &Target,
    request: &[u8],
    what: &str,
) -> std::result::Result<Vec<u8>, String> {
    let status = connection
        .send(request)
        .map_err(|e| format!("bench: {what}: {e}"))?;
    let body = connection.body().to_vec();
    if status != 200 {
        return Err(format!(
            "bench: {what} at {}: HTTP {status} {}",
            target.base_url,
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(body)
}

/// The first `"id":"<prefix>…"` value in `body`.
fn first_id(body: &[u8], prefix: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find(&format!(r#""id":"{prefix}"#))? + 6;
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

pub fn sign_up(target: &Target) -> std::result::Result<Session, String> {
    let mut connection =
        Connection::open(target, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let origin = [("Origin", target.base_url.as_str())];
    let body = br#"{"name":"Bench","email":"bench-documents@example.com","password":"correct horse battery staple"}"#;
    let request = target.request(
        "POST",
        &format!("{AUTH}/sign-up/email"),
        &origin,
        Some(("application/json", body)),
    );
    call(&mut connection, target, &request, "sign-up")?;
    let token = connection
        .header("set-auth-token")
        .ok_or("bench: sign-up set no bearer token")?
        .to_string();
    let bearer = format!("Bearer {token}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Origin", target.base_url.as_str()),
    ];
    let listed = call(
        &mut connection,
        target,
        &target.request("GET", &format!("{AUTH}/organization/list"), &auth, None),
        "organization/list",
    )?;
    let organization =
        first_id(&listed, "shared_organization__").ok_or("bench: the user has no organization")?;
    let body = format!(r#"{{"organizationId":"{organization}"}}"#);
    let request = target.request(
        "POST",
        &format!("{AUTH}/organization/set-active"),
        &auth,
        Some(("application/json", body.as_bytes())),
    );
    call(&mut connection, target, &request, "organization/set-active")?;
    Ok(Session {
        bearer,
        organization,
    })
}

/// A prepared `POST` of one RPC call (HTTP, JSON serialization).
pub fn rpc(target: &Target, session: &Session, path: &str, tag: &str, payload: &str) -> Vec<u8> {
    let body =
        format!(r#"{{"_tag":"Request","id":"1","tag":"{tag}","payload":{payload},"headers":[]}}"#);
    target.request(
        "POST",
        path,
        &[("Authorization", &session.bearer)],
        Some(("application/json", body.as_bytes())),
    )
}

/// Creates documents `from..to` with [`SEED_CONNECTIONS`] connections; returns the first ids made.
pub fn seed(
    target: &Target,
    session: &Session,
    corpus: &Corpus,
    from: usize,
    to: usize,
    progress: &Progress,
) -> std::result::Result<Vec<String>, String> {
    let next = AtomicUsize::new(from);
    let ids = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SEED_CONNECTIONS)
            .map(|_| {
                scope.spawn(|| -> std::result::Result<(), String> {
                    let mut connection = Connection::open(target, Duration::from_secs(30))
                        .map_err(|e| e.to_string())?;
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= to {
                            return Ok(());
                        }
                        let payload = corpus.document(index).replacen(
                            '{',
                            &format!(r#"{{"organizationId":"{}","#, session.organization),
                            1,
                        );
                        let body = call(
                            &mut connection,
                            target,
                            &rpc(target, session, DOCUMENTS_RPC, "Document.create", &payload),
                            "Document.create",
                        )?;
                        if !body.windows(SUCCESS.len()).any(|w| w == SUCCESS) {
                            return Err(format!(
                                "bench: Document.create failed: {}",
                                String::from_utf8_lossy(&body)
                            ));
                        }
                        let mut ids = ids.lock().unwrap_or_else(|p| p.into_inner());
                        if ids.len() < HOT_DOCUMENTS {
                            ids.extend(first_id(&body, "documents_document__"));
                        }
                        if (index + 1) % 10_000 == 0 {
                            progress.say(&format!(
                                "seed: {} documents ({:.0}/s)",
                                index + 1,
                                (index + 1 - from) as f64 / started.elapsed().as_secs_f64()
                            ));
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| "bench: a seeding thread panicked".to_string())?
        })
    })?;
    let rate = (to - from) as f64 / started.elapsed().as_secs_f64();
    progress.say(&format!("seed: {to} documents ({rate:.0} created/s)"));
    Ok(ids.into_inner().unwrap_or_else(|p| p.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_replies() {
        let body = br#"[{"_tag":"Exit","exit":{"_tag":"Success","value":{"_rowId":1,"id":"documents_document__x1","title":"t"}}}]"#;
        assert_eq!(
            first_id(body, "documents_document__").as_deref(),
            Some("documents_document__x1")
        );
        assert_eq!(first_id(body, "shared_user__"), None);
    }
}

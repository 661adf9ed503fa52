//! The calls the files benchmark makes to set itself up, through the server's public API only
//! (what a front end does): sign a user up and make their personal organization active, call a
//! `shared` procedure over `POST /v1/shared/rpc` (JSON), and upload a file the three-step way
//! (`files_initiateUpload`, PUT the bytes to the presigned URL, `files_completeUpload`).
//!
//! xtask is std-only, so answers are read with [`string_field`], which finds a JSON string by
//! its key: enough for the ids, keys and URLs the server writes (compact, serde_json-escaped).

use std::time::{Duration, Instant};

use super::super::http::{Connection, Target};

pub const AUTH: &str = "/api/v1/auth";
pub const RPC_PATH: &str = "/v1/shared/rpc";
const COOKIE: &str = "better-auth.session_token";
const PASSWORD: &str = "bench-password-0123";
const TIMEOUT: Duration = Duration::from_secs(30);
/// What the Exit of every successful call carries.
pub const SUCCESS: &str = r#""exit":{"_tag":"Success""#;

/// A signed-up user whose session has an active organization.
#[derive(Debug, Clone)]
pub struct Session {
    pub email: String,
    pub user_id: String,
    /// The `Cookie` header value (`better-auth.session_token=...`).
    pub cookie: String,
}

/// One keep-alive connection to one server, for set-up calls made one after another.
pub struct Client {
    pub target: Target,
    connection: Connection,
}

impl Client {
    pub fn open(target: &Target) -> Result<Self, String> {
        let connection = Connection::open(target, TIMEOUT)
            .map_err(|error| format!("bench: cannot connect to {}: {error}", target.base_url))?;
        Ok(Self {
            target: target.clone(),
            connection,
        })
    }

    /// Sends `request` (for `what`, in errors), reconnecting first when the server closed the
    /// previous keep-alive; returns the status and the body.
    fn send(&mut self, what: &str, request: &[u8]) -> Result<(u16, String), String> {
        if self.connection.is_closed() {
            *self = Self::open(&self.target)?;
        }
        let status = self
            .connection
            .send(request)
            .map_err(|error| format!("bench: {what} at {}: {error}", self.target.base_url))?;
        Ok((
            status,
            String::from_utf8_lossy(self.connection.body()).into_owned(),
        ))
    }

    fn expect_ok(&mut self, what: &str, request: &[u8]) -> Result<String, String> {
        let (status, body) = self.send(what, request)?;
        if status != 200 {
            return Err(format!(
                "bench: {what} at {} answered {status}: {}",
                self.target.base_url,
                cut(&body)
            ));
        }
        Ok(body)
    }

    /// Signs `email` up, then makes their personal organization the session's active one (the
    /// files procedures act in it).
    pub fn sign_up(&mut self, email: &str) -> Result<Session, String> {
        let origin = self.target.base_url.clone();
        let body = format!(r#"{{"name":"Bench Files","email":"{email}","password":"{PASSWORD}"}}"#);
        let request = self.target.request(
            "POST",
            &format!("{AUTH}/sign-up/email"),
            &[("Origin", &origin)],
            Some(("application/json", body.as_bytes())),
        );
        let answer = self.expect_ok("sign-up", &request)?;
        let cookie = session_cookie(self.connection.headers("set-cookie"))
            .ok_or_else(|| format!("bench: sign-up of {email} set no {COOKIE} cookie"))?;
        let user_id = string_field(&answer, "id")
            .ok_or_else(|| format!("bench: sign-up answered no user id: {}", cut(&answer)))?;
        let request = self.target.request(
            "GET",
            &format!("{AUTH}/organization/list"),
            &[("Cookie", &cookie)],
            None,
        );
        let organizations = self.expect_ok("organization/list", &request)?;
        let organization = string_field(&organizations, "id").ok_or_else(|| {
            format!(
                "bench: {email} has no organization: {}",
                cut(&organizations)
            )
        })?;
        let body = format!(r#"{{"organizationId":"{organization}"}}"#);
        let request = self.target.request(
            "POST",
            &format!("{AUTH}/organization/set-active"),
            &[("Cookie", &cookie), ("Origin", &origin)],
            Some(("application/json", body.as_bytes())),
        );
        self.expect_ok("organization/set-active", &request)?;
        Ok(Session {
            email: email.to_owned(),
            user_id,
            cookie,
        })
    }

    /// One call over HTTP/JSON; the whole answer (a JSON array of Chunks and one Exit), which
    /// must be a success.
    pub fn call(&mut self, session: &Session, tag: &str, payload: &str) -> Result<String, String> {
        let request = rpc_request(&self.target, session, tag, Some(payload));
        self.call_raw(&request, tag)
    }

    /// Sends a prepared RPC `request` (of procedure `tag`); the answer, which must be a success.
    pub fn call_raw(&mut self, request: &[u8], tag: &str) -> Result<String, String> {
        let answer = self.expect_ok(tag, request)?;
        if !answer.contains(SUCCESS) {
            return Err(format!("bench: {tag} failed: {}", cut(&answer)));
        }
        Ok(answer)
    }

    /// Initiates an upload of `bytes` as `name` and PUTs them to the presigned URL; returns the
    /// file key, ready for `files_completeUpload`.
    pub fn prepare_upload(
        &mut self,
        session: &Session,
        name: &str,
        bytes: &[u8],
    ) -> Result<String, String> {
        let payload = format!(
            r#"{{"fileName":"{name}","fileSize":{},"mimeType":"text/plain","entityKind":"user","entityIdentifier":"{}","entityAttribute":"document","folderId":null,"metadata":{{"extension":"txt"}}}}"#,
            bytes.len(),
            session.user_id
        );
        let initiated = self.call(session, "files_initiateUpload", &payload)?;
        let (url, key) = match (
            string_field(&initiated, "presignedUrl"),
            string_field(&initiated, "fileKey"),
        ) {
            (Some(url), Some(key)) => (url, key),
            _ => {
                return Err(format!(
                    "bench: files_initiateUpload answered no presignedUrl/fileKey: {}",
                    cut(&initiated)
                ))
            }
        };
        put(&url, bytes)?;
        Ok(key)
    }

    /// `files_completeUpload {fileKey}`; returns the new file's id and how long the call took.
    pub fn complete_upload(
        &mut self,
        session: &Session,
        key: &str,
    ) -> Result<(String, Duration), String> {
        let started = Instant::now();
        let answer = self.call(
            session,
            "files_completeUpload",
            &format!(r#"{{"fileKey":"{key}"}}"#),
        )?;
        let took = started.elapsed();
        let id = string_field(&answer, "id")
            .ok_or_else(|| format!("bench: files_completeUpload: no id in {}", cut(&answer)))?;
        Ok((id, took))
    }

    /// Initiate, PUT, complete: a new file of `session`'s user.
    pub fn upload(&mut self, session: &Session, name: &str, bytes: &[u8]) -> Result<(), String> {
        let key = self.prepare_upload(session, name, bytes)?;
        self.complete_upload(session, &key).map(|_| ())
    }
}

/// `POST /v1/shared/rpc` with one JSON Request of `tag` for `session` (`payload` is JSON; none
/// for a payload-less procedure).
pub fn rpc_request(
    target: &Target,
    session: &Session,
    tag: &str,
    payload: Option<&str>,
) -> Vec<u8> {
    let payload = payload.map_or(String::new(), |p| format!(r#""payload":{p},"#));
    let body = format!(r#"{{"_tag":"Request","id":"1","tag":"{tag}",{payload}"headers":[]}}"#);
    target.request(
        "POST",
        RPC_PATH,
        &[("Cookie", &session.cookie)],
        Some(("application/json", body.as_bytes())),
    )
}

/// PUTs `bytes` to a presigned URL of the local object store, as a browser would.
fn put(url: &str, bytes: &[u8]) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("bench: the presigned URL `{url}` is not http://"))?;
    let (authority, path) = rest
        .find('/')
        .map(|slash| rest.split_at(slash))
        .ok_or_else(|| format!("bench: the presigned URL `{url}` has no path"))?;
    let target = Target::parse(&format!("http://{authority}"))?;
    let mut connection = Connection::open(&target, TIMEOUT)
        .map_err(|error| format!("bench: cannot connect to {authority}: {error}"))?;
    let status = connection
        .send(&target.request("PUT", path, &[], Some(("text/plain", bytes))))
        .map_err(|error| format!("bench: PUT {url}: {error}"))?;
    if !(200..300).contains(&status) {
        return Err(format!(
            "bench: PUT to the presigned URL answered {status}: {}",
            cut(&String::from_utf8_lossy(connection.body()))
        ));
    }
    Ok(())
}

/// `name=value` of the session cookie among `Set-Cookie` values.
fn session_cookie(set_cookies: Vec<&str>) -> Option<String> {
    set_cookies
        .into_iter()
        .filter_map(|header| header.split(';').next())
        .map(str::trim)
        .find(|pair| {
            pair.strip_prefix(COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .is_some_and(|value| !value.is_empty())
        })
        .map(str::to_owned)
}

/// The first string value of key `name` in compact JSON `text`, unescaped (`\"`, `\\`, `\/`,
/// `\n`, `\t`, `\uXXXX` outside surrogate pairs).
pub fn string_field(text: &str, name: &str) -> Option<String> {
    let needle = format!("\"{name}\":\"");
    let start = text.find(&needle)? + needle.len();
    let mut out = String::new();
    let mut chars = text[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// At most 300 characters of `text`, for error messages.
pub fn cut(text: &str) -> String {
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_fields_are_found_by_key_and_unescaped() {
        let text = r#"{"user":{"id":"u_1","name":"A \"B\"\u00e9"},"presignedUrl":"http://h:1/v1/x?a=1&b=2"}"#;
        assert_eq!(string_field(text, "id").as_deref(), Some("u_1"));
        assert_eq!(string_field(text, "name").as_deref(), Some("A \"B\"é"));
        assert_eq!(
            string_field(text, "presignedUrl").as_deref(),
            Some("http://h:1/v1/x?a=1&b=2")
        );
        assert_eq!(string_field(text, "missing"), None);
        assert_eq!(string_field(r#"{"id":"open"#, "id"), None);
    }

    #[test]
    fn the_session_cookie_is_picked_among_others() {
        let headers = vec![
            "other=1; Path=/",
            "better-auth.session_token=; Max-Age=0",
            "better-auth.session_token=abc.def; Path=/; HttpOnly",
        ];
        assert_eq!(
            session_cookie(headers).as_deref(),
            Some("better-auth.session_token=abc.def")
        );
    }

    #[test]
    fn rpc_requests_carry_the_cookie_and_one_json_request() {
        let target = Target::parse("http://127.0.0.1:9").expect("target");
        let session = Session {
            email: "a@b.c".into(),
            user_id: "u".into(),
            cookie: "better-auth.session_token=t".into(),
        };
        let request =
            String::from_utf8(rpc_request(&target, &session, "files_list", None)).expect("utf-8");
        assert!(request.starts_with("POST /v1/shared/rpc HTTP/1.1\r\n"));
        assert!(request.contains("Cookie: better-auth.session_token=t\r\n"));
        assert!(request.ends_with(r#"{"_tag":"Request","id":"1","tag":"files_list","headers":[]}"#));
        let with_payload = rpc_request(&target, &session, "x", Some(r#"{"a":1}"#));
        assert!(String::from_utf8(with_payload)
            .expect("utf-8")
            .ends_with(r#""tag":"x","payload":{"a":1},"headers":[]}"#));
    }
}

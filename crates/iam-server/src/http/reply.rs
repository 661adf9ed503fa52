//! What an auth handler answers, and how it becomes an HTTP response: JSON (or empty) body,
//! status, extra headers and the cookies to set or expire (`specs/better-auth-api.md` §2.4–2.6),
//! plus the bearer plugin's after-hook (`set-auth-token`, §2.9).

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::config::IamConfig;
use crate::error::IamError;
use crate::services::cookie_cache;
use crate::services::credentials::CookieNames;
use crate::services::emails::encode_uri_component;
use crate::services::tokens;

/// A cookie the response sets or expires (`Debug` hides the token).
#[derive(Clone, PartialEq, Eq)]
enum CookieOut {
    /// The signed session token; without `Max-Age` when the user is not remembered.
    Session { token: String, remember: bool },
    /// The `session_data` cookie cache (§2.8), chunked when long; without `Max-Age` when the
    /// user is not remembered.
    SessionData { value: String, remember: bool },
    /// The signed `dont_remember=true` marker.
    DontRemember,
    /// Another signed cookie (a plugin's: `two_factor`, `trust_device`), with its `Max-Age`.
    Signed {
        name: String,
        value: String,
        max_age: u64,
    },
    /// A cookie scripts may read (not `HttpOnly`, not signed): the last-login-method plugin's.
    Readable {
        name: String,
        value: String,
        max_age: u64,
    },
    /// `<name>=; Max-Age=0`.
    Expire(String),
}

impl std::fmt::Debug for CookieOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CookieOut::Session { remember, .. } => {
                write!(f, "Session {{ token: ***, remember: {remember} }}")
            }
            CookieOut::SessionData { remember, .. } => {
                write!(f, "SessionData {{ value: ***, remember: {remember} }}")
            }
            CookieOut::DontRemember => f.write_str("DontRemember"),
            CookieOut::Signed { name, max_age, .. } => {
                write!(
                    f,
                    "Signed {{ name: {name}, value: ***, max_age: {max_age} }}"
                )
            }
            CookieOut::Readable { name, value, .. } => write!(f, "Readable({name}={value})"),
            CookieOut::Expire(name) => write!(f, "Expire({name})"),
        }
    }
}

enum Body {
    Json(Value),
    Empty,
    Html(String),
    Error(IamError),
}

/// An auth handler's answer (`Debug` shows the status and cookies, not the body, which may
/// carry a session token).
pub struct Reply {
    status: StatusCode,
    body: Body,
    headers: Vec<(HeaderName, String)>,
    cookies: Vec<CookieOut>,
    /// Response headers scripts may read (`Access-Control-Expose-Headers`), besides
    /// `set-auth-token`.
    exposed: Vec<&'static str>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("cookies", &self.cookies)
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(value: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Body::Json(value),
            headers: Vec::new(),
            cookies: Vec::new(),
            exposed: Vec::new(),
        }
    }

    /// 302 to `location`, empty body.
    pub fn redirect(location: &str) -> Self {
        Self {
            status: StatusCode::FOUND,
            body: Body::Empty,
            headers: vec![(header::LOCATION, location.to_string())],
            cookies: Vec::new(),
            exposed: Vec::new(),
        }
    }

    /// 200 with an HTML page.
    pub fn html(page: String) -> Self {
        Self {
            status: StatusCode::OK,
            body: Body::Html(page),
            headers: Vec::new(),
            cookies: Vec::new(),
            exposed: Vec::new(),
        }
    }

    /// An error answer that still sets or expires cookies.
    pub fn error(error: IamError) -> Self {
        Self {
            status: error.status(),
            body: Body::Error(error),
            headers: Vec::new(),
            cookies: Vec::new(),
            exposed: Vec::new(),
        }
    }

    /// The JSON body, when the reply has one.
    pub fn json_body(&self) -> Option<&Value> {
        match &self.body {
            Body::Json(value) => Some(value),
            _ => None,
        }
    }

    /// Lists `name` in `Access-Control-Expose-Headers`.
    pub fn exposing_header(mut self, name: &'static str) -> Self {
        self.exposed.push(name);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the session cookie for `token`. Not remembered (`dont_remember`): no `Max-Age`,
    /// and the `dont_remember` marker is (re)set.
    pub fn with_session_cookie(mut self, token: &str, dont_remember: bool) -> Self {
        self.cookies.push(CookieOut::Session {
            token: token.to_string(),
            remember: !dont_remember,
        });
        if dont_remember {
            self.cookies.push(CookieOut::DontRemember);
        }
        self
    }

    /// Sets the `dont_remember` marker alone (a sign-in held back for its second factor keeps
    /// the user's "don't remember me" for the session that follows).
    pub fn with_dont_remember_marker(mut self) -> Self {
        self.cookies.push(CookieOut::DontRemember);
        self
    }

    /// The session cookie this reply sets, if any: `(token, remembered)`.
    pub fn session_cookie(&self) -> Option<(&str, bool)> {
        self.cookies.iter().rev().find_map(|cookie| match cookie {
            CookieOut::Session { token, remember } => Some((token.as_str(), *remember)),
            _ => None,
        })
    }

    /// Whether this reply already writes the `session_data` cache.
    pub fn sets_session_data(&self) -> bool {
        self.cookies
            .iter()
            .any(|cookie| matches!(cookie, CookieOut::SessionData { .. }))
    }

    /// Writes the `session_data` cookie cache with an encoded entry
    /// (`services::cookie_cache::encode`).
    pub fn with_session_data(mut self, value: String, remember: bool) -> Self {
        self.cookies
            .push(CookieOut::SessionData { value, remember });
        self
    }

    /// Sets the signed cookie `name` (`<value>.<signature>`, URL-encoded) for `max_age` seconds.
    pub fn with_signed_cookie(mut self, name: &str, value: &str, max_age: u64) -> Self {
        self.cookies.push(CookieOut::Signed {
            name: name.to_string(),
            value: value.to_string(),
            max_age,
        });
        self
    }

    /// Sets a plain cookie that scripts may read, for `max_age` seconds.
    pub fn with_readable_cookie(mut self, name: &str, value: &str, max_age: u64) -> Self {
        self.cookies.push(CookieOut::Readable {
            name: name.to_string(),
            value: value.to_string(),
            max_age,
        });
        self
    }

    /// Whether this reply sets or expires the session cookie named `session_token`.
    pub fn touches_session_cookie(&self, session_token: &str) -> bool {
        self.cookies.iter().any(|cookie| match cookie {
            CookieOut::Session { .. } => true,
            CookieOut::Expire(name) => name == session_token,
            _ => false,
        })
    }

    /// Expires one cookie.
    pub fn expire_cookie(mut self, name: &str) -> Self {
        self.cookies.push(CookieOut::Expire(name.to_string()));
        self
    }

    /// Expires the session token, session data (and its chunks present in the request) and
    /// `dont_remember` cookies (§2.5).
    pub fn expire_session_cookies(
        mut self,
        names: &CookieNames,
        request_cookies: &[(String, String)],
    ) -> Self {
        for name in [
            &names.session_token,
            &names.session_data,
            &names.dont_remember,
        ] {
            self.cookies.push(CookieOut::Expire(name.clone()));
        }
        let chunk_prefix = format!("{}.", names.session_data);
        for (name, _) in request_cookies {
            if name
                .strip_prefix(&chunk_prefix)
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            {
                self.cookies.push(CookieOut::Expire(name.clone()));
            }
        }
        self
    }

    /// Drops a session cookie (and its `dont_remember` marker) carrying `token`: an `x-api-key`
    /// caller's synthetic session, whose token is the plain key, is never sent as a cookie.
    pub fn without_session_cookie_for(mut self, token: &str) -> Self {
        let carried = self
            .cookies
            .iter()
            .any(|c| matches!(c, CookieOut::Session { token: t, .. } if t == token));
        if carried {
            self.cookies.retain(|c| {
                !matches!(c, CookieOut::Session { token: t, .. } if t == token)
                    && *c != CookieOut::DontRemember
            });
        }
        self
    }

    /// The HTTP response: `Set-Cookie` per cookie in order, and for a session cookie the
    /// bearer plugin's `set-auth-token` (the decoded signed value) and its CORS exposure.
    pub fn into_response(self, config: &IamConfig, names: &CookieNames) -> Response {
        let mut response = match self.body {
            Body::Json(value) => {
                let mut r = (self.status, value.to_string()).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }
            Body::Empty => self.status.into_response(),
            Body::Html(page) => {
                let mut r = (self.status, page).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                r
            }
            Body::Error(error) => error.into_response(),
        };
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        let secure = if names.secure { "; Secure" } else { "" };
        let mut auth_token = None;
        for cookie in self.cookies {
            if let CookieOut::SessionData { value, remember } = &cookie {
                let max_age = match (remember, config.cookie_cache_max_age) {
                    (true, Some(max_age)) => format!("; Max-Age={}", max_age.as_secs()),
                    _ => String::new(),
                };
                for (name, part) in cookie_cache::split(&names.session_data, value) {
                    let line =
                        format!("{name}={part}{max_age}; Path=/; HttpOnly{secure}; SameSite=Lax");
                    if let Ok(value) = HeaderValue::from_str(&line) {
                        headers.append(header::SET_COOKIE, value);
                    }
                }
                continue;
            }
            let line = match cookie {
                CookieOut::Session { token, remember } => {
                    let signed = tokens::sign_value(config.secret(), &token);
                    let max_age = if remember {
                        format!("; Max-Age={}", config.session_expires_in.as_secs())
                    } else {
                        String::new()
                    };
                    let line = format!(
                        "{}={}{max_age}; Path=/; HttpOnly{secure}; SameSite=Lax",
                        names.session_token,
                        encode_uri_component(&signed)
                    );
                    auth_token = Some(signed);
                    line
                }
                CookieOut::SessionData { .. } => continue,
                CookieOut::DontRemember => format!(
                    "{}={}; Path=/; HttpOnly{secure}; SameSite=Lax",
                    names.dont_remember,
                    encode_uri_component(&tokens::sign_value(config.secret(), "true"))
                ),
                CookieOut::Signed {
                    name,
                    value,
                    max_age,
                } => format!(
                    "{name}={}; Max-Age={max_age}; Path=/; HttpOnly{secure}; SameSite=Lax",
                    encode_uri_component(&tokens::sign_value(config.secret(), &value))
                ),
                CookieOut::Readable {
                    name,
                    value,
                    max_age,
                } => format!(
                    "{name}={}; Max-Age={max_age}; Path=/{secure}; SameSite=Lax",
                    encode_uri_component(&value)
                ),
                CookieOut::Expire(name) => {
                    format!("{name}=; Max-Age=0; Path=/; HttpOnly{secure}; SameSite=Lax")
                }
            };
            if let Ok(value) = HeaderValue::from_str(&line) {
                headers.append(header::SET_COOKIE, value);
            }
        }
        let mut exposed = self.exposed;
        if let Some(token) = auth_token.and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert(HeaderName::from_static("set-auth-token"), token);
            exposed.insert(0, "set-auth-token");
        }
        if !exposed.is_empty() {
            if let Ok(value) = HeaderValue::from_str(&exposed.join(", ")) {
                headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
            }
        }
        response
    }
}

//! Random requests against every auth route (property test): whatever a client sends — odd
//! JSON shapes, wrong types, huge or non-ASCII strings, broken bodies, wrong content types,
//! random query strings, with or without a valid session — the server never answers 5xx and
//! keeps serving. Runs on SQLite and, when `TEST_POSTGRES_URL` is set, on PostgreSQL.
//!
//! Bodies are built from the field names the API actually reads, so most cases get past JSON
//! parsing into each endpoint's validation and handlers.

mod common;

use common::TestServer;
use proptest::prelude::*;
use serde_json::{Map, Value};
use tokio::runtime::Runtime;

/// Every route of the auth API (`specs/better-auth-api.md` §3, §7, §8, and the plugins of
/// PLUGINS.md), with its method.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/ok"),
    ("GET", "/error"),
    ("POST", "/sign-up/email"),
    ("POST", "/sign-in/email"),
    ("POST", "/sign-out"),
    ("GET", "/get-session"),
    ("GET", "/list-sessions"),
    ("POST", "/revoke-session"),
    ("POST", "/revoke-sessions"),
    ("POST", "/revoke-other-sessions"),
    ("POST", "/update-user"),
    ("POST", "/change-password"),
    ("POST", "/change-email"),
    ("POST", "/request-password-reset"),
    ("GET", "/reset-password/AbCdEfGhIjKlMnOpQrStUvWx"),
    ("POST", "/reset-password"),
    ("POST", "/send-verification-email"),
    ("GET", "/verify-email"),
    ("POST", "/delete-user"),
    ("GET", "/delete-user/callback"),
    ("POST", "/verify-password"),
    ("GET", "/list-accounts"),
    ("POST", "/organization/create"),
    ("POST", "/organization/check-slug"),
    ("POST", "/organization/update"),
    ("POST", "/organization/delete"),
    ("POST", "/organization/set-active"),
    ("GET", "/organization/get-organization"),
    ("GET", "/organization/get-full-organization"),
    ("GET", "/organization/list"),
    ("POST", "/organization/has-permission"),
    ("GET", "/organization/list-members"),
    ("GET", "/organization/get-active-member"),
    ("GET", "/organization/get-active-member-role"),
    ("POST", "/organization/update-member-role"),
    ("POST", "/organization/remove-member"),
    ("POST", "/organization/leave"),
    ("POST", "/organization/invite-member"),
    ("GET", "/organization/list-invitations"),
    ("GET", "/organization/list-user-invitations"),
    ("GET", "/organization/get-invitation"),
    ("POST", "/organization/accept-invitation"),
    ("POST", "/organization/reject-invitation"),
    ("POST", "/organization/cancel-invitation"),
    ("POST", "/organization/create-team"),
    ("GET", "/organization/list-teams"),
    ("POST", "/organization/update-team"),
    ("POST", "/organization/remove-team"),
    ("POST", "/organization/set-active-team"),
    ("GET", "/organization/list-user-teams"),
    ("GET", "/organization/list-team-members"),
    ("POST", "/organization/add-team-member"),
    ("POST", "/organization/remove-team-member"),
    ("POST", "/api-key/create"),
    ("GET", "/api-key/get"),
    ("GET", "/api-key/list"),
    ("POST", "/api-key/update"),
    ("POST", "/api-key/delete"),
    // username plugin (PLUGINS.md §1)
    ("POST", "/sign-in/username"),
    ("POST", "/is-username-available"),
    // two-factor plugin (PLUGINS.md §2)
    ("POST", "/two-factor/enable"),
    ("POST", "/two-factor/disable"),
    ("POST", "/two-factor/get-totp-uri"),
    ("POST", "/two-factor/verify-totp"),
    ("POST", "/two-factor/send-otp"),
    ("POST", "/two-factor/verify-otp"),
    ("POST", "/two-factor/verify-backup-code"),
    ("POST", "/two-factor/generate-backup-codes"),
    // anonymous plugin (PLUGINS.md §4)
    ("POST", "/sign-in/anonymous"),
    ("POST", "/delete-anonymous-user"),
    // multi-session plugin (PLUGINS.md §5)
    ("GET", "/multi-session/list-device-sessions"),
    ("POST", "/multi-session/set-active"),
    ("POST", "/multi-session/revoke"),
    // one-time-token plugin (PLUGINS.md §6)
    ("GET", "/one-time-token/generate"),
    ("POST", "/one-time-token/verify"),
    // jwt plugin (PLUGINS.md §7)
    ("GET", "/token"),
    ("GET", "/jwks"),
];

/// Field names the endpoints read.
const FIELDS: &[&str] = &[
    "email",
    "password",
    "name",
    "image",
    "token",
    "newPassword",
    "currentPassword",
    "revokeOtherSessions",
    "newEmail",
    "callbackURL",
    "redirectTo",
    "rememberMe",
    "organizationId",
    "organizationSlug",
    "slug",
    "logo",
    "metadata",
    "data",
    "keepCurrentActiveOrganization",
    "permissions",
    "permission",
    "memberId",
    "memberIdOrEmail",
    "role",
    "invitationId",
    "id",
    "resend",
    "teamId",
    "userId",
    "limit",
    "offset",
    "sortBy",
    "sortDirection",
    "membersLimit",
    "keyId",
    "expiresIn",
    "prefix",
    "enabled",
    "remaining",
    "refillAmount",
    "refillInterval",
    "rateLimitEnabled",
    "configId",
    "disableCookieCache",
    "disableRefresh",
    "username",
    "displayUsername",
    "code",
    "trustDevice",
    "disableSession",
    "method",
    "issuer",
    "sessionToken",
];

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => proptest::sample::select(FIELDS).prop_map(str::to_string),
        1 => "\\PC{0,12}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(86_400_000),
            Just(i64::MAX)
        ]
        .prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("fuzz@example.com"),
            Just("FUZZ@Example.com"),
            Just("not-an-email"),
            Just("correct-horse-battery"),
            Just("owner"),
            Just("admin,member"),
            Just("member"),
            Just(""),
            Just("/"),
            Just("https://evil.example/"),
            Just("shared_organization__0190c7a0-0000-7000-8000-000000000000"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
        "\\PC{0,40}".prop_map(Value::String),
        (1usize..6000).prop_map(|n| Value::String("é".repeat(n))),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((field(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A request body: usually a JSON object of known fields, sometimes anything at all.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::collection::vec((field(), json_value()), 0..7).prop_map(|pairs| {
            Value::Object(pairs.into_iter().collect::<Map<_, _>>()).to_string().into_bytes()
        }),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
        1 => json_value().prop_flat_map(|v| {
            let text = v.to_string();
            let len = text.len();
            (Just(text), 0..=len).prop_map(|(t, cut)| t.as_bytes()[..cut].to_vec())
        }),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(Some("application/x-www-form-urlencoded")),
        1 => Just(Some("text/plain")),
        1 => Just(None),
    ]
}

fn query() -> impl Strategy<Value = String> {
    proptest::collection::vec((field(), "\\PC{0,16}"), 0..4).prop_map(|pairs| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in pairs {
            url.append_pair(&key, &value);
        }
        url.finish()
    })
}

/// How the request authenticates.
#[derive(Debug, Clone, Copy)]
enum Auth {
    Anonymous,
    /// The long-lived fuzz user's session cookie, from the server's own origin.
    Cookie,
    /// A bearer credential that is not a session.
    BogusBearer,
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        1 => Just(Auth::Anonymous),
        3 => Just(Auth::Cookie),
        1 => Just(Auth::BogusBearer),
    ]
}

struct Target {
    server: TestServer,
    cookie: String,
}

/// One server per backend for all cases, on their own runtime, each with a signed-up user.
fn serve() -> (Runtime, Vec<Target>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let targets = runtime.block_on(async {
        let mut targets = Vec::new();
        for server in common::servers().await {
            let cookie = server
                .sign_up("fuzz@example.com", "Fuzz")
                .await
                .session_cookie();
            targets.push(Target { server, cookie });
        }
        targets
    });
    (runtime, targets)
}

async fn send(
    target: &Target,
    (method, path): (&str, &str),
    query: &str,
    body: &[u8],
    content_type: Option<&str>,
    auth: Auth,
) -> (u16, String) {
    let s = &target.server;
    let url = if query.is_empty() {
        format!("{}{path}", s.auth)
    } else {
        format!("{}{path}?{query}", s.auth)
    };
    let mut request = match method {
        "GET" => s.http.get(url),
        _ => s.http.post(url).body(body.to_vec()),
    };
    if let (Some(ct), "POST") = (content_type, method) {
        request = request.header("content-type", ct);
    }
    request = match auth {
        Auth::Anonymous => request,
        Auth::Cookie => request
            .header("cookie", &target.cookie)
            .header("origin", &s.origin),
        Auth::BogusBearer => request.header("authorization", "Bearer not-a-session.c2ln"),
    };
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, text)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_request_gets_a_server_error(
        route in proptest::sample::select(ROUTES),
        query in query(),
        body in body(),
        content_type in content_type(),
        auth in auth(),
    ) {
        let (runtime, targets) = &*SERVERS;
        for target in targets {
            let (status, text) = runtime.block_on(send(target, route, &query, &body, content_type, auth));
            prop_assert!(
                status < 500,
                "{} {} {:?} on {} answered {status}: {text}",
                route.0, route.1, String::from_utf8_lossy(&body), target.server.backend()
            );
            let (ok, _) = runtime.block_on(send(target, ("GET", "/ok"), "", b"", None, Auth::Anonymous));
            prop_assert_eq!(ok, 200, "the server stopped answering");
        }
    }
}

static SERVERS: std::sync::LazyLock<(Runtime, Vec<Target>)> = std::sync::LazyLock::new(serve);

/// The fuzzed routes are real: each one is in the auth API's route table.
#[test]
fn every_fuzzed_route_exists() {
    for (method, path) in ROUTES {
        let method = axum::http::Method::from_bytes(method.as_bytes()).expect("method");
        assert!(
            iam_server::http::route(&method, path).is_some(),
            "{method} {path} is not routed"
        );
    }
}

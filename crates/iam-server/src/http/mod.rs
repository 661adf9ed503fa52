//! The better-auth-compatible auth API as an axum `Router` (`specs/better-auth-api.md`).
//!
//! better-auth's routing rules differ from axum's (an unknown method on a known path is 404,
//! not 405; a trailing slash is 404; validation runs before the session check), so the router
//! has one catch-all route under the base path and [`route`] is the route table. A request then
//! goes through, in order: the rate limiter (429, even for unknown paths), route lookup (404,
//! empty body), body parsing (415/400), the origin and CSRF checks (403), the API-key hook
//! (`x-api-key` → a synthetic session, or the key's error), the endpoint (validation 400,
//! session 401, handler), and finally the bearer plugin's `set-auth-token` when a session
//! cookie is set.

pub(crate) mod fields;
pub(crate) mod handlers;
mod org_wire;
mod origin;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use percent_encoding::percent_decode_str;

use crate::plugins::{PluginEndpoint, Plugins};
use crate::services::apikeys::API_KEY_HEADER;
use crate::services::{ApiKeyService, AuthService, RateDecision, RateLimiter};
use reply::Reply;
use request::AuthRequest;

pub use fields::is_valid_email;
pub(crate) use handlers::check_password_not_too_long;
pub use origin::{is_safe_relative_url, is_trusted, trusted_origins};
pub(crate) use request::client_info;

/// The router the runtime mounts: the auth API at the configured base path. Merge it into the
/// application's router (it declares absolute paths; do not `nest` it).
#[derive(Clone)]
pub struct AuthRoutes(pub Router);

impl std::fmt::Debug for AuthRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthRoutes(..)")
    }
}

/// The auth endpoints of this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Ok,
    Error,
    SignUpEmail,
    SignInEmail,
    SignOut,
    GetSession,
    GetSessionPost,
    ListSessions,
    RevokeSession,
    RevokeSessions,
    RevokeOtherSessions,
    UpdateUser,
    ChangePassword,
    ChangeEmail,
    RequestPasswordReset,
    ResetPasswordLink,
    ResetPassword,
    SendVerificationEmail,
    VerifyEmail,
    DeleteUser,
    DeleteUserCallback,
    VerifyPassword,
    ListAccounts,
    // organization plugin (better-auth-api.md §7)
    OrgCreate,
    OrgCheckSlug,
    OrgUpdate,
    OrgDelete,
    OrgSetActive,
    OrgGet,
    OrgGetFull,
    OrgList,
    OrgHasPermission,
    OrgListMembers,
    OrgGetActiveMember,
    OrgGetActiveMemberRole,
    OrgUpdateMemberRole,
    OrgRemoveMember,
    OrgLeave,
    OrgInviteMember,
    OrgListInvitations,
    OrgListUserInvitations,
    OrgGetInvitation,
    OrgAcceptInvitation,
    OrgRejectInvitation,
    OrgCancelInvitation,
    OrgCreateTeam,
    OrgListTeams,
    OrgUpdateTeam,
    OrgRemoveTeam,
    OrgSetActiveTeam,
    OrgListUserTeams,
    OrgListTeamMembers,
    OrgAddTeamMember,
    OrgRemoveTeamMember,
    // api-key plugin (better-auth-api.md §8.3)
    ApiKeyCreate,
    ApiKeyGet,
    ApiKeyList,
    ApiKeyUpdate,
    ApiKeyDelete,
    /// An endpoint of one of the other plugins (`crate::plugins`; PLUGINS.md).
    Plugin(PluginEndpoint),
}

impl Endpoint {
    /// Sign-in and sign-up: login-CSRF checks, and form bodies accepted.
    fn is_login(&self) -> bool {
        matches!(self, Endpoint::SignUpEmail | Endpoint::SignInEmail)
    }
}

/// The route table: `(method, path below the base path)` → endpoint (+ path parameter).
pub fn route(method: &Method, path: &str) -> Option<(Endpoint, Option<String>)> {
    use Endpoint::*;
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    let endpoint = match path {
        "/ok" if get => Ok,
        "/error" if get => Error,
        "/sign-up/email" if post => SignUpEmail,
        "/sign-in/email" if post => SignInEmail,
        "/sign-out" if post => SignOut,
        "/get-session" if get => GetSession,
        "/get-session" if post => GetSessionPost,
        "/list-sessions" if get => ListSessions,
        "/revoke-session" if post => RevokeSession,
        "/revoke-sessions" if post => RevokeSessions,
        "/revoke-other-sessions" if post => RevokeOtherSessions,
        "/update-user" if post => UpdateUser,
        "/change-password" if post => ChangePassword,
        "/change-email" if post => ChangeEmail,
        "/request-password-reset" if post => RequestPasswordReset,
        "/reset-password" if post => ResetPassword,
        "/send-verification-email" if post => SendVerificationEmail,
        "/verify-email" if get => VerifyEmail,
        "/delete-user" if post => DeleteUser,
        "/delete-user/callback" if get => DeleteUserCallback,
        "/verify-password" if post => VerifyPassword,
        "/list-accounts" if get => ListAccounts,
        // organization plugin (better-auth-api.md §7)
        "/organization/create" if post => OrgCreate,
        "/organization/check-slug" if post => OrgCheckSlug,
        "/organization/update" if post => OrgUpdate,
        "/organization/delete" if post => OrgDelete,
        "/organization/set-active" if post => OrgSetActive,
        "/organization/get-organization" if get => OrgGet,
        "/organization/get-full-organization" if get => OrgGetFull,
        "/organization/list" if get => OrgList,
        "/organization/has-permission" if post => OrgHasPermission,
        "/organization/list-members" if get => OrgListMembers,
        "/organization/get-active-member" if get => OrgGetActiveMember,
        "/organization/get-active-member-role" if get => OrgGetActiveMemberRole,
        "/organization/update-member-role" if post => OrgUpdateMemberRole,
        "/organization/remove-member" if post => OrgRemoveMember,
        "/organization/leave" if post => OrgLeave,
        "/organization/invite-member" if post => OrgInviteMember,
        "/organization/list-invitations" if get => OrgListInvitations,
        "/organization/list-user-invitations" if get => OrgListUserInvitations,
        "/organization/get-invitation" if get => OrgGetInvitation,
        "/organization/accept-invitation" if post => OrgAcceptInvitation,
        "/organization/reject-invitation" if post => OrgRejectInvitation,
        "/organization/cancel-invitation" if post => OrgCancelInvitation,
        "/organization/create-team" if post => OrgCreateTeam,
        "/organization/list-teams" if get => OrgListTeams,
        "/organization/update-team" if post => OrgUpdateTeam,
        "/organization/remove-team" if post => OrgRemoveTeam,
        "/organization/set-active-team" if post => OrgSetActiveTeam,
        "/organization/list-user-teams" if get => OrgListUserTeams,
        "/organization/list-team-members" if get => OrgListTeamMembers,
        "/organization/add-team-member" if post => OrgAddTeamMember,
        "/organization/remove-team-member" if post => OrgRemoveTeamMember,
        // api-key plugin (better-auth-api.md §8.3)
        "/api-key/create" if post => ApiKeyCreate,
        "/api-key/get" if get => ApiKeyGet,
        "/api-key/list" if get => ApiKeyList,
        "/api-key/update" if post => ApiKeyUpdate,
        "/api-key/delete" if post => ApiKeyDelete,
        other => {
            if let Some(plugin) = crate::plugins::route(method, other) {
                return Some((Plugin(plugin), None));
            }
            let token = other.strip_prefix("/reset-password/").filter(|_| get)?;
            if token.is_empty() || token.contains('/') {
                return None;
            }
            let token = percent_decode_str(token).decode_utf8().ok()?.into_owned();
            return Some((ResetPasswordLink, Some(token)));
        }
    };
    Some((endpoint, None))
}

/// What the auth API's handlers share.
#[derive(Clone)]
pub struct AuthApi {
    pub service: Arc<AuthService>,
    pub api_keys: Arc<ApiKeyService>,
    pub limiter: Arc<RateLimiter>,
    pub plugins: Arc<Plugins>,
}

/// The auth API router (paths under `service.config().base_path`).
pub fn router(api: AuthApi) -> Router {
    let base = api.service.config().base_path.clone();
    Router::new()
        .route(&format!("{base}/{{*rest}}"), any(dispatch))
        .with_state(api)
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// The global limiter's 429 (§6): `X-Retry-After` and a code-less message.
fn too_many_requests(retry_after_secs: i64) -> Response {
    let body = serde_json::json!({"message": "Too many requests. Please try again later."});
    let mut response = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("x-retry-after", HeaderValue::from(retry_after_secs));
    response
}

async fn dispatch(State(api): State<AuthApi>, request: Request) -> Response {
    let service = &api.service;
    let config = service.config().clone();
    let path = request.uri().path().to_string();
    let Some(rest) = path.strip_prefix(config.base_path.as_str()) else {
        return not_found();
    };
    if api.limiter.enabled() {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        if let RateDecision::Limited { retry_after_secs } =
            api.limiter.check(rest, request.headers(), peer).await
        {
            return too_many_requests(retry_after_secs);
        }
    }
    let Some((endpoint, param)) = route(request.method(), rest) else {
        return not_found();
    };
    if let Endpoint::Plugin(plugin) = endpoint {
        if !plugin.enabled(&config.plugins) {
            return not_found();
        }
    }
    let names = config.cookie_names();
    let mut req =
        match AuthRequest::read(request, param, endpoint.is_login(), Arc::clone(&names)).await {
            Ok(req) => req,
            Err(error) => return error.into_response(),
        };
    if let Err(error) = origin::check_request(
        &req.method,
        &req.headers,
        endpoint.is_login(),
        &req.body,
        &req.query,
        &config,
    ) {
        return error.into_response();
    }
    // The API-key plugin's before-hook (§8.6), on every endpoint when the header is present.
    let presented = req
        .headers
        .get(API_KEY_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|v| !v.is_empty());
    if let Some(plain) = &presented {
        match api.api_keys.caller(plain, &req.client).await {
            Ok(caller) => req.api_key = Some(Box::new(caller)),
            Err(error) => return error.into_response(),
        }
    }
    // The anonymous plugin links after sign-ins and sign-ups: who was the caller before?
    let anonymous =
        crate::plugins::anonymous::routes::anonymous_caller(&api, &endpoint, &req).await;
    let mut reply = match handle(&api, endpoint, &req).await {
        Ok(reply) => reply,
        Err(error) => Reply::error(error),
    };
    crate::plugins::anonymous::routes::link_after(&api, &endpoint, anonymous.as_ref(), &reply)
        .await;
    if let Some(plain) = &presented {
        reply = reply.without_session_cookie_for(plain);
    }
    // The multi-session plugin's after-hooks (PLUGINS.md §5).
    reply = match crate::plugins::multi_session::routes::after(&api, &endpoint, &req, reply).await {
        Ok(reply) => reply,
        Err(error) => Reply::error(error),
    };
    // The jwt plugin's `set-auth-jwt` after-hook on get-session (PLUGINS.md §7).
    if endpoint == Endpoint::GetSession {
        reply = match crate::plugins::jwt::routes::after_get_session(&api, reply).await {
            Ok(reply) => reply,
            Err(error) => Reply::error(error),
        };
    }
    // The one-time-token plugin's `set-ott` after-hook (PLUGINS.md §6).
    reply = match crate::plugins::one_time_token::routes::after(&api, reply).await {
        Ok(reply) => reply,
        Err(error) => Reply::error(error),
    };
    // The last-login-method plugin's after-hook (PLUGINS.md §3).
    let last_login = &config.plugins.last_login_method;
    if let Some(method) = crate::plugins::last_login_method::method_of(&endpoint) {
        if last_login.enabled && reply.touches_session_cookie(&names.session_token) {
            reply = reply.with_readable_cookie(
                &last_login.cookie_name,
                method,
                last_login.max_age.as_secs(),
            );
        }
    }
    let reply = handlers::session::attach_cookie_cache(service, reply).await;
    reply.into_response(&config, &names)
}

async fn handle(
    api: &AuthApi,
    endpoint: Endpoint,
    req: &AuthRequest,
) -> Result<Reply, crate::error::IamError> {
    use handlers::{apikey, email, invitation, organization, session, sign, team, user};
    use Endpoint::*;
    let service = api.service.as_ref();
    match endpoint {
        Ok => Result::Ok(handlers::ok()),
        Error => Result::Ok(handlers::error_page(req)),
        SignUpEmail => sign::sign_up(api, req).await,
        SignInEmail => sign::sign_in(api, req).await,
        SignOut => sign::sign_out(service, req).await,
        GetSession => session::get_session(service, req).await,
        GetSessionPost => Result::Ok(handlers::get_session_post()),
        ListSessions => session::list_sessions(service, req).await,
        RevokeSession => session::revoke_session(service, req).await,
        RevokeSessions => session::revoke_sessions(service, req).await,
        RevokeOtherSessions => session::revoke_other_sessions(service, req).await,
        UpdateUser => user::update_user(api, req).await,
        ChangePassword => user::change_password(service, req).await,
        ChangeEmail => user::change_email(service, req).await,
        RequestPasswordReset => email::request_password_reset(service, req).await,
        ResetPasswordLink => email::reset_password_link(service, req).await,
        ResetPassword => email::reset_password(service, req).await,
        SendVerificationEmail => email::send_verification_email(service, req).await,
        VerifyEmail => email::verify_email(service, req).await,
        DeleteUser => user::delete_user(service, req).await,
        DeleteUserCallback => user::delete_user_callback(service, req).await,
        VerifyPassword => user::verify_password(service, req).await,
        ListAccounts => user::list_accounts(service, req).await,
        // organization plugin (better-auth-api.md §7)
        OrgCreate => organization::create(service, req).await,
        OrgCheckSlug => organization::check_slug_endpoint(service, req).await,
        OrgUpdate => organization::update(service, req).await,
        OrgDelete => organization::delete(service, req).await,
        OrgSetActive => organization::set_active(service, req).await,
        OrgGet => organization::get_organization(service, req).await,
        OrgGetFull => organization::get_full_organization(service, req).await,
        OrgList => organization::list(service, req).await,
        OrgHasPermission => organization::has_permission(service, req).await,
        OrgListMembers => organization::list_members(service, req).await,
        OrgGetActiveMember => organization::get_active_member(service, req).await,
        OrgGetActiveMemberRole => organization::get_active_member_role(service, req).await,
        OrgUpdateMemberRole => organization::update_member_role(service, req).await,
        OrgRemoveMember => organization::remove_member(service, req).await,
        OrgLeave => organization::leave(service, req).await,
        OrgInviteMember => invitation::invite_member(service, req).await,
        OrgListInvitations => invitation::list_invitations(service, req).await,
        OrgListUserInvitations => invitation::list_user_invitations(service, req).await,
        OrgGetInvitation => invitation::get_invitation(service, req).await,
        OrgAcceptInvitation => invitation::accept_invitation(service, req).await,
        OrgRejectInvitation => invitation::reject_invitation(service, req).await,
        OrgCancelInvitation => invitation::cancel_invitation(service, req).await,
        OrgCreateTeam => team::create_team(service, req).await,
        OrgListTeams => team::list_teams(service, req).await,
        OrgUpdateTeam => team::update_team(service, req).await,
        OrgRemoveTeam => team::remove_team(service, req).await,
        OrgSetActiveTeam => team::set_active_team(service, req).await,
        OrgListUserTeams => team::list_user_teams(service, req).await,
        OrgListTeamMembers => team::list_team_members(service, req).await,
        OrgAddTeamMember => team::add_team_member(service, req).await,
        OrgRemoveTeamMember => team::remove_team_member(service, req).await,
        // api-key plugin (better-auth-api.md §8.3)
        ApiKeyCreate => apikey::create(service, &api.api_keys, req).await,
        ApiKeyGet => apikey::get(service, &api.api_keys, req).await,
        ApiKeyList => apikey::list(service, &api.api_keys, req).await,
        ApiKeyUpdate => apikey::update(service, &api.api_keys, req).await,
        ApiKeyDelete => apikey::delete(service, &api.api_keys, req).await,
        Plugin(plugin) => crate::plugins::handle(api, plugin, req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_exactly() {
        assert_eq!(route(&Method::GET, "/ok").map(|r| r.0), Some(Endpoint::Ok));
        assert_eq!(route(&Method::POST, "/ok"), None, "wrong method is 404");
        assert_eq!(route(&Method::GET, "/ok/"), None, "trailing slash is 404");
        assert_eq!(route(&Method::GET, "//ok"), None);
        assert_eq!(route(&Method::GET, "/sign-in/email"), None);
        assert_eq!(
            route(&Method::GET, "/reset-password/Abc123"),
            Some((Endpoint::ResetPasswordLink, Some("Abc123".to_string())))
        );
        assert_eq!(route(&Method::GET, "/reset-password/a/b"), None);
        assert_eq!(route(&Method::GET, "/forget-password"), None);
        assert_eq!(
            route(&Method::POST, "/get-session").map(|r| r.0),
            Some(Endpoint::GetSessionPost)
        );
        assert_eq!(
            route(&Method::POST, "/api-key/create").map(|r| r.0),
            Some(Endpoint::ApiKeyCreate)
        );
        assert_eq!(route(&Method::GET, "/api-key/create"), None);
        assert_eq!(route(&Method::POST, "/api-key/verify"), None, "server-only");
    }

    #[test]
    fn organization_routes_match_exactly() {
        assert_eq!(
            route(&Method::POST, "/organization/create").map(|r| r.0),
            Some(Endpoint::OrgCreate)
        );
        assert_eq!(route(&Method::GET, "/organization/create"), None);
        assert_eq!(
            route(&Method::GET, "/organization/get-full-organization").map(|r| r.0),
            Some(Endpoint::OrgGetFull)
        );
        assert_eq!(route(&Method::POST, "/organization/list"), None);
        assert_eq!(route(&Method::GET, "/organization/list/"), None);
        assert_eq!(
            route(&Method::POST, "/organization/create-role"),
            None,
            "dynamic roles are off"
        );
    }
}

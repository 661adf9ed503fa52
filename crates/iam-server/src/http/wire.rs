//! The JSON shapes of the auth API (`specs/better-auth-api.md` §2.11): better-auth's User,
//! Session and Account objects, built from the shared rows. Dates are ISO-8601 UTC with
//! milliseconds; nullable fields are present as `null`.

use serde_json::{json, Value};
use shared_server::entities::{Session, User};

use crate::config::IamConfig;
use crate::entities::Account;

/// `{id, name, email, emailVerified, image, createdAt, updatedAt}`, plus the fields the enabled
/// plugins add to better-auth's user (`username`, `displayUsername`, `twoFactorEnabled`,
/// `isAnonymous`, `lastLoginMethod`; PLUGINS.md).
pub fn user(config: &IamConfig, user: &User) -> Value {
    let mut value = json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "emailVerified": user.email_verified,
        "image": user.image,
        "createdAt": user.audit.created_at,
        "updatedAt": user.audit.updated_at,
    });
    let plugins = &config.plugins;
    if plugins.username.enabled {
        value["username"] = json!(user.username);
        value["displayUsername"] = json!(user.display_username);
    }
    if plugins.two_factor.enabled {
        value["twoFactorEnabled"] = json!(user.two_factor_enabled);
    }
    if plugins.anonymous.enabled {
        value["isAnonymous"] = json!(user.is_anonymous);
    }
    if plugins.last_login_method.enabled && plugins.last_login_method.store_in_database {
        value["lastLoginMethod"] = json!(user.last_login_method);
    }
    value
}

/// `{id, token, userId, expiresAt, createdAt, updatedAt, ipAddress, userAgent,
/// activeOrganizationId, activeTeamId}` (the token is returned on purpose, as better-auth does).
pub fn session(session: &Session) -> Value {
    json!({
        "id": session.id,
        "token": session.token,
        "userId": session.user_id,
        "expiresAt": session.expires_at,
        "createdAt": session.audit.created_at,
        "updatedAt": session.audit.updated_at,
        "ipAddress": session.ip_address.clone().unwrap_or_default(),
        "userAgent": session.user_agent.clone().unwrap_or_default(),
        "activeOrganizationId": session.active_organization_id,
        "activeTeamId": session.active_team_id,
    })
}

/// `{id, accountId, providerId, userId, createdAt, updatedAt, scopes}`; tokens and the
/// password never leave the server.
pub fn account(account: &Account) -> Value {
    let scopes: Vec<&str> = account
        .scope
        .as_deref()
        .map(|s| {
            s.split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": account.id,
        "accountId": account.account_id,
        "providerId": account.provider_id,
        "userId": account.user_id,
        "createdAt": account.audit.created_at,
        "updatedAt": account.audit.updated_at,
        "scopes": scopes,
    })
}

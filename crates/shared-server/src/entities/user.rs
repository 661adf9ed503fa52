//! `shared_user`: the identity every slice references (not organization-scoped). Emails and
//! usernames are stored lowercased so lookups are case-insensitive on both backends.

use serde::{Deserialize, Serialize};

use super::{invalid, Audit};
use crate::db::repo::{Entity, ListFilter, NewRow, PatchRow, Unscoped};
use crate::db::Columns;
use crate::db::{RepoError, SqlValue};
use crate::time::Timestamp;

crate::entity_id!(
    /// Id of a `shared_user` row.
    UserId,
    "shared_user"
);

crate::string_enum!(
    /// Platform role (admin endpoints).
    #[derive(Default)]
    UserRole { Admin = "admin", #[default] User = "user" }
);

/// Max bytes per uploaded file for a new user.
pub const DEFAULT_UPLOAD_LIMIT: i64 = 100_000_000;

/// A `shared_user` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub role: UserRole,
    pub banned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban_expires: Option<Timestamp>,
    pub is_anonymous: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub two_factor_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_username: Option<String>,
    pub upload_limit: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_method: Option<String>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for User {
    type Id = UserId;
    type New = NewUser;
    type Patch = UserPatch;
    type Filter = UserFilter;
    type Scope = Unscoped;
    const TABLE: &'static str = "shared_user";
    const NAME: &'static str = "User";

    fn id(&self) -> &UserId {
        &self.id
    }

    crate::repo_spans!("UserRepo");
}

/// Trims and lowercases an email; rejects text that cannot be an address.
pub fn normalize_email(email: &str) -> Result<String, RepoError> {
    let email = email.trim().to_lowercase();
    let well_formed = email.len() <= 320
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if well_formed {
        Ok(email)
    } else {
        Err(invalid("email must look like local@domain"))
    }
}

/// Trims and lowercases a username; it must not be empty.
pub fn normalize_username(username: &str) -> Result<String, RepoError> {
    let username = username.trim().to_lowercase();
    if username.is_empty() || username.chars().count() > 255 {
        return Err(invalid("username must have 1 to 255 characters"));
    }
    Ok(username)
}

/// A user to insert. `NewUser::new(name, email)` sets the table defaults for the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub role: UserRole,
    pub banned: bool,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<Timestamp>,
    pub is_anonymous: bool,
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub two_factor_enabled: bool,
    /// Stored lowercased; `display_username` defaults to it as typed.
    pub username: Option<String>,
    pub display_username: Option<String>,
    pub upload_limit: i64,
    pub stripe_customer_id: Option<String>,
    pub last_login_method: Option<String>,
    pub source: Option<String>,
}

impl NewUser {
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
            email_verified: false,
            image: None,
            role: UserRole::User,
            banned: false,
            ban_reason: None,
            ban_expires: None,
            is_anonymous: false,
            phone_number: None,
            phone_number_verified: false,
            two_factor_enabled: false,
            username: None,
            display_username: None,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            stripe_customer_id: None,
            last_login_method: None,
            source: None,
        }
    }
}

fn check_upload_limit(limit: i64) -> Result<i64, RepoError> {
    if limit < 0 {
        return Err(invalid("upload_limit must not be negative"));
    }
    Ok(limit)
}

impl NewRow for NewUser {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let email = normalize_email(&self.email)?;
        let display_username = self
            .display_username
            .or_else(|| self.username.as_ref().map(|u| u.trim().to_string()));
        let username = self
            .username
            .as_deref()
            .map(normalize_username)
            .transpose()?;
        let mut c = Columns::default();
        c.set("name", self.name)
            .set("email", email)
            .set("email_verified", self.email_verified)
            .set("image", self.image)
            .set("role", self.role)
            .set("banned", self.banned)
            .set("ban_reason", self.ban_reason)
            .set("ban_expires", self.ban_expires)
            .set("is_anonymous", self.is_anonymous)
            .set("phone_number", self.phone_number)
            .set("phone_number_verified", self.phone_number_verified)
            .set("two_factor_enabled", self.two_factor_enabled)
            .set("username", username)
            .set("display_username", display_username)
            .set("upload_limit", check_upload_limit(self.upload_limit)?)
            .set("stripe_customer_id", self.stripe_customer_id)
            .set("last_login_method", self.last_login_method)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of a user: `None` leaves a column as it is; for nullable columns
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub image: Option<Option<String>>,
    pub role: Option<UserRole>,
    pub banned: Option<bool>,
    pub ban_reason: Option<Option<String>>,
    pub ban_expires: Option<Option<Timestamp>>,
    pub is_anonymous: Option<bool>,
    pub phone_number: Option<Option<String>>,
    pub phone_number_verified: Option<bool>,
    pub two_factor_enabled: Option<bool>,
    pub username: Option<Option<String>>,
    pub display_username: Option<Option<String>>,
    pub upload_limit: Option<i64>,
    pub stripe_customer_id: Option<Option<String>>,
    pub last_login_method: Option<Option<String>>,
    pub source: Option<Option<String>>,
}

impl PatchRow for UserPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let email = self.email.as_deref().map(normalize_email).transpose()?;
        let username = self
            .username
            .map(|u| u.as_deref().map(normalize_username).transpose())
            .transpose()?;
        let upload_limit = self.upload_limit.map(check_upload_limit).transpose()?;
        let mut c = Columns::default();
        c.patch("name", self.name)
            .patch("email", email)
            .patch("email_verified", self.email_verified)
            .patch("image", self.image)
            .patch("role", self.role)
            .patch("banned", self.banned)
            .patch("ban_reason", self.ban_reason)
            .patch("ban_expires", self.ban_expires)
            .patch("is_anonymous", self.is_anonymous)
            .patch("phone_number", self.phone_number)
            .patch("phone_number_verified", self.phone_number_verified)
            .patch("two_factor_enabled", self.two_factor_enabled)
            .patch("username", username)
            .patch("display_username", self.display_username)
            .patch("upload_limit", upload_limit)
            .patch("stripe_customer_id", self.stripe_customer_id)
            .patch("last_login_method", self.last_login_method)
            .patch("source", self.source);
        c.finish()
    }
}

/// Which users `list`/`count` return (unset fields do not filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub role: Option<UserRole>,
    pub banned: Option<bool>,
}

impl ListFilter for UserFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        let mut c = Vec::new();
        if let Some(role) = self.role {
            c.push(("role", role.into()));
        }
        if let Some(banned) = self.banned {
            c.push(("banned", banned.into()));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_usernames_are_lowercased() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a da@example.com",
            "a@b@c",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalize_username(" Ada_L ").unwrap(), "ada_l");
        assert!(normalize_username("  ").is_err());
    }

    #[test]
    fn display_username_keeps_the_typed_form() {
        let new = NewUser {
            username: Some("AdaL".into()),
            ..NewUser::new("Ada", "ada@example.com")
        };
        let columns = new.into_columns(Timestamp::now()).unwrap();
        let get = |name: &str| {
            columns
                .iter()
                .find(|(c, _)| *c == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("username"), Some(SqlValue::Text(Some("adal".into()))));
        assert_eq!(
            get("display_username"),
            Some(SqlValue::Text(Some("AdaL".into())))
        );
    }

    #[test]
    fn patch_writes_only_set_fields() {
        let patch = UserPatch {
            image: Some(None),
            name: Some("B".into()),
            ..UserPatch::default()
        };
        let columns = patch.into_columns(Timestamp::now()).unwrap();
        assert_eq!(
            columns,
            vec![
                ("name", SqlValue::Text(Some("B".into()))),
                ("image", SqlValue::Text(None))
            ]
        );
    }
}

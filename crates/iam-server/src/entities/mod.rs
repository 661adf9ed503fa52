//! Row types of the IAM tables (slices.md §2.1): per table its id newtype, row struct (decoded
//! on both backends), the `New…` struct an insert takes, the `…Patch` struct a partial update
//! takes and its list filter. Values are checked when they become columns, so half-valid rows
//! never reach the database.
//!
//! The tables without a feature yet (roles) exist in the migration; their row types arrive
//! with their features. The database rate limiter (`iam_rate_limit`) has no row type:
//! `RateLimitRepo` only runs its one upsert.

mod account;
mod apikey;
mod invitation;
mod member;
mod team_member;
mod verification;

use shared_server::db::{RepoError, SqlValue};

pub use account::{
    Account, AccountFilter, AccountId, AccountPatch, NewAccount, CREDENTIAL_PROVIDER,
};
pub use apikey::{
    ApiKey, ApiKeyFilter, ApiKeyId, ApiKeyPatch, NewApiKey, DEFAULT_RATE_LIMIT_MAX,
    DEFAULT_RATE_LIMIT_TIME_WINDOW_MS,
};
pub use invitation::{
    Invitation, InvitationFilter, InvitationId, InvitationPatch, InvitationStatus, NewInvitation,
    PENDING_INVITATION_UQ,
};
pub use member::{
    Member, MemberFilter, MemberId, MemberPatch, MemberRole, MemberRoles, MemberStatus, NewMember,
};
pub use team_member::{NewTeamMember, TeamMember, TeamMemberFilter, TeamMemberId, TeamMemberPatch};
pub use verification::{NewVerification, Verification, VerificationId, VerificationPatch};

pub(crate) fn invalid(message: impl Into<String>) -> RepoError {
    RepoError::Invalid {
        message: message.into(),
    }
}

/// A column list being built: `set` always writes, `patch` only when the field is set.
#[derive(Default)]
pub(crate) struct Columns(Vec<(&'static str, SqlValue)>);

impl Columns {
    pub(crate) fn set(&mut self, column: &'static str, value: impl Into<SqlValue>) -> &mut Self {
        self.0.push((column, value.into()));
        self
    }

    pub(crate) fn patch<V: Into<SqlValue>>(
        &mut self,
        column: &'static str,
        value: Option<V>,
    ) -> &mut Self {
        if let Some(value) = value {
            self.0.push((column, value.into()));
        }
        self
    }

    pub(crate) fn finish(self) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        Ok(self.0)
    }
}

/// Binds id newtypes directly (`SqlValue::from(&account_id)`).
macro_rules! id_sql_value {
    ($($id:ty),+) => {$(
        impl From<$id> for SqlValue {
            fn from(id: $id) -> Self {
                SqlValue::Text(Some(id.as_str().to_string()))
            }
        }
        impl From<&$id> for SqlValue {
            fn from(id: &$id) -> Self {
                SqlValue::Text(Some(id.as_str().to_string()))
            }
        }
    )+};
}
pub(crate) use id_sql_value;

/// An enum stored as TEXT + CHECK: `as_str`, `FromStr`, serde, sqlx decoding from TEXT on both
/// backends and `SqlValue` binding. The `#[default]` variant is the column default.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = shared_server::entities::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(shared_server::entities::UnknownVariant {
                        kind: stringify!($name),
                        value: s.chars().take(64).collect(),
                    }),
                }
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }

        impl From<$name> for SqlValue {
            fn from(v: $name) -> Self {
                SqlValue::Text(Some(v.as_str().to_string()))
            }
        }
    };
}
pub(crate) use string_enum;

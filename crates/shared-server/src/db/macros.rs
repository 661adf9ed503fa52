//! The declarations every slice's entities repeat, written once (issue 19, point 4):
//! [`string_enum!`](crate::string_enum) for enums stored as TEXT + CHECK (slices.md §0.2) and
//! [`id_sql_value!`](crate::id_sql_value) for binding id newtypes.

/// An enum stored as TEXT (+ CHECK): `ALL`, `as_str`, `Display`, `FromStr` (error [`UnknownVariant`](crate::entities::UnknownVariant)),
/// serde as the same strings, sqlx decoding from TEXT on any backend, and `SqlValue` binding.
/// The calling crate needs `serde` (the derives name it). A column with a default derives
/// `Default` and marks that variant `#[default]`.
///
/// ```ignore
/// shared_server::string_enum!(
///     /// How a member takes part.
///     #[derive(Default)]
///     MemberStatus { #[default] Active = "active", Invited = "invited" }
/// );
/// ```
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
            type Err = $crate::entities::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::entities::UnknownVariant {
                        kind: stringify!($name),
                        value: s.chars().take(64).collect(),
                    }),
                }
            }
        }

        impl<DB: $crate::__sqlx::Database> $crate::__sqlx::Type<DB> for $name
        where
            String: $crate::__sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as $crate::__sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as $crate::__sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: $crate::__sqlx::Database> $crate::__sqlx::Decode<'r, DB> for $name
        where
            &'r str: $crate::__sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: DB::ValueRef<'r>,
            ) -> Result<Self, $crate::__sqlx::error::BoxDynError> {
                let text = <&'r str as $crate::__sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }

        impl From<$name> for $crate::db::SqlValue {
            fn from(v: $name) -> Self {
                $crate::db::SqlValue::Text(Some(v.as_str().to_string()))
            }
        }
    };
}

/// Binds id newtypes directly: `SqlValue::from(id)` and `from(&id)` (an `Option` of any id binds
/// through the blanket `From<Option<impl EntityId>>`).
///
/// ```ignore
/// shared_server::id_sql_value!(DocumentId, FolderId);
/// ```
#[macro_export]
macro_rules! id_sql_value {
    ($($id:ty),+ $(,)?) => {$(
        impl From<$id> for $crate::db::SqlValue {
            fn from(id: $id) -> Self {
                $crate::db::SqlValue::Text(Some(id.as_str().to_string()))
            }
        }
        impl From<&$id> for $crate::db::SqlValue {
            fn from(id: &$id) -> Self {
                $crate::db::SqlValue::Text(Some(id.as_str().to_string()))
            }
        }
    )+};
}

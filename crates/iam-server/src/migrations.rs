//! The iam slice's migrations (after `shared`, whose users, organizations and teams the IAM
//! tables reference). Tables are written per dialect because column types differ (slices.md
//! §0.4); the indexes are one file appended to both.

use shared_server::db::migrate::{Migration, SliceMigrations};

/// Migrations of the `iam` slice.
pub const IAM_MIGRATIONS: SliceMigrations = SliceMigrations {
    slice: "iam",
    depends_on: &["shared"],
    migrations: &[
        Migration {
            version: 1,
            name: "iam_tables",
            sqlite: concat!(
                include_str!("../migrations/sqlite/0001_iam_tables.sql"),
                include_str!("../migrations/common/0001_iam_indexes.sql"),
            ),
            postgres: concat!(
                include_str!("../migrations/postgres/0001_iam_tables.sql"),
                include_str!("../migrations/common/0001_iam_indexes.sql"),
            ),
        },
        // Multi-role memberships (`admin,member`), better-auth-api.md §7.1.
        Migration {
            version: 2,
            name: "iam_member_role_list",
            sqlite: include_str!("../migrations/sqlite/0002_iam_member_role_list.sql"),
            postgres: include_str!("../migrations/postgres/0002_iam_member_role_list.sql"),
        },
        // The two-factor plugin's enrolments (PLUGINS.md §2.5).
        Migration {
            version: 3,
            name: "iam_two_factor",
            sqlite: include_str!("../migrations/sqlite/0003_iam_two_factor.sql"),
            postgres: include_str!("../migrations/postgres/0003_iam_two_factor.sql"),
        },
        // The jwt plugin's signing keys (PLUGINS.md §7).
        Migration {
            version: 4,
            name: "iam_jwks",
            sqlite: include_str!("../migrations/sqlite/0004_iam_jwks.sql"),
            postgres: include_str!("../migrations/postgres/0004_iam_jwks.sql"),
        },
    ],
};

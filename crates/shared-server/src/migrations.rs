//! The shared slice's migrations. They run first: every other slice references these tables.
//!
//! The tables are written per dialect (`migrations/{sqlite,postgres}/`) because column types
//! differ (slices.md §0.4); the indexes are one file appended to both.

use crate::db::migrate::{Migration, SliceMigrations};

/// Migrations of the `shared` slice (no dependencies).
pub const SHARED_MIGRATIONS: SliceMigrations = SliceMigrations {
    slice: "shared",
    depends_on: &[],
    migrations: &[Migration {
        version: 1,
        name: "shared_tables",
        sqlite: concat!(
            include_str!("../migrations/sqlite/0001_shared_tables.sql"),
            include_str!("../migrations/common/0001_shared_indexes.sql"),
        ),
        postgres: concat!(
            include_str!("../migrations/postgres/0001_shared_tables.sql"),
            include_str!("../migrations/common/0001_shared_indexes.sql"),
        ),
    }],
};

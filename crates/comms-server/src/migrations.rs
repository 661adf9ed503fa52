//! The comms slice's migrations (after `shared`, whose users and organizations the comms tables
//! reference). Tables are written per dialect because column types differ (slices.md §0.4); the
//! indexes are one file appended to both.

use shared_server::db::migrate::{Migration, SliceMigrations};

/// Migrations of the `comms` slice.
pub const COMMS_MIGRATIONS: SliceMigrations = SliceMigrations {
    slice: "comms",
    depends_on: &["shared"],
    migrations: &[Migration {
        version: 1,
        name: "comms_tables",
        sqlite: concat!(
            include_str!("../migrations/sqlite/0001_comms_tables.sql"),
            include_str!("../migrations/common/0001_comms_indexes.sql"),
        ),
        postgres: concat!(
            include_str!("../migrations/postgres/0001_comms_tables.sql"),
            include_str!("../migrations/common/0001_comms_indexes.sql"),
        ),
    }],
};

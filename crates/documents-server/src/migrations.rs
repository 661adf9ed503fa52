//! The documents slice's migrations (after `shared`, whose users and organizations the tables
//! reference). Tables and search structures are written per dialect (FTS5 on SQLite, a
//! generated tsvector on PostgreSQL, slices.md §3.2); the plain indexes are one file appended
//! to both.

use shared_server::db::migrate::{Migration, SliceMigrations};

/// Migrations of the `documents` slice.
pub const DOCUMENTS_MIGRATIONS: SliceMigrations = SliceMigrations {
    slice: "documents",
    depends_on: &["shared"],
    migrations: &[Migration {
        version: 1,
        name: "documents_tables",
        sqlite: concat!(
            include_str!("../migrations/sqlite/0001_documents_tables.sql"),
            include_str!("../migrations/common/0001_documents_indexes.sql"),
        ),
        postgres: concat!(
            include_str!("../migrations/postgres/0001_documents_tables.sql"),
            include_str!("../migrations/common/0001_documents_indexes.sql"),
        ),
    }],
};

//! The persistence layer: database pool, object storage and clock, built from `AppConfig`.

pub mod s3;

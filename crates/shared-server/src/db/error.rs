//! Database errors: `DbError` for connecting and migrating, `RepoError` for repository calls
//! (mapped to HTTP statuses and RPC failures in one place, slices.md §0.7).

/// Connecting to, probing or migrating the database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid DATABASE_URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("could not connect to {target} after {attempts} attempt(s): {message}")]
    Unreachable {
        target: String,
        attempts: u32,
        message: String,
    },
    #[error("{path} is not a SQLite database (or it is corrupt): {message}; the file was left untouched")]
    NotADatabase { path: String, message: String },
    #[error(
        "{path} holds another application's tables ({tables}) and no `_migrations` table; \
         refusing to use it (the file was left untouched). Point DATABASE_URL at a new file."
    )]
    ForeignDatabase { path: String, tables: String },
    #[error("database query failed on {target}: {message}")]
    Query { target: String, message: String },
    #[error(transparent)]
    Migration(#[from] super::migrate::MigrationError),
}

/// A repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{entity} `{id}` not found")]
    NotFound { entity: &'static str, id: String },
    #[error("conflict on `{constraint}`")]
    Conflict { constraint: String },
    #[error(
        "{entity} `{id}` was changed concurrently: expected version {expected}, found {actual}"
    )]
    VersionConflict {
        entity: &'static str,
        id: String,
        expected: i32,
        actual: i32,
    },
    #[error("referenced row does not exist (`{constraint}`)")]
    ForeignKey { constraint: String },
    #[error("the pagination cursor no longer exists")]
    InvalidCursor,
    #[error("invalid input: {message}")]
    Invalid { message: String },
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl RepoError {
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        RepoError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, RepoError::NotFound { .. })
    }

    /// Whether the database could not be used at all (unreachable, connection lost, pool
    /// exhausted): answered as 503 / the RPC transient interrupt, not as an internal error.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, RepoError::Database(source) if super::is_unavailable(source))
    }

    /// Whether retrying the whole transaction may succeed (SQLite busy, PostgreSQL
    /// serialization failure or deadlock).
    pub fn is_retryable(&self) -> bool {
        match self {
            RepoError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("5" | "517" | "40001" | "40P01"))
            }
            _ => false,
        }
    }
}

impl From<sqlx::Error> for RepoError {
    /// Unique and foreign-key violations become `Conflict`/`ForeignKey` with the deterministic
    /// constraint name (`<table>_<cols>_uq`): PostgreSQL reports it; for SQLite it is derived
    /// from the message's column list (`UNIQUE constraint failed: t.a, t.b` -> `t_a_b_uq`).
    fn from(error: sqlx::Error) -> Self {
        let sqlx::Error::Database(db) = &error else {
            return RepoError::Database(error);
        };
        let constraint = db
            .constraint()
            .map(str::to_string)
            .or_else(|| sqlite_unique_constraint(db.message()));
        match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => RepoError::Conflict {
                constraint: constraint.unwrap_or_else(|| "unique".to_string()),
            },
            sqlx::error::ErrorKind::ForeignKeyViolation => RepoError::ForeignKey {
                constraint: constraint.unwrap_or_else(|| "foreign_key".to_string()),
            },
            _ => RepoError::Database(error),
        }
    }
}

fn sqlite_unique_constraint(message: &str) -> Option<String> {
    let columns = message.strip_prefix("UNIQUE constraint failed: ")?;
    let mut table = None;
    let mut names = Vec::new();
    for qualified in columns.split(", ") {
        let (t, column) = qualified.split_once('.')?;
        table.get_or_insert(t);
        names.push(column);
    }
    Some(format!("{}_{}_uq", table?, names.join("_")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn derives_sqlite_constraint_names() {
        assert_eq!(
            super::sqlite_unique_constraint(
                "UNIQUE constraint failed: shared_team.organization_id, shared_team.name"
            )
            .as_deref(),
            Some("shared_team_organization_id_name_uq")
        );
        assert_eq!(
            super::sqlite_unique_constraint("NOT NULL constraint failed: t.a"),
            None
        );
    }
}

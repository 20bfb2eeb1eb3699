//! The store's error type: database failures normalized into what callers can act on.

/// Result of a storage operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while storing or loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of record.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Someone else changed the record first, or a unique value is taken.
    #[error("{0}")]
    Conflict(String),
    /// The database URL names no backend we have.
    #[error("unsupported database URL `{0}`: use sqlite:PATH or postgres://...")]
    UnknownScheme(String),
    /// A SQLite file's folder does not exist; we never create a database somewhere unexpected.
    #[error("the folder of the SQLite database `{0}` does not exist; create it or fix the path")]
    MissingFolder(String),
    /// A worker's claim on a target is gone (another worker claimed it since): its write was refused.
    #[error("{0}")]
    LeaseLost(String),
    /// A stored value no longer parses as its domain type.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl Error {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not-found",
            Error::Conflict(_) => "conflict",
            Error::LeaseLost(_) => "lease-lost",
            Error::UnknownScheme(_) | Error::MissingFolder(_) => "invalid-database-url",
            Error::Corrupt(_) => "corrupt-data",
            Error::Migrate(_) => "migration-failed",
            Error::Database(_) => "database-error",
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Error::Conflict(format!("already exists ({})", db.message()))
            }
            _ => Error::Database(e),
        }
    }
}

impl From<natronfx_workflow::Error> for Error {
    fn from(e: natronfx_workflow::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}

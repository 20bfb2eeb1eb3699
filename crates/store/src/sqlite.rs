//! The SQLite backend: one file, WAL, foreign keys on, writers serialized with `BEGIN IMMEDIATE`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

// `BEGIN IMMEDIATE` already serializes writers, so the audit chain needs no extra lock.
crate::sql::impl_sql_store!(SqliteStore, Sqlite, None);
// No row locks: the write transaction is already exclusive.
crate::sql_dispatch::impl_sql_dispatch!(SqliteStore, Sqlite, "", None);
crate::sql_provenance::impl_sql_provenance!(SqliteStore, Sqlite);
// The refresh lock is `BEGIN IMMEDIATE` itself: SQLite has no row locks.
crate::sql_connections::impl_sql_connections!(SqliteStore, Sqlite, "");
crate::sql_sessions::impl_sql_sessions!(SqliteStore, Sqlite);
// `BEGIN IMMEDIATE` already keeps every other writer out while media are released.
crate::sql_retention::impl_sql_retention!(SqliteStore, Sqlite, None);

/// A SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating the file if needed) and migrates `url` (`sqlite:PATH`). The folder must exist.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| Error::UnknownScheme(url.to_owned()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let path = options.get_filename();
        let in_memory = path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:");
        if !in_memory {
            let folder = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !folder.is_dir() {
                return Err(Error::MissingFolder(path.display().to_string()));
            }
        }
        let pool = SqlitePoolOptions::new()
            // An in-memory database lives in one connection; a file is shared by many readers.
            .max_connections(if in_memory { 1 } else { 8 })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// A write transaction that takes the write lock up front, so it never fails later with
    /// `SQLITE_BUSY` when a read would have to be upgraded.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

#[async_trait]
impl crate::Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

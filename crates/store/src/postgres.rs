//! The PostgreSQL backend, for several processes sharing one database.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

// Writers of the audit log take a transaction-scoped advisory lock (key: "nfxaudit" as bytes) before
// reading the chain head.
crate::sql::impl_sql_store!(
    PgStore,
    Postgres,
    Some("SELECT pg_advisory_xact_lock(7954953170237281652)")
);
// Claims skip rows another process holds; rate slots are counted under the account's row lock.
crate::sql_dispatch::impl_sql_dispatch!(
    PgStore,
    Postgres,
    " FOR UPDATE OF t SKIP LOCKED",
    Some("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
);
crate::sql_provenance::impl_sql_provenance!(PgStore, Postgres);
crate::sql_connections::impl_sql_connections!(PgStore, Postgres, " FOR NO KEY UPDATE");
crate::sql_sessions::impl_sql_sessions!(PgStore, Postgres);
// Releasing media holds off writers of slides and targets for that one statement, so a post scheduled at
// the same moment is either seen (and keeps its media) or waits.
crate::sql_retention::impl_sql_retention!(
    PgStore,
    Postgres,
    Some("LOCK TABLE slides, targets IN SHARE MODE")
);

/// A PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and applies migrations (under PostgreSQL's advisory lock, so several processes
    /// starting at once are safe).
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

#[async_trait]
impl crate::Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

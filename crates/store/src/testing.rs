//! Throw-away databases for tests: a fresh SQLite file, or a fresh PostgreSQL database on the server
//! named by `NATRONFX_TEST_POSTGRES_URL`.
//!
//! PostgreSQL tests never skip silently: when the variable is missing they fail, saying how to set it.

use std::sync::Arc;

use sqlx::Connection;

use crate::Store;

/// Environment variable holding an admin URL of the PostgreSQL server the tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "NATRONFX_TEST_POSTGRES_URL";

/// A database that exists for one test. SQLite files are removed with the temporary folder.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to hand to the code under test.
    pub url: String,
    _dir: Option<tempfile_dir::TempDir>,
}

mod tempfile_dir {
    //! A minimal temporary folder, so this feature needs no extra dependency.
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> std::io::Result<Self> {
            let path = std::env::temp_dir().join(format!("natronfx-test-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&path)?;
            Ok(TempDir(path))
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDb {
    /// A fresh SQLite database file.
    pub fn sqlite() -> TestDb {
        let dir = tempfile_dir::TempDir::new().expect("create a temporary folder");
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        TestDb {
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh, empty PostgreSQL database on the test server.
    ///
    /// # Panics
    /// When `NATRONFX_TEST_POSTGRES_URL` is unset or the server cannot be reached: a test that was meant to
    /// run on PostgreSQL must not pass without it.
    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{POSTGRES_URL_VAR} is not set: PostgreSQL tests need a server, e.g. \
                 {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/postgres (tests/run sets it)"
            )
        });
        let name = format!("natronfx_t_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot reach PostgreSQL at {}: {e}",
                    crate::redact_url(&admin_url)
                )
            });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        let _ = conn.close().await;
        let url = match admin_url.rfind('/') {
            Some(slash)
                if admin_url[..slash].contains("://")
                    && slash > admin_url.find("://").unwrap_or(0) + 2 =>
            {
                let (base, rest) = admin_url.split_at(slash);
                let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
                format!("{base}/{name}{query}")
            }
            _ => format!("{}/{name}", admin_url.trim_end_matches('/')),
        };
        TestDb { url, _dir: None }
    }

    /// Opens the store on this database (migrating it).
    pub async fn open(&self) -> Arc<dyn Store> {
        crate::connect(&self.url)
            .await
            .expect("open the test database")
    }
}

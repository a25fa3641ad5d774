//! Throw-away databases for tests: a temporary SQLite file, or a fresh PostgreSQL schema.
//!
//! Each is migrated on creation and removed on drop. PostgreSQL is found at
//! `HUBBOOK_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); if it cannot be
//! reached the test fails, it never skips.

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::{connect, Backend, DbPool, PoolOptions, StoreError};

/// The PostgreSQL server tests use unless `HUBBOOK_TEST_PG_URL` says otherwise.
pub const DEFAULT_TEST_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A migrated, isolated database that disappears when dropped.
pub struct TestDb {
    /// The URL to give to the application under test.
    pub url: String,
    /// Which backend it is.
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Schema { admin_url: String, schema: String },
}

impl TestDb {
    /// A fresh SQLite file in the system temporary directory.
    pub fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("hubbook-test-{}.db", crate::new_id()));
        let db = Self {
            url: format!("sqlite://{}", path.display()),
            backend: Backend::Sqlite,
            cleanup: Cleanup::File(path),
        };
        db.migrate();
        db
    }

    /// A fresh schema on the test PostgreSQL server, selected through the connection's `search_path`.
    ///
    /// # Panics
    /// When the server cannot be reached: the PostgreSQL suite is never silently skipped.
    pub fn postgres() -> Self {
        let admin_url =
            std::env::var("HUBBOOK_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_TEST_PG_URL.to_owned());
        let schema = format!("hb_test_{}", crate::new_id().replace('-', ""));
        #[allow(clippy::expect_used)]
        let mut admin = diesel::PgConnection::establish(&admin_url)
            .expect("PostgreSQL for tests is unreachable: start it or set HUBBOOK_TEST_PG_URL");
        #[allow(clippy::expect_used)]
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create test schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        // Named after the schema too, so that a test can find (and cut) its own connections.
        let url =
            format!("{admin_url}{sep}options=-csearch_path%3D{schema}&application_name={schema}");
        let db = Self {
            url,
            backend: Backend::Postgres,
            cleanup: Cleanup::Schema { admin_url, schema },
        };
        db.migrate();
        db
    }

    /// The database of the given backend.
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres(),
        }
    }

    /// A small pool on this database.
    pub fn pool(&self) -> Result<DbPool, StoreError> {
        connect(
            &self.url,
            &PoolOptions {
                max_size: 4,
                ..PoolOptions::default()
            },
        )
    }

    fn migrate(&self) {
        #[allow(clippy::expect_used)]
        let pool = self.pool().expect("test database pool");
        #[allow(clippy::expect_used)]
        pool.get()
            .expect("test connection")
            .run_migrations()
            .expect("migrations apply to an empty database");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema { admin_url, schema } => {
                if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                    let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
        }
    }
}

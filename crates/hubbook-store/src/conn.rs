//! Connections and pools for both backends, chosen by the database URL, and the write transaction.

use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, SimpleConnection, TransactionManager, TransactionManagerStatus,
};
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::StoreError;

/// The migrations of each backend, embedded in the binary from `migrations/<backend>/`.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
/// PostgreSQL's migrations, the same folder names as SQLite's.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

pub use multi::DbConn;

mod multi {
    // The derive generates a backend type and helpers that cannot carry doc comments.
    #![allow(missing_docs)]

    /// One database connection of either backend; every repository function takes `&mut DbConn`.
    #[derive(diesel::MultiConnection)]
    pub enum DbConn {
        /// A PostgreSQL connection (production).
        Pg(diesel::PgConnection),
        /// An SQLite connection (the embedded default).
        Sqlite(diesel::SqliteConnection),
    }
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL, for `postgres://` and `postgresql://` URLs.
    Postgres,
    /// SQLite, for `sqlite://path` or `sqlite:path` (a bare path is refused: say which).
    Sqlite,
}

/// When SQLite counts a commit done: what a power cut or an operating-system crash may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL` (the default): a commit waits for the write-ahead log to reach the
    /// disk, so every booking answered 201 survives a power cut.
    #[default]
    Full,
    /// `synchronous=NORMAL` (`?synchronous=normal`): the log is synced only at checkpoints, so
    /// the last commits before a power cut or an OS crash may be lost (never corrupted); a crash
    /// of hubbook alone loses nothing.
    Normal,
}

/// A database location parsed from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    /// The backend the URL selects.
    pub backend: Backend,
    /// What the backend's driver is given: the PostgreSQL URL, or the SQLite file path.
    pub target: String,
    /// SQLite's durability (`sqlite://path?synchronous=full|normal`); PostgreSQL's is the
    /// server's own.
    pub durability: Durability,
}

impl DatabaseUrl {
    /// Parses a database URL; SQLite's in-memory database is refused because a pool would see
    /// a different empty database on each connection.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
                durability: Durability::Full,
            });
        }
        let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            return Err(StoreError::connection(unknown_scheme(url)));
        };
        let (path, durability) = match path.split_once('?') {
            None => (path, Durability::Full),
            Some((path, "synchronous=full")) => (path, Durability::Full),
            Some((path, "synchronous=normal")) => (path, Durability::Normal),
            Some(_) => {
                return Err(StoreError::connection(
                    "an SQLite URL takes one option, ?synchronous=full (the default) or ?synchronous=normal",
                ))
            }
        };
        if path.is_empty() || path.contains(":memory:") || path.contains("://") {
            return Err(StoreError::connection(format!(
                "unsupported database URL; use postgres://… or sqlite://path/to/file.db (got a {} character value)",
                url.len()
            )));
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_owned(),
            durability,
        })
    }
}

/// Why a URL of no known scheme is refused, with an example of a correct one. The value is
/// shown only when it cannot hold a password (no `@`), as an operator's typo may be a
/// PostgreSQL URL without its scheme.
fn unknown_scheme(url: &str) -> String {
    let examples = "sqlite://hubbook.db for a file, postgres://user@host/db for PostgreSQL";
    match url.split_once("://") {
        Some((scheme, _)) if !url.contains('@') => {
            format!("the database URL's scheme {scheme}:// is not known; use {examples}")
        }
        Some(_) => format!("the database URL's scheme is not known; use {examples}"),
        None if url.is_empty() => format!("the database URL is empty; use {examples}"),
        None if url.contains('@') => {
            format!("the database URL has no scheme; use {examples}")
        }
        None => format!(
            "the database URL {url} has no scheme: for an SQLite file write sqlite://{url} \
             (or use postgres://user@host/db for PostgreSQL)"
        ),
    }
}

/// Checks that SQLite can open or create its file at `path`, naming the path when it cannot
/// (SQLite's own message, "unable to open database file", does not). An absent file is
/// created empty, which SQLite takes as a new database.
fn check_sqlite_path(path: &str) -> Result<(), StoreError> {
    let file = std::path::Path::new(path);
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(StoreError::connection(format!(
            "the SQLite database {path} cannot be created: its directory {} does not exist",
            dir.display()
        )));
    }
    if file.is_dir() {
        return Err(StoreError::connection(format!(
            "the SQLite database {path} is a directory, not a file"
        )));
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(file)
        .map(drop)
        .map_err(|e| {
            StoreError::connection(format!(
                "the SQLite database {path} cannot be opened for writing: {e}"
            ))
        })
}

/// SQLite waits this long for another writer before reporting busy.
pub(crate) const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// Opens one connection of the URL's backend and applies the per-connection settings.
pub fn establish(url: &DatabaseUrl) -> Result<DbConn, StoreError> {
    match url.backend {
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(&url.target)
                .map_err(|e| StoreError::connection(e.to_string()))?;
            // Short OLTP queries never repay JIT compilation, which can cost hundreds of
            // milliseconds when an estimate crosses jit_above_cost. Prepared statements keep
            // PostgreSQL's own choice of plan (after five runs, one generic plan when it is as
            // good): the slot search's generic plan uses the index of appointments by slot and
            // saves the 0.4 ms of planning it each time. Work that binds many clusters at once
            // is planned per execution instead ([`planned_per_execution`]).
            conn.batch_execute("SET jit = off")?;
            Ok(DbConn::Pg(conn))
        }
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(&url.target)
                .map_err(|e| StoreError::connection(e.to_string()))?;
            // busy_timeout first, so that every later statement waits for a writer instead of failing.
            let synchronous = match url.durability {
                Durability::Full => "FULL",
                Durability::Normal => "NORMAL",
            };
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous};"
            ))?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Runs `f` with every PostgreSQL statement planned for its own parameters, for work whose
/// statements bind many clusters at once: a reused generic plan tests `cluster_id = ANY($n)`
/// element by element on every row (a triage search over 1,250 clusters took 448 ms instead of
/// 62 ms). SQLite plans each statement as it runs, so there it is `f` alone.
pub fn planned_per_execution<T, E: From<StoreError>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    if !matches!(conn, DbConn::Pg(_)) {
        return f(conn);
    }
    conn.batch_execute("SET plan_cache_mode = force_custom_plan")
        .map_err(StoreError::from)?;
    let result = f(conn);
    // Back to the pool's setting; a connection that cannot say so is in error and not reused.
    let reset = conn.batch_execute("RESET plan_cache_mode");
    match (result, reset) {
        (Ok(_), Err(e)) => Err(StoreError::from(e).into()),
        (result, _) => result,
    }
}

/// An r2d2 manager that opens connections of the backend its URL names.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: DatabaseUrl,
    /// On SQLite, the database's writer (`writer.rs`), held (never read) so that it lives as long
    /// as the pool.
    _writer: Option<std::sync::Arc<crate::writer::Writer>>,
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConn, StoreError> {
        establish(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        // Only when asked (the pool does not test a connection it hands out: a statement on a
        // connection the server closed fails, is `Unavailable`, and the connection is dropped).
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // A connection left inside a transaction, or with a failed one, must not be reused; nor
        // one whose server went away: after a statement fails on it, libpq reports its
        // transaction status unknown and diesel marks the connection in error.
        let status = match conn {
            DbConn::Pg(c) => AnsiTransactionManager::transaction_manager_status_mut(c),
            DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c),
        };
        match status {
            TransactionManagerStatus::InError => true,
            TransactionManagerStatus::Valid(valid) => valid.transaction_depth().is_some(),
        }
    }
}

/// The connection pool every handler draws from.
pub type DbPool = r2d2::Pool<DbManager>;

/// Settings for [`connect`].
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// The most connections open at once.
    pub max_size: u32,
    /// How long a caller waits for a free connection before the store reports busy.
    pub connection_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 16,
            connection_timeout: Duration::from_secs(5),
        }
    }
}

/// Builds a pool for the URL. On SQLite it first switches the file to WAL, once, so that readers
/// never wait for the writer.
pub fn connect(url: &str, options: &PoolOptions) -> Result<DbPool, StoreError> {
    let url = DatabaseUrl::parse(url)?;
    let mut writer = None;
    if url.backend == Backend::Sqlite {
        check_sqlite_path(&url.target)?;
        let mut conn = establish(&url)?;
        conn.batch_execute("PRAGMA journal_mode = WAL;")?;
        writer = Some(crate::writer::register(&mut conn, &url)?);
    }
    r2d2::Pool::builder()
        .max_size(options.max_size)
        .connection_timeout(options.connection_timeout)
        // No `SELECT 1` round trip per checkout: a dead connection shows itself on its first
        // statement (503, retry) and is not returned to the pool.
        .test_on_check_out(false)
        .build(DbManager {
            url,
            _writer: writer,
        })
        .map_err(|e| StoreError::connection(e.to_string()))
}

impl DbConn {
    /// Marks the connection unusable, so that the pool drops it instead of handing it out again:
    /// for a statement that failed because the server went away. diesel notices that itself
    /// only when a statement it runs fails, not when preparing one does, and a connection cut
    /// before its first use of a statement would otherwise fail every request that takes it.
    pub fn discard(&mut self) {
        match self {
            DbConn::Pg(c) => {
                AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error()
            }
            DbConn::Sqlite(c) => {
                AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error()
            }
        }
    }

    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Pg(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Refreshes the query planner's statistics after a bulk load: `VACUUM (ANALYZE)` on
    /// PostgreSQL (which also marks pages all-visible for index-only scans), `ANALYZE` on SQLite.
    pub fn refresh_statistics(&mut self) -> Result<(), StoreError> {
        Ok(self.batch_execute(match self.backend() {
            Backend::Postgres => "VACUUM (ANALYZE)",
            Backend::Sqlite => "ANALYZE",
        })?)
    }

    /// Applies every pending migration of this backend; returns how many ran.
    pub fn run_migrations(&mut self) -> Result<usize, StoreError> {
        let applied = match self {
            DbConn::Pg(c) => {
                // Processes started together on a new database take turns: the first migrates,
                // the others then find nothing pending. (A session lock: migrations run on one
                // server, whatever the schema is distributed over.)
                c.batch_execute("SELECT pg_advisory_lock(4826265)")
                    .map_err(|e| StoreError::migration(e.to_string()))?;
                let applied = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len());
                let unlocked = c.batch_execute("SELECT pg_advisory_unlock(4826265)");
                match (applied, unlocked) {
                    (Ok(_), Err(e)) => return Err(StoreError::migration(e.to_string())),
                    (applied, _) => applied,
                }
            }
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        };
        applied.map_err(|e| StoreError::migration(e.to_string()))
    }

    /// Whether migrations embedded in this binary have not yet been applied.
    pub fn has_pending_migrations(&mut self) -> Result<bool, StoreError> {
        let pending = match self {
            DbConn::Pg(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
            DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        };
        pending.map_err(|e| StoreError::migration(e.to_string()))
    }
}

/// SQLite writers on a connection no pool of this process made queue here, first come first
/// served, before `BEGIN IMMEDIATE`. SQLite's own busy handler makes a waiting writer sleep and
/// retry (1 ms, then 2, 5, 10... up to 100 ms at a time), so under contention some writers waited
/// many times longer than the queue ahead of them; here each takes its turn as soon as the one
/// before commits. Writers in another process still meet SQLite's handler.
static SQLITE_WRITERS: parking_lot::FairMutex<()> = parking_lot::const_fair_mutex(());

/// Runs `f` in a write transaction. On SQLite, when a pool of this process is on the database,
/// `f` runs on the database's writer connection as one transaction of a batch committed
/// together (`writer.rs`: queued in arrival order, returning once the batch is on disk);
/// otherwise it first takes its turn among the process's writers ([`SQLITE_WRITERS`]). Either
/// way the transaction begins with `BEGIN IMMEDIATE`, taking the write lock up front, so it
/// waits for other writers at its start (up to the busy timeout) and can never fail with
/// SQLITE_BUSY half way through. Nested calls become savepoints.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<StoreError>,
{
    let outermost_sqlite = match conn {
        DbConn::Sqlite(c) => {
            let depth = AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()
                .map_err(|e| E::from(e.into()))?;
            depth.is_none()
        }
        DbConn::Pg(_) => false,
    };
    if !outermost_sqlite {
        let mut inner_error = None;
        let result = conn.transaction::<T, diesel::result::Error, _>(|c| {
            f(c).map_err(|e| {
                inner_error = Some(e);
                diesel::result::Error::RollbackTransaction
            })
        });
        return match (result, inner_error) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(E::from(e.into())),
        };
    }
    // A pool of this process keeps the database's writer: the transaction joins its batch.
    if let Some(writer) = crate::writer::of(conn).map_err(E::from)? {
        return writer.run(f);
    }
    // Held to the commit or rollback. A turn not given within the busy timeout (a writer
    // stuck ahead) is not waited for longer: SQLite's busy handler decides, as without it.
    let _turn = SQLITE_WRITERS.try_lock_for(std::time::Duration::from_millis(u64::from(
        SQLITE_BUSY_TIMEOUT_MS,
    )));
    with_sqlite(conn, |c| {
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
    })
    .map_err(E::from)?;
    match f(conn) {
        Ok(value) => match with_sqlite(conn, AnsiTransactionManager::commit_transaction) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = with_sqlite(conn, AnsiTransactionManager::rollback_transaction);
                Err(E::from(e))
            }
        },
        Err(e) => {
            with_sqlite(conn, AnsiTransactionManager::rollback_transaction).map_err(E::from)?;
            Err(e)
        }
    }
}

fn with_sqlite(
    conn: &mut DbConn,
    op: impl FnOnce(&mut diesel::SqliteConnection) -> QueryResult<()>,
) -> Result<(), StoreError> {
    match conn {
        DbConn::Sqlite(c) => op(c).map_err(StoreError::from),
        DbConn::Pg(_) => Err(StoreError::connection("expected an SQLite connection")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sqlite_file_that_cannot_be_made_is_named() {
        let missing = std::env::temp_dir()
            .join(format!("hubbook-no-dir-{}", crate::new_id()))
            .join("hubbook.db");
        let missing = missing.display().to_string();
        let error = check_sqlite_path(&missing).unwrap_err().to_string();
        assert!(
            error.contains(&missing) && error.contains("does not exist"),
            "{error}"
        );
        let dir = std::env::temp_dir().display().to_string();
        let error = check_sqlite_path(&dir).unwrap_err().to_string();
        assert!(
            error.contains(&dir) && error.contains("a directory"),
            "{error}"
        );
        let file = std::env::temp_dir().join(format!("hubbook-ok-{}.db", crate::new_id()));
        check_sqlite_path(&file.display().to_string()).unwrap();
        assert!(file.is_file(), "created empty");
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().backend,
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend,
            Backend::Postgres
        );
        let s = DatabaseUrl::parse("sqlite://data/hubbook.db").unwrap();
        assert_eq!(
            (s.backend, s.target.as_str()),
            (Backend::Sqlite, "data/hubbook.db")
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:hubbook.db").unwrap().target,
            "hubbook.db"
        );
        let bare = DatabaseUrl::parse("hubbook.db").unwrap_err().to_string();
        assert!(bare.contains("write sqlite://hubbook.db"), "{bare}");
        let hidden = DatabaseUrl::parse("user:secret@db.example/hubbook")
            .unwrap_err()
            .to_string();
        assert!(
            !hidden.contains("secret") && hidden.contains("postgres://user@host/db"),
            "{hidden}"
        );
        let mysql = DatabaseUrl::parse("mysql://x").unwrap_err().to_string();
        assert!(
            mysql.contains("mysql://") && mysql.contains("sqlite://hubbook.db"),
            "{mysql}"
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://hubbook.db")
                .unwrap()
                .durability,
            Durability::Full
        );
        let normal = DatabaseUrl::parse("sqlite://data/hubbook.db?synchronous=normal").unwrap();
        assert_eq!(
            (normal.target.as_str(), normal.durability),
            ("data/hubbook.db", Durability::Normal)
        );
        assert!(DatabaseUrl::parse("sqlite://hubbook.db?synchronous=off").is_err());
        assert!(DatabaseUrl::parse("sqlite::memory:").is_err());
        assert!(DatabaseUrl::parse("").is_err());
    }

    #[derive(diesel::QueryableByName)]
    struct Synchronous {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        synchronous: i32,
    }

    #[test]
    fn sqlite_waits_for_the_disk_unless_told_otherwise() {
        use diesel::RunQueryDsl;
        let path = std::env::temp_dir().join(format!("hubbook-sync-{}.db", crate::new_id()));
        let level = |suffix: &str| {
            let url = DatabaseUrl::parse(&format!("sqlite://{}{suffix}", path.display())).unwrap();
            let mut conn = establish(&url).unwrap();
            diesel::sql_query("PRAGMA synchronous")
                .get_result::<Synchronous>(&mut conn)
                .unwrap()
                .synchronous
        };
        // SQLite's numbering: 1 is NORMAL, 2 is FULL.
        assert_eq!(level(""), 2);
        assert_eq!(level("?synchronous=normal"), 1);
        let _ = std::fs::remove_file(&path);
    }
}

#[cfg(test)]
mod migration_tests {
    use std::path::Path;

    fn folders(backend: &str) -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let sqlite = folders("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, folders("postgres"));
    }
}

//! SQLite's writer: one connection per database file on which every write transaction of the
//! process runs, several to a commit (group commit).
//!
//! SQLite lets one connection write at a time, and with `synchronous = FULL` each commit waits
//! for the disk (about 1 ms on the machines measured) while it holds the write lock, so writers
//! committing one by one spend most of their turn waiting for the disk. Here writers queue in
//! arrival order; each runs its transaction as a savepoint of the open batch, and the one that
//! finds nobody queued behind it (or the batch full or old) commits for all. Every writer returns
//! only once its batch is on disk, so a change answered is as durable as before. A transaction
//! that fails rolls back to its savepoint alone; a commit that fails fails the whole batch, and
//! every writer in it is told.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use crate::conn::{establish, DatabaseUrl, SQLITE_BUSY_TIMEOUT_MS};
use crate::{DbConn, StoreError};

/// The most transactions one commit carries.
const MOST_IN_A_BATCH: usize = 64;

/// How long a batch stays open for writers queued behind it: past this, the next writer to finish
/// commits even with others queued, so the first writer of a batch waits at most this (plus the
/// last writer's work and the commit) for its commit.
const LONGEST_BATCH: Duration = Duration::from_millis(8);

/// How long a writer whose transaction is done waits for another to commit its batch before it
/// commits the batch itself (the writers queued behind it gave up or failed).
const COMMIT_PATIENCE: Duration = Duration::from_millis(50);

/// The writer of one SQLite database file: its connection, the queue in front of it and the
/// outcome of each batch.
pub(crate) struct Writer {
    url: DatabaseUrl,
    /// The turn to write, given in arrival order; holds the connection and the open batch.
    turn: parking_lot::FairMutex<Turn>,
    /// Writers waiting for the turn: while any are, a finished writer leaves the batch open.
    queued: AtomicUsize,
    outcomes: Mutex<Outcomes>,
    settled: Condvar,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("database", &self.url.target)
            .finish_non_exhaustive()
    }
}

/// What the writer holding the turn may use: the connection and the batch open on it.
struct Turn {
    conn: Option<DbConn>,
    /// The open batch, if one is open: its number, when it began, how many transactions it
    /// holds and how many writers wait for its commit.
    open: Option<Batch>,
    last_number: u64,
}

#[derive(Debug, Clone, Copy)]
struct Batch {
    number: u64,
    began: Instant,
    members: usize,
    awaiting: usize,
}

/// Batches settle in number order (a batch begins only after the one before it settled).
struct Outcomes {
    /// The highest batch number committed or failed.
    settled: u64,
    /// Batches that failed: why, and how many waiting writers have still to be told.
    failed: HashMap<u64, (String, usize)>,
}

/// Every writer of this process, by database file; a pool keeps its writer alive.
fn writers() -> &'static Mutex<HashMap<String, Weak<Writer>>> {
    static WRITERS: OnceLock<Mutex<HashMap<String, Weak<Writer>>>> = OnceLock::new();
    WRITERS.get_or_init(Mutex::default)
}

#[derive(QueryableByName)]
struct MainFile {
    #[diesel(sql_type = diesel::sql_types::Text)]
    file: String,
}

/// The file of the connection's main database, as SQLite names it (an absolute path).
fn main_file(conn: &mut DbConn) -> Result<String, StoreError> {
    Ok(
        diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .get_result::<MainFile>(conn)?
            .file,
    )
}

/// The writer of the database `conn` (an SQLite connection to `url`) is on, made if there is
/// none; the caller (a pool) keeps it alive.
pub(crate) fn register(conn: &mut DbConn, url: &DatabaseUrl) -> Result<Arc<Writer>, StoreError> {
    let file = main_file(conn)?;
    let mut writers = writers().lock().unwrap_or_else(PoisonError::into_inner);
    writers.retain(|_, w| w.strong_count() > 0);
    if let Some(writer) = writers.get(&file).and_then(Weak::upgrade) {
        return Ok(writer);
    }
    let writer = Arc::new(Writer {
        url: url.clone(),
        turn: parking_lot::FairMutex::new(Turn {
            conn: None,
            open: None,
            last_number: 0,
        }),
        queued: AtomicUsize::new(0),
        outcomes: Mutex::new(Outcomes {
            settled: 0,
            failed: HashMap::new(),
        }),
        settled: Condvar::new(),
    });
    writers.insert(file, Arc::downgrade(&writer));
    Ok(writer)
}

/// The writer of the database an SQLite connection is on, if a pool of this process keeps one.
pub(crate) fn of(conn: &mut DbConn) -> Result<Option<Arc<Writer>>, StoreError> {
    let file = main_file(conn)?;
    let writers = writers().lock().unwrap_or_else(PoisonError::into_inner);
    Ok(writers.get(&file).and_then(Weak::upgrade))
}

/// The error of a writer whose batch has no connection (only after a failure already told).
fn lost_connection() -> StoreError {
    StoreError::Unavailable("the SQLite writer lost its connection".into())
}

fn sqlite(conn: &mut DbConn) -> &mut diesel::SqliteConnection {
    match conn {
        DbConn::Sqlite(c) => c,
        // The writer is made only from an SQLite URL.
        DbConn::Pg(_) => unreachable!("an SQLite writer holds an SQLite connection"),
    }
}

impl Writer {
    /// Runs `f` as one transaction of a batch and returns once the batch is committed: what `f`
    /// wrote is then on disk, or the error says it is not.
    pub(crate) fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<StoreError>,
    {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let turn = self
            .turn
            .try_lock_for(Duration::from_millis(u64::from(SQLITE_BUSY_TIMEOUT_MS)));
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let Some(mut turn) = turn else {
            return Err(E::from(StoreError::Busy));
        };
        let number = self.open_batch(&mut turn).map_err(E::from)?;
        let Some(conn) = turn.conn.as_mut() else {
            return Err(E::from(lost_connection()));
        };
        let mut inner_error = None;
        let done = conn.transaction::<T, diesel::result::Error, _>(|c| {
            f(c).map_err(|e| {
                inner_error = Some(e);
                diesel::result::Error::RollbackTransaction
            })
        });
        let done = match (done, inner_error) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(E::from(StoreError::from(e))),
        };
        // A savepoint that could not be released or rolled back leaves the batch unusable.
        if !Self::batch_intact(&mut turn) {
            let why = "a transaction of the batch could not be ended".to_owned();
            self.fail(&mut turn, number, why.clone());
            return done.and(Err(E::from(StoreError::Unavailable(why))));
        }
        let Some(batch) = turn.open.as_mut() else {
            return done.and(Err(E::from(lost_connection())));
        };
        batch.members += 1;
        let commit_now = self.queued.load(Ordering::SeqCst) == 0
            || batch.members >= MOST_IN_A_BATCH
            || batch.began.elapsed() >= LONGEST_BATCH;
        if commit_now {
            let committed = self.commit(&mut turn, number);
            drop(turn);
            return match (done, committed) {
                (Ok(v), Ok(())) => Ok(v),
                (Ok(_), Err(e)) => Err(E::from(e)),
                (Err(e), _) => Err(e),
            };
        }
        // A writer that failed waits too: as if the writers ran one after another, what it does
        // next (an idempotent retry reading the answer stored by the writer before it, say)
        // sees every earlier writer of its batch committed.
        batch.awaiting += 1;
        drop(turn);
        let committed = self.await_commit(number);
        let value = done?;
        committed.map_err(E::from)?;
        Ok(value)
    }

    /// The batch open on the connection, or a new one begun (`BEGIN IMMEDIATE`, waiting for
    /// another process's writer up to the busy timeout); its number.
    fn open_batch(&self, turn: &mut Turn) -> Result<u64, StoreError> {
        if let Some(open) = turn.open {
            if Self::batch_intact(turn) {
                return Ok(open.number);
            }
            // A writer stopped inside its transaction (it panicked): the batch cannot commit.
            self.fail(
                turn,
                open.number,
                "a transaction of the batch stopped part way".into(),
            );
        }
        let conn = match turn.conn.take() {
            Some(conn) => conn,
            None => establish(&self.url)?,
        };
        let conn = turn.conn.insert(conn);
        if let Err(e) =
            AnsiTransactionManager::begin_transaction_sql(sqlite(conn), "BEGIN IMMEDIATE")
        {
            // A connection that cannot begin is not trusted with the next batch.
            turn.conn = None;
            return Err(e.into());
        }
        turn.last_number += 1;
        turn.open = Some(Batch {
            number: turn.last_number,
            began: Instant::now(),
            members: 0,
            awaiting: 0,
        });
        Ok(turn.last_number)
    }

    /// Whether the connection is inside the batch's transaction and nothing deeper.
    fn batch_intact(turn: &mut Turn) -> bool {
        let Some(conn) = turn.conn.as_mut() else {
            return false;
        };
        matches!(
            AnsiTransactionManager::transaction_manager_status_mut(sqlite(conn))
                .transaction_depth(),
            Ok(Some(depth)) if depth.get() == 1
        )
    }

    /// Commits the open batch `number` and tells its waiting writers how it went.
    fn commit(&self, turn: &mut Turn, number: u64) -> Result<(), StoreError> {
        let Some(conn) = turn.conn.as_mut() else {
            self.fail(turn, number, "the writer lost its connection".into());
            return Err(lost_connection());
        };
        match AnsiTransactionManager::commit_transaction(sqlite(conn)) {
            Ok(()) => {
                let awaiting = turn.open.take().map_or(0, |b| b.awaiting);
                self.settle(number, None, awaiting);
                Ok(())
            }
            Err(e) => {
                let error = StoreError::from(e);
                self.fail(turn, number, format!("the commit failed: {error}"));
                Err(error)
            }
        }
    }

    /// Abandons the open batch `number`: the connection is closed (which rolls back whatever
    /// it holds) and every writer waiting for the batch is told `why`.
    fn fail(&self, turn: &mut Turn, number: u64, why: String) {
        tracing::error!(batch = number, "SQLite write batch abandoned: {why}");
        turn.conn = None;
        let awaiting = turn.open.take().map_or(0, |b| b.awaiting);
        self.settle(number, Some(why), awaiting);
    }

    fn settle(&self, number: u64, failure: Option<String>, awaiting: usize) {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        outcomes.settled = outcomes.settled.max(number);
        if let (Some(why), true) = (failure, awaiting > 0) {
            outcomes.failed.insert(number, (why, awaiting));
        }
        drop(outcomes);
        self.settled.notify_all();
    }

    /// Waits until batch `number` settles; commits it if no other writer does in time.
    fn await_commit(&self, number: u64) -> Result<(), StoreError> {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if outcomes.settled >= number {
                let Some((why, untold)) = outcomes.failed.get_mut(&number) else {
                    return Ok(());
                };
                let why = why.clone();
                *untold -= 1;
                if *untold == 0 {
                    outcomes.failed.remove(&number);
                }
                return Err(StoreError::Unavailable(why));
            }
            let (back, waited) = self
                .settled
                .wait_timeout(outcomes, COMMIT_PATIENCE)
                .unwrap_or_else(PoisonError::into_inner);
            outcomes = back;
            if waited.timed_out() && outcomes.settled < number {
                drop(outcomes);
                // Only a turn no one holds or waits for: a writer holding it will commit the
                // batch or leave it to the next, and queueing behind them (a commit waiting for
                // a slow disk, say) would only delay this writer's answer past its commit.
                if let Some(mut turn) = self.turn.try_lock() {
                    if turn.open.is_some_and(|b| b.number == number) {
                        if Self::batch_intact(&mut turn) {
                            // The error, if any, is recorded for every waiting writer, this one too.
                            let _ = self.commit(&mut turn, number);
                        } else {
                            self.fail(
                                &mut turn,
                                number,
                                "a transaction of the batch stopped part way".into(),
                            );
                        }
                    }
                }
                outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use diesel::connection::SimpleConnection;
    use diesel::sql_types::{BigInt, Text};

    use super::*;
    use crate::{connect, write_tx, DbPool, PoolOptions};

    /// A pool on a fresh SQLite file with a table of rows and, for a commit that must fail, a
    /// child table whose foreign key is checked only at the commit.
    fn database() -> (DbPool, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("hubbook-writer-{}.db", crate::new_id()));
        let pool = connect(
            &format!("sqlite://{}", path.display()),
            &PoolOptions {
                max_size: 16,
                ..PoolOptions::default()
            },
        )
        .unwrap();
        pool.get()
            .unwrap()
            .batch_execute(
                "CREATE TABLE rows (writer TEXT NOT NULL, n BIGINT NOT NULL);
                 CREATE TABLE parents (id TEXT PRIMARY KEY);
                 CREATE TABLE children (parent TEXT NOT NULL
                     REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
        (pool, path)
    }

    fn insert(c: &mut DbConn, writer: &str, n: i64) -> Result<(), StoreError> {
        diesel::sql_query("INSERT INTO rows (writer, n) VALUES (?, ?)")
            .bind::<Text, _>(writer)
            .bind::<BigInt, _>(n)
            .execute(c)?;
        Ok(())
    }

    fn count(c: &mut DbConn, writer: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT COUNT(*) AS n FROM rows WHERE writer = ?")
            .bind::<Text, _>(writer)
            .get_result::<Count>(c)
            .unwrap()
            .n
    }

    fn batches(pool: &DbPool) -> u64 {
        let writer = of(&mut pool.get().unwrap()).unwrap().unwrap();
        let last = writer.turn.lock().last_number;
        last
    }

    #[test]
    fn writers_share_commits_and_each_answer_follows_its_commit() {
        let (pool, path) = database();
        let before = batches(&pool);
        std::thread::scope(|scope| {
            for t in 0..8 {
                let pool = pool.clone();
                scope.spawn(move || {
                    let name = format!("w{t}");
                    let mut c = pool.get().unwrap();
                    for n in 0..40 {
                        write_tx(&mut c, |c| insert(c, &name, n)).unwrap();
                        // Answered means committed: another connection sees it at once.
                        let mut other = pool.get().unwrap();
                        assert_eq!(count(&mut other, &name), n + 1, "{name} after write {n}");
                    }
                });
            }
        });
        let mut c = pool.get().unwrap();
        for t in 0..8 {
            assert_eq!(count(&mut c, &format!("w{t}")), 40);
        }
        let commits = batches(&pool) - before;
        assert!(
            commits < 320,
            "320 transactions took {commits} commits: none was shared"
        );
        drop((c, pool));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_failing_transaction_rolls_back_alone() {
        let (pool, path) = database();
        std::thread::scope(|scope| {
            for t in 0..6 {
                let pool = pool.clone();
                scope.spawn(move || {
                    let mut c = pool.get().unwrap();
                    for n in 0..30 {
                        let fails = (t + n) % 3 == 0;
                        let done = write_tx(&mut c, |c| {
                            insert(c, &format!("w{t}"), n)?;
                            // Nested writes are savepoints inside the batch's savepoint.
                            write_tx(c, |c| insert(c, &format!("nested{t}"), n))?;
                            if fails {
                                return Err(StoreError::rejected("refused"));
                            }
                            Ok(())
                        });
                        assert_eq!(done.is_err(), fails);
                    }
                });
            }
        });
        let mut c = pool.get().unwrap();
        for t in 0..6 {
            let kept = (0..30).filter(|n| (t + n) % 3 != 0).count() as i64;
            assert_eq!(count(&mut c, &format!("w{t}")), kept);
            assert_eq!(count(&mut c, &format!("nested{t}")), kept);
        }
        drop((c, pool));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_commit_that_fails_fails_every_writer_of_its_batch_and_stores_none_of_it() {
        let (pool, path) = database();
        let writer = of(&mut pool.get().unwrap()).unwrap().unwrap();
        // Hold the turn so that the writers below queue and share one batch.
        let turn = writer.turn.lock();
        let outcomes: Vec<Result<(), StoreError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let pool = pool.clone();
                    scope.spawn(move || {
                        let mut c = pool.get().unwrap();
                        write_tx(&mut c, |c| {
                            insert(c, &format!("w{t}"), 1)?;
                            if t == 2 {
                                // Checked at the commit: the batch cannot commit.
                                c.batch_execute("INSERT INTO children (parent) VALUES ('none')")?;
                            }
                            Ok(())
                        })
                    })
                })
                .collect();
            while writer.queued.load(Ordering::SeqCst) < 4 {
                std::thread::sleep(Duration::from_millis(5));
            }
            drop(turn);
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
        let mut c = pool.get().unwrap();
        for t in 0..4 {
            assert_eq!(count(&mut c, &format!("w{t}")), 0, "w{t} was stored");
        }
        // The writer goes on with the next batch.
        write_tx(&mut c, |c| insert(c, "after", 1)).unwrap();
        assert_eq!(count(&mut c, "after"), 1);
        drop((c, pool));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_writer_that_fails_is_answered_after_the_writers_before_it_commit() {
        let (pool, path) = database();
        let writer = of(&mut pool.get().unwrap()).unwrap().unwrap();
        let turn = writer.turn.lock();
        let seen_after_failing = std::thread::scope(|scope| {
            let queue_up = |t: &str| {
                let before = writer.queued.load(Ordering::SeqCst);
                let pool = pool.clone();
                let t = t.to_owned();
                let handle = scope.spawn(move || {
                    let mut c = pool.get().unwrap();
                    let done = write_tx(&mut c, |c| {
                        insert(c, &t, 1)?;
                        match t.as_str() {
                            "fails" => Err(StoreError::rejected("refused")),
                            // The last of the batch takes its time before it commits.
                            "slow" => {
                                std::thread::sleep(Duration::from_millis(300));
                                Ok(())
                            }
                            _ => Ok(()),
                        }
                    });
                    // What the writer sees once answered.
                    (done.is_ok(), count(&mut c, "first"))
                });
                while writer.queued.load(Ordering::SeqCst) == before {
                    std::thread::sleep(Duration::from_millis(2));
                }
                handle
            };
            let first = queue_up("first");
            let fails = queue_up("fails");
            let slow = queue_up("slow");
            drop(turn);
            let (first, fails, slow) = (
                first.join().unwrap(),
                fails.join().unwrap(),
                slow.join().unwrap(),
            );
            assert!(first.0 && !fails.0 && slow.0);
            fails.1
        });
        assert_eq!(
            seen_after_failing, 1,
            "the failed writer answered before the batch committed"
        );
        drop(pool);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_batch_left_for_a_writer_who_never_comes_is_committed_by_its_own() {
        let (pool, path) = database();
        let writer = of(&mut pool.get().unwrap()).unwrap().unwrap();
        // A writer counted as queued that never takes the turn (as one that gave up would).
        writer.queued.fetch_add(1, Ordering::SeqCst);
        let mut c = pool.get().unwrap();
        write_tx(&mut c, |c| insert(c, "left", 1)).unwrap();
        writer.queued.fetch_sub(1, Ordering::SeqCst);
        assert!(writer.turn.lock().open.is_none(), "the batch is still open");
        let mut other = pool.get().unwrap();
        assert_eq!(count(&mut other, "left"), 1);
        drop((c, other, pool));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_writer_that_stops_part_way_stores_nothing_and_the_next_goes_on() {
        let (pool, path) = database();
        let mut c = pool.get().unwrap();
        let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), StoreError> = write_tx(&mut c, |c| {
                insert(c, "stopped", 1)?;
                panic!("a bug part way through a transaction");
            });
        }));
        assert!(stopped.is_err());
        write_tx(&mut c, |c| insert(c, "next", 1)).unwrap();
        assert_eq!(count(&mut c, "stopped"), 0);
        assert_eq!(count(&mut c, "next"), 1);
        drop((c, pool));
        let _ = std::fs::remove_file(&path);
    }
}

//! What a process read recently of rows that change rarely but are read on every request (who a
//! client certificate authenticates, whether a user is still active), trusted for a few seconds.
//! The process that changes such a row forgets at once; another process sees the change within
//! the time the cache trusts a read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most entries remembered; past it the cache starts again empty.
const LIMIT: usize = 10_000;

/// Reads by key, each trusted for `ttl` after it was made.
#[derive(Debug)]
pub(crate) struct Recent<V> {
    entries: Mutex<HashMap<String, (V, Instant)>>,
    ttl: Duration,
}

impl<V: Clone> Recent<V> {
    /// An empty cache trusting each read for `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// What was read of `key`, if read within the time trusted.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (value, read_at) = entries.get(key)?;
        (read_at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Remembers what was just read of `key`.
    pub(crate) fn put(&self, key: String, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= LIMIT {
                entries.clear();
            }
            entries.insert(key, (value, Instant::now()));
        }
    }

    /// Forgets everything: after a change, so that no later request uses what was true before.
    pub(crate) fn forget(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

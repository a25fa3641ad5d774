//! Locking a login name after repeated wrong passwords, so that nobody can guess a member of
//! staff's password by trying many: [`MAX_FAILURES`] wrong tries within [`WINDOW_MINUTES`] lock
//! the name for [`LOCK_MINUTES`]; a right password, or a manager setting a new one, clears them.
//!
//! The count is kept by login name, whether or not a user has it, so that the lock does not tell
//! which names exist.

use chrono::{DateTime, Duration, Utc};

/// Wrong passwords in a row that lock a login name.
pub const MAX_FAILURES: i32 = 5;

/// Wrong tries further apart than this start the count again.
pub const WINDOW_MINUTES: i64 = 15;

/// How long a locked name stays locked.
pub const LOCK_MINUTES: i64 = 15;

/// The wrong passwords recently given for one login name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedSignIns {
    /// Wrong tries in the current count.
    pub failures: i32,
    /// When the last wrong try was made.
    pub last_failed_at: DateTime<Utc>,
    /// Until when the name is locked, once the count reached [`MAX_FAILURES`].
    pub locked_until: Option<DateTime<Utc>>,
}

impl FailedSignIns {
    /// Until when the name is locked at `now`, if it is.
    pub fn locked_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > now)
    }

    /// The count after one more wrong try at `now`: it starts again after a quiet
    /// [`WINDOW_MINUTES`] or an ended lock, and the [`MAX_FAILURES`]th try locks the name.
    pub fn after_failure(previous: Option<&Self>, now: DateTime<Utc>) -> Self {
        let continues = previous.filter(|p| {
            now - p.last_failed_at < Duration::minutes(WINDOW_MINUTES) && p.locked_until.is_none()
        });
        let failures = continues.map_or(1, |p| p.failures.saturating_add(1));
        Self {
            failures,
            last_failed_at: now,
            locked_until: (failures >= MAX_FAILURES).then(|| now + Duration::minutes(LOCK_MINUTES)),
        }
    }

    /// How many more wrong tries lock the name.
    pub fn tries_left(&self) -> i32 {
        (MAX_FAILURES - self.failures).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + Duration::minutes(minute.into())
    }

    #[test]
    fn the_fifth_wrong_try_in_a_row_locks_the_name_for_a_while() {
        let mut count = None;
        for minute in 0..4 {
            let next = FailedSignIns::after_failure(count.as_ref(), at(minute));
            assert_eq!(next.locked_at(at(minute)), None);
            count = Some(next);
        }
        assert_eq!(count.unwrap().tries_left(), 1);
        let locked = FailedSignIns::after_failure(count.as_ref(), at(4));
        assert_eq!(locked.locked_at(at(4)), Some(at(4 + 15)));
        assert_eq!(locked.locked_at(at(18)), Some(at(19)));
        assert_eq!(locked.locked_at(at(19)), None, "the lock ends on time");
        assert_eq!(locked.tries_left(), 0);
        let after = FailedSignIns::after_failure(Some(&locked), at(20));
        assert_eq!((after.failures, after.locked_until), (1, None));
    }

    #[test]
    fn wrong_tries_far_apart_do_not_add_up() {
        let first = FailedSignIns::after_failure(None, at(0));
        let second = FailedSignIns::after_failure(Some(&first), at(10));
        assert_eq!(second.failures, 2);
        let later = FailedSignIns::after_failure(Some(&second), at(10 + 15));
        assert_eq!(later.failures, 1);
    }
}

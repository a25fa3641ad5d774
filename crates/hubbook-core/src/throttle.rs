//! Throttling sign-in, so that nobody can guess a password or a client secret by trying many,
//! without letting anyone lock a member of staff out for long by giving wrong passwords in
//! their name.
//!
//! Wrong tries are counted per [`ThrottleKey`]: the login name (known or not, so that the
//! answer does not tell which names exist), the client id of a `client_credentials` request, and
//! the address the request came from. Per key, the first [`Limit::free_failures`] wrong tries
//! within [`Limit::window_seconds`] of each other cost nothing; each further one blocks the key
//! for [`Limit::base_seconds`], doubled per further wrong try, up to [`Limit::cap_seconds`]
//! (exponential back-off, never a lock that outlasts a few minutes). A try while a key is blocked
//! is refused without its password being checked and without being counted, so hammering does not
//! lengthen the block. A right password clears the login name's (or client id's) count, never the
//! address's: one good account must not reset an address that is guessing others.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// How many wrong tries a kind of key allows, and how long it then waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Wrong tries in a row that never block.
    pub free_failures: i32,
    /// Wrong tries further apart than this many seconds start the count again.
    pub window_seconds: i64,
    /// The first block, in seconds; each further wrong try doubles it.
    pub base_seconds: i64,
    /// The longest block, in seconds.
    pub cap_seconds: i64,
}

/// A login name: five free wrong tries, then 30 s, 60 s, 120 s, 240 s, then 5 minutes each.
pub const USER_LIMIT: Limit = Limit {
    free_failures: 5,
    window_seconds: 15 * 60,
    base_seconds: 30,
    cap_seconds: 5 * 60,
};

/// A client id: as a login name.
pub const CLIENT_LIMIT: Limit = USER_LIMIT;

/// An address: more free tries than a name, as a practice's receptionists often share one
/// (NAT) address, with the same back-off after them.
pub const ADDRESS_LIMIT: Limit = Limit {
    free_failures: 20,
    ..USER_LIMIT
};

/// The longest login name or client id kept whole in a key: longer ones are no one's, and are
/// cut so that a key always fits an index.
pub const MAX_KEY_NAME_CHARS: usize = 128;

/// What wrong tries are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// A login name, lower case.
    User(String),
    /// An integration client's id.
    Client(String),
    /// An address: an IPv4 address, or an IPv6 address's /64 network (one host often holds a
    /// whole /64).
    Address(String),
}

impl ThrottleKey {
    /// The key of a login name, as typed (compared case-insensitively, as sign-in does).
    pub fn user(username: &str) -> Self {
        Self::User(bounded(&username.to_lowercase()))
    }

    /// The key of a client id, as sent.
    pub fn client(client_id: &str) -> Self {
        Self::Client(bounded(client_id))
    }

    /// The key of the address a request came from.
    pub fn address(address: IpAddr) -> Self {
        let text = match address {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        Self::Address(text)
    }

    /// The key as stored: `user:<name>`, `client:<id>` or `addr:<address>`.
    pub fn stored(&self) -> String {
        match self {
            Self::User(name) => format!("user:{name}"),
            Self::Client(id) => format!("client:{id}"),
            Self::Address(address) => format!("addr:{address}"),
        }
    }

    /// The limit of this kind of key.
    pub fn limit(&self) -> Limit {
        match self {
            Self::User(_) => USER_LIMIT,
            Self::Client(_) => CLIENT_LIMIT,
            Self::Address(_) => ADDRESS_LIMIT,
        }
    }
}

/// A name or id without control characters (no database stores a NUL), cut to
/// [`MAX_KEY_NAME_CHARS`].
fn bounded(text: &str) -> String {
    crate::control::without(text)
        .chars()
        .take(MAX_KEY_NAME_CHARS)
        .collect()
}

/// The wrong tries recently counted against one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// Wrong tries in the current count.
    pub failures: i32,
    /// When the last counted wrong try was made.
    pub last_failed_at: DateTime<Utc>,
    /// Until when the key is blocked, once the count passed the free tries.
    pub blocked_until: Option<DateTime<Utc>>,
}

/// One counted wrong try: the key's count after it, and whether it started a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// The key's count now.
    pub failures: Failures,
    /// Whether this try started a block (it is then audited and answered as throttled).
    pub started_block: bool,
}

impl Failures {
    /// Until when the key is blocked at `now`, if it is.
    pub fn blocked_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.blocked_until.filter(|until| *until > now)
    }

    /// The count after one more wrong try at `now` under `limit`. A try while the key is
    /// already blocked (one checked just before another started the block) changes nothing; a
    /// try after a quiet window starts the count again; a try past the free ones blocks the key
    /// for `base * 2^k` seconds, `k` counting the tries past the free ones, capped.
    pub fn after_failure(previous: Option<&Self>, limit: Limit, now: DateTime<Utc>) -> Counted {
        if let Some(blocked) = previous.filter(|p| p.blocked_at(now).is_some()) {
            return Counted {
                failures: *blocked,
                started_block: false,
            };
        }
        let continues =
            previous.filter(|p| now - p.last_failed_at < Duration::seconds(limit.window_seconds));
        let failures = continues.map_or(1, |p| p.failures.saturating_add(1));
        let blocked_until =
            block_seconds(failures, limit).map(|seconds| now + Duration::seconds(seconds));
        Counted {
            failures: Self {
                failures,
                last_failed_at: now,
                blocked_until,
            },
            started_block: blocked_until.is_some(),
        }
    }
}

/// How long the `failures`th wrong try in a row blocks a key, if at all.
pub fn block_seconds(failures: i32, limit: Limit) -> Option<i64> {
    let past_free = failures.checked_sub(limit.free_failures + 1)?;
    let past_free = u32::try_from(past_free).ok()?;
    // Doubling beyond 2^20 passes any sensible cap; stopping there keeps the product in range.
    let seconds = limit
        .base_seconds
        .saturating_mul(1_i64 << past_free.min(20));
    Some(seconds.min(limit.cap_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(second: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + Duration::seconds(second)
    }

    #[test]
    fn free_tries_cost_nothing_then_each_wrong_try_doubles_the_wait_up_to_the_cap() {
        let mut state: Option<Failures> = None;
        let mut now = at(0);
        let mut waits = Vec::new();
        for _ in 0..11 {
            let counted = Failures::after_failure(state.as_ref(), USER_LIMIT, now);
            waits.push(
                counted
                    .failures
                    .blocked_at(now)
                    .map(|u| (u - now).num_seconds()),
            );
            assert_eq!(counted.started_block, waits.last().unwrap().is_some());
            // The next try comes when the block (if any) has ended.
            now = counted.failures.blocked_until.unwrap_or(now) + Duration::seconds(1);
            state = Some(counted.failures);
        }
        assert_eq!(
            waits,
            [
                None,
                None,
                None,
                None,
                None,
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(300),
                Some(300)
            ]
        );
    }

    #[test]
    fn a_try_while_blocked_neither_counts_nor_lengthens_the_block() {
        let mut state = None;
        for i in 0..6 {
            state = Some(Failures::after_failure(state.as_ref(), USER_LIMIT, at(i)).failures);
        }
        let blocked = state.unwrap();
        assert_eq!(blocked.failures, 6);
        assert_eq!(blocked.blocked_at(at(5)), Some(at(35)));
        let again = Failures::after_failure(Some(&blocked), USER_LIMIT, at(20));
        assert_eq!(again.failures, blocked);
        assert!(!again.started_block);
        assert_eq!(blocked.blocked_at(at(35)), None, "the block ends on time");
        let after = Failures::after_failure(Some(&blocked), USER_LIMIT, at(36));
        assert_eq!(after.failures.failures, 7);
        assert_eq!(after.failures.blocked_until, Some(at(36 + 60)));
    }

    #[test]
    fn a_quiet_window_starts_the_count_again() {
        let first = Failures::after_failure(None, USER_LIMIT, at(0)).failures;
        let second = Failures::after_failure(Some(&first), USER_LIMIT, at(899)).failures;
        assert_eq!(second.failures, 2);
        let later = Failures::after_failure(Some(&second), USER_LIMIT, at(899 + 900)).failures;
        assert_eq!((later.failures, later.blocked_until), (1, None));
    }

    #[test]
    fn an_address_allows_more_free_tries_than_a_name() {
        assert_eq!(block_seconds(6, USER_LIMIT), Some(30));
        assert_eq!(block_seconds(6, ADDRESS_LIMIT), None);
        assert_eq!(block_seconds(20, ADDRESS_LIMIT), None);
        assert_eq!(block_seconds(21, ADDRESS_LIMIT), Some(30));
        assert_eq!(block_seconds(i32::MAX, ADDRESS_LIMIT), Some(300));
        assert_eq!(block_seconds(0, USER_LIMIT), None);
    }

    #[test]
    fn keys_name_their_kind_and_fit_an_index() {
        assert_eq!(ThrottleKey::user("Root").stored(), "user:root");
        assert_eq!(ThrottleKey::client("ems-111").stored(), "client:ems-111");
        assert_eq!(
            ThrottleKey::address("192.0.2.7".parse().unwrap()).stored(),
            "addr:192.0.2.7"
        );
        assert_eq!(
            ThrottleKey::address("::ffff:192.0.2.7".parse().unwrap()).stored(),
            "addr:192.0.2.7"
        );
        assert_eq!(
            ThrottleKey::address("2001:db8:1:2:3:4:5:6".parse().unwrap()).stored(),
            "addr:2001:db8:1:2::/64"
        );
        let long = ThrottleKey::user(&format!("a\u{0}{}", "b".repeat(1000))).stored();
        assert_eq!(long.chars().count(), "user:".len() + MAX_KEY_NAME_CHARS);
        assert!(!long.contains('\u{0}'));
    }
}

//! Repository functions, one module per aggregate, each over `&mut DbConn`.
//!
//! Every write records an audit event in the same transaction (DESIGN invariant 5), through
//! [`insert_audited`] and [`update_audited`], so no write path can forget it.

pub mod appointments;
pub mod audit;
pub mod booking;
pub mod bulk;
pub mod clusters;
pub mod dashboard;
pub mod dispositions;
pub mod events;
pub mod idempotency;
pub mod integrations;
pub mod leases;
pub mod patients;
pub mod practices;
pub mod reference;
pub mod reports;
pub mod rotas;
pub mod services;
pub mod sessions;
pub mod sharing;
pub mod sites;
pub mod throttle;
pub mod users;
pub mod webhooks;

use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde::Serialize;

use crate::models::AuditEvent;
use crate::{new_id, write_tx, ConflictKind, DbConn, StoreError};

/// Who is making a change and when: stamped on rows and on the audit event.
#[derive(Debug, Clone)]
pub struct Change {
    /// `user:<id>`, `client:<id>` or `system`.
    pub actor: String,
    /// The instant of the change (UTC), from the caller's clock.
    pub at: NaiveDateTime,
}

/// The most rows one page may hold, whatever the caller asks for.
pub const MAX_PAGE: i64 = 500;

/// Reads a cursor of a list ordered by time then id, as `Page` hands it out (`<time>|<id>`);
/// anything else is [`StoreError::InvalidCursor`], not a first page or a missing row.
pub fn time_cursor(
    after: Option<&str>,
) -> Result<Option<(chrono::NaiveDateTime, &str)>, StoreError> {
    let Some(after) = after else {
        return Ok(None);
    };
    let (at, id) = after.split_once('|').ok_or(StoreError::InvalidCursor)?;
    let at = chrono::NaiveDateTime::parse_from_str(at, TIME_CURSOR_FORMAT)
        .map_err(|_| StoreError::InvalidCursor)?;
    Ok(Some((at, id)))
}

/// How a time is written in a [`time_cursor`].
pub const TIME_CURSOR_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// Clamps a requested page size to `1..=MAX_PAGE`.
pub fn page_limit(requested: i64) -> i64 {
    requested.clamp(1, MAX_PAGE)
}

/// What a versioned entity exposes to the shared write helpers.
pub trait Audited: Serialize {
    /// The entity's kind in audit events, e.g. `practice`.
    const ENTITY: &'static str;
    /// The row's id.
    fn entity_id(&self) -> &str;
    /// The owning cluster's id, if any.
    fn cluster(&self) -> Option<&str>;
    /// The optimistic-concurrency version.
    fn version(&self) -> i64;
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt(e.to_string()))
}

/// Inserts a row and records its creation, in one transaction; returns the row as read back.
pub(crate) fn insert_audited<T: Audited>(
    conn: &mut DbConn,
    change: &Change,
    insert: impl FnOnce(&mut DbConn) -> QueryResult<usize>,
    load: impl FnOnce(&mut DbConn) -> QueryResult<T>,
) -> Result<T, StoreError> {
    write_tx(conn, |c| {
        insert(c)?;
        let after = load(c)?;
        audit::record(c, event(change, "create", None, Some(&after))?)?;
        Ok(after)
    })
}

/// Applies an update guarded by the row's version and records it, in one transaction.
///
/// `expected` is the version the caller last saw (from `If-Match`); a mismatch, or a concurrent
/// change between read and write, is [`ConflictKind::StaleVersion`]. `apply` gets the version the
/// update must still find and returns the number of rows changed.
pub(crate) fn update_audited<T: Audited>(
    conn: &mut DbConn,
    change: &Change,
    expected: Option<i64>,
    load: impl Fn(&mut DbConn) -> QueryResult<T>,
    apply: impl FnOnce(&mut DbConn, i64) -> QueryResult<usize>,
) -> Result<T, StoreError> {
    update_audited_as(conn, change, "update", expected, load, |c, before| {
        Ok(apply(c, before.version())?)
    })
}

/// Like [`update_audited`], naming the change in the audit (`<entity>.<verb>`) and handing
/// `apply` the row as read, so it can refuse a change its state does not allow.
pub(crate) fn update_audited_as<T: Audited, E: From<StoreError>>(
    conn: &mut DbConn,
    change: &Change,
    verb: &str,
    expected: Option<i64>,
    load: impl Fn(&mut DbConn) -> QueryResult<T>,
    apply: impl FnOnce(&mut DbConn, &T) -> Result<usize, E>,
) -> Result<T, E> {
    let stale = || E::from(StoreError::Conflict(ConflictKind::StaleVersion));
    write_tx(conn, |c| {
        let before = load(c).map_err(StoreError::from)?;
        if expected.is_some_and(|v| v != before.version()) {
            return Err(stale());
        }
        if apply(c, &before)? == 0 {
            return Err(stale());
        }
        let after = load(c).map_err(StoreError::from)?;
        audit::record(c, event(change, verb, Some(&before), Some(&after))?)?;
        Ok(after)
    })
}

fn event<T: Audited>(
    change: &Change,
    verb: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<AuditEvent, StoreError> {
    let subject = after.or(before).ok_or(StoreError::NotFound)?;
    Ok(AuditEvent {
        id: new_id(),
        cluster_id: subject
            .cluster()
            .map(crate::ClusterId::from)
            .unwrap_or_default(),
        at: change.at,
        actor: change.actor.clone(),
        action: format!("{}.{verb}", T::ENTITY),
        entity: T::ENTITY.to_owned(),
        entity_id: subject.entity_id().to_owned(),
        before_json: before.map(to_json).transpose()?,
        after_json: after.map(to_json).transpose()?,
    })
}

/// Lists the rows of one cluster's table in id order after a cursor, as one page.
macro_rules! cluster_page {
    ($conn:expr, $table:ident, $row:ty, $cluster_id:expr, $after:expr, $limit:expr) => {{
        let mut query = $table::table
            .filter($table::cluster_id.eq($cluster_id))
            .select(<$row>::as_select())
            .order($table::id.asc())
            .limit($limit + 1)
            .into_boxed();
        if let Some(after) = $after {
            query = query.filter($table::id.gt(after.to_owned()));
        }
        Ok($crate::Page::from_rows(
            query.load($conn)?,
            $limit,
            |r: &$row| &r.id,
        ))
    }};
}
pub(crate) use cluster_page;

/// Implements [`Audited`] for a row type with `id`, `version` and a cluster field.
macro_rules! audited {
    ($ty:ty, $entity:literal, |$s:ident| $cluster:expr) => {
        impl $crate::repo::Audited for $ty {
            const ENTITY: &'static str = $entity;
            fn entity_id(&self) -> &str {
                &self.id
            }
            fn cluster(&self) -> Option<&str> {
                let $s = self;
                $cluster
            }
            fn version(&self) -> i64 {
                self.version
            }
        }
    };
}
pub(crate) use audited;

/// `rows` in owned chunks of at most `size`, moved rather than copied: rows with typed fields
/// (statuses, kinds, zones) insert by value, and a publication or a seed writes millions of them.
pub(crate) fn owned_chunks<T>(rows: Vec<T>, size: usize) -> impl Iterator<Item = Vec<T>> {
    let mut rows = rows.into_iter();
    std::iter::from_fn(move || {
        let chunk: Vec<T> = rows.by_ref().take(size).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn owned_chunks_keep_every_row_once_in_order() {
        let chunks: Vec<Vec<u32>> = super::owned_chunks((0..7).collect(), 3).collect();
        assert_eq!(chunks, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
        assert_eq!(super::owned_chunks(Vec::<u32>::new(), 3).count(), 0);
    }
}

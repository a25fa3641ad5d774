//! Leases on installation-wide background work: one process at a time does a named piece of work
//! (announcing released slots), renews its lease while it works, and another takes over once the
//! lease has expired. A webhook's delivery queue is leased on its own row instead
//! (`webhooks::claim_due`).
//!
//! Times are the processes' wall clocks; a lease lasts tens of seconds, far beyond the skew of
//! clocks kept by NTP.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::work_leases;
use crate::{write_tx, DbConn, StoreError};

/// The work of announcing reserved slots as their release time comes.
pub const ANNOUNCE_RELEASES: &str = "announce-releases";

/// Takes or renews the lease on `name` for `owner` until `until`; true when `owner` holds it now.
/// A lease held by another process is taken only once it has expired at `now`.
pub fn claim(
    conn: &mut DbConn,
    name: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<bool, StoreError> {
    write_tx(conn, |c| {
        let taken = diesel::update(work_leases::table.find(name))
            .filter(
                work_leases::owner
                    .eq(owner)
                    .or(work_leases::owner.eq(""))
                    .or(work_leases::expires_at.le(now)),
            )
            .set((
                work_leases::owner.eq(owner),
                work_leases::expires_at.eq(until),
            ))
            .execute(c)?;
        Ok(taken == 1)
    })
}

/// Gives up `owner`'s lease on `name`, so another process may take the work at once.
pub fn release(conn: &mut DbConn, name: &str, owner: &str) -> Result<(), StoreError> {
    write_tx(conn, |c| {
        diesel::update(work_leases::table.find(name))
            .filter(work_leases::owner.eq(owner))
            .set(work_leases::owner.eq(""))
            .execute(c)?;
        Ok(())
    })
}

/// Gives up every lease `owner` holds, installation-wide and on webhooks: a process stopping.
pub fn release_all(conn: &mut DbConn, owner: &str) -> Result<(), StoreError> {
    use crate::schema::webhooks;
    write_tx(conn, |c| {
        diesel::update(work_leases::table.filter(work_leases::owner.eq(owner)))
            .set(work_leases::owner.eq(""))
            .execute(c)?;
        diesel::update(webhooks::table.filter(webhooks::lease_owner.eq(owner)))
            .set(webhooks::lease_owner.eq(None::<String>))
            .execute(c)?;
        Ok(())
    })
}

/// Who holds the lease on `name` and until when; an empty owner means nobody.
pub fn holder(conn: &mut DbConn, name: &str) -> Result<(String, NaiveDateTime), StoreError> {
    Ok(work_leases::table
        .find(name)
        .select((work_leases::owner, work_leases::expires_at))
        .first(conn)?)
}

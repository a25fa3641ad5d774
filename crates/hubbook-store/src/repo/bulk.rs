//! Bulk loading for the data generator: many clusters' rows at once, written with `COPY` on
//! PostgreSQL and with multi-row prepared INSERTs on SQLite, inside the caller's transaction.
//!
//! Nothing here checks the domain rules: the rows must come from the same core functions the
//! repositories use (rota expansion, channel assignment), and the database's constraints still
//! refuse a slot with two live appointments.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::models::TriageBooking;
use crate::models::{Appointment, Cluster, Practice, Rota, Service, Session, Site, Slot, User};
use crate::schema::{
    appointments, clusters, event_counters, practices, rotas, services, sessions, sharing_rules,
    sites, slots, triage_bookings, users,
};
use crate::{DbConn, StoreError};

/// Rows per multi-row INSERT on SQLite: 32 columns x 500 rows stays under its parameter limit.
const SQLITE_CHUNK: usize = 500;

/// One version of a cluster's sharing rules, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SharingRulesRow {
    /// The cluster.
    pub cluster_id: String,
    /// The rules' version.
    pub version: i64,
    /// The rules as JSON in the core's shape.
    pub rules_json: String,
    /// When they were set (UTC).
    pub created_at: NaiveDateTime,
    /// Who set them.
    pub created_by: String,
}

/// Rows to load, table by table; written in dependency order.
#[derive(Debug, Default)]
pub struct Rows {
    /// Clusters (each gets its event counter at zero).
    pub clusters: Vec<Cluster>,
    /// Sites.
    pub sites: Vec<Site>,
    /// Practices.
    pub practices: Vec<Practice>,
    /// Services.
    pub services: Vec<Service>,
    /// Staff users.
    pub users: Vec<User>,
    /// Rotas.
    pub rotas: Vec<Rota>,
    /// Sharing rules.
    pub sharing_rules: Vec<SharingRulesRow>,
    /// Sessions.
    pub sessions: Vec<Session>,
    /// Slots.
    pub slots: Vec<Slot>,
    /// Appointments.
    pub appointments: Vec<Appointment>,
    /// What the 111 appointments were triaged for.
    pub triage_bookings: Vec<TriageBooking>,
}

impl Rows {
    /// How many rows are waiting, counting each cluster's event counter.
    pub fn len(&self) -> usize {
        self.clusters.len() * 2
            + self.sites.len()
            + self.practices.len()
            + self.services.len()
            + self.users.len()
            + self.rotas.len()
            + self.sharing_rules.len()
            + self.sessions.len()
            + self.slots.len()
            + self.appointments.len()
            + self.triage_bookings.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes a table's rows: one binary `COPY` on PostgreSQL, chunked multi-row INSERTs on SQLite.
/// Rows are moved into the statements, never copied (the typed fields insert by value).
macro_rules! load {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let rows = std::mem::take(&mut $rows);
        if !rows.is_empty() {
            match $conn {
                DbConn::Pg(pg) => {
                    diesel::copy_from($table)
                        .from_insertable(rows)
                        .execute(pg)?;
                }
                DbConn::Sqlite(lite) => {
                    for chunk in super::owned_chunks(rows, SQLITE_CHUNK) {
                        diesel::insert_into($table).values(chunk).execute(lite)?;
                    }
                }
            }
        }
    }};
}

/// Writes every row and empties `rows`; returns how many rows were written. Call it inside a
/// transaction so that a failure leaves nothing half-loaded.
pub fn write(conn: &mut DbConn, rows: &mut Rows) -> Result<usize, StoreError> {
    let written = rows.len();
    let counters: Vec<_> = rows
        .clusters
        .iter()
        .map(|c| {
            (
                event_counters::cluster_id.eq(c.id.clone()),
                event_counters::last_seq.eq(0_i64),
            )
        })
        .collect();
    let rules: Vec<_> = rows
        .sharing_rules
        .iter()
        .map(|r| {
            (
                sharing_rules::cluster_id.eq(r.cluster_id.as_str()),
                sharing_rules::version.eq(r.version),
                sharing_rules::rules_json.eq(r.rules_json.as_str()),
                sharing_rules::created_at.eq(r.created_at),
                sharing_rules::created_by.eq(r.created_by.as_str()),
            )
        })
        .collect();
    load!(&mut *conn, clusters::table, rows.clusters);
    // Diesel's multi-backend connection has no batch insert: one INSERT per chunk per backend.
    for chunk in counters.chunks(SQLITE_CHUNK) {
        match &mut *conn {
            DbConn::Pg(pg) => diesel::insert_into(event_counters::table)
                .values(chunk)
                .execute(pg)?,
            DbConn::Sqlite(lite) => diesel::insert_into(event_counters::table)
                .values(chunk)
                .execute(lite)?,
        };
    }
    for chunk in rules.chunks(SQLITE_CHUNK) {
        match &mut *conn {
            DbConn::Pg(pg) => diesel::insert_into(sharing_rules::table)
                .values(chunk)
                .execute(pg)?,
            DbConn::Sqlite(lite) => diesel::insert_into(sharing_rules::table)
                .values(chunk)
                .execute(lite)?,
        };
    }
    load!(&mut *conn, sites::table, rows.sites);
    load!(&mut *conn, practices::table, rows.practices);
    load!(&mut *conn, services::table, rows.services);
    load!(&mut *conn, users::table, rows.users);
    load!(&mut *conn, rotas::table, rows.rotas);
    load!(&mut *conn, sessions::table, rows.sessions);
    load!(&mut *conn, slots::table, rows.slots);
    load!(&mut *conn, appointments::table, rows.appointments);
    load!(&mut *conn, triage_bookings::table, rows.triage_bookings);
    rows.sharing_rules.clear();
    Ok(written)
}

//! Dispositions: the triage outcome codes 111 books by, with their timeframes and the services
//! that fit. One table for the whole installation, edited by admins.

use diesel::prelude::*;
use serde::Serialize;

use super::{insert_audited, update_audited, Audited, Change};
use crate::models::{Disposition, DispositionChanges};
use crate::schema::{disposition_services, dispositions};
use crate::{DbConn, Page, StoreError};

/// A disposition with the service codes that fit it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DispositionEntry {
    /// The disposition.
    #[serde(flatten)]
    pub disposition: Disposition,
    /// Codes of the services whose slots fit, in code order.
    pub service_codes: Vec<String>,
}

impl Audited for DispositionEntry {
    const ENTITY: &'static str = "disposition";
    fn entity_id(&self) -> &str {
        &self.disposition.code
    }
    fn cluster(&self) -> Option<&str> {
        None
    }
    fn version(&self) -> i64 {
        self.disposition.version
    }
}

fn services_of(conn: &mut DbConn, code: &str) -> QueryResult<Vec<String>> {
    disposition_services::table
        .filter(disposition_services::disposition_code.eq(code))
        .select(disposition_services::service_code)
        .order(disposition_services::service_code.asc())
        .load(conn)
}

fn load(conn: &mut DbConn, code: &str) -> QueryResult<DispositionEntry> {
    let disposition = dispositions::table
        .find(code)
        .select(Disposition::as_select())
        .first(conn)?;
    Ok(DispositionEntry {
        disposition,
        service_codes: services_of(conn, code)?,
    })
}

fn set_services(conn: &mut DbConn, code: &str, service_codes: &[String]) -> QueryResult<usize> {
    diesel::delete(
        disposition_services::table.filter(disposition_services::disposition_code.eq(code)),
    )
    .execute(conn)?;
    let mut n = 0;
    for service in service_codes {
        n += diesel::insert_into(disposition_services::table)
            .values((
                disposition_services::disposition_code.eq(code),
                disposition_services::service_code.eq(service),
            ))
            .execute(conn)?;
    }
    Ok(n)
}

/// Reads one disposition and its services.
pub fn get_disposition(conn: &mut DbConn, code: &str) -> Result<DispositionEntry, StoreError> {
    Ok(load(conn, code)?)
}

/// Lists dispositions in code order after a cursor; retired ones only when asked.
pub fn list_dispositions(
    conn: &mut DbConn,
    include_retired: bool,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<DispositionEntry>, StoreError> {
    let mut query = dispositions::table
        .select(Disposition::as_select())
        .order(dispositions::code.asc())
        .limit(limit + 1)
        .into_boxed();
    if !include_retired {
        query = query.filter(dispositions::active.eq(true));
    }
    if let Some(after) = after {
        query = query.filter(dispositions::code.gt(after.to_owned()));
    }
    let rows: Vec<Disposition> = query.load(conn)?;
    let codes: Vec<String> = rows.iter().map(|d| d.code.clone()).collect();
    let links: Vec<(String, String)> = disposition_services::table
        .filter(disposition_services::disposition_code.eq_any(codes))
        .select((
            disposition_services::disposition_code,
            disposition_services::service_code,
        ))
        .order((
            disposition_services::disposition_code.asc(),
            disposition_services::service_code.asc(),
        ))
        .load(conn)?;
    let entries = rows
        .into_iter()
        .map(|d| {
            let service_codes = links
                .iter()
                .filter(|(code, _)| *code == d.code)
                .map(|(_, s)| s.clone())
                .collect();
            DispositionEntry {
                disposition: d,
                service_codes,
            }
        })
        .collect();
    Ok(Page::from_rows(entries, limit, |e: &DispositionEntry| {
        &e.disposition.code
    }))
}

/// Creates a disposition with its services; a taken code is a `Duplicate` conflict. Audited.
pub fn create_disposition(
    conn: &mut DbConn,
    change: &Change,
    row: Disposition,
    service_codes: &[String],
) -> Result<DispositionEntry, StoreError> {
    let code = row.code.clone();
    insert_audited(
        conn,
        change,
        |c| {
            diesel::insert_into(dispositions::table)
                .values(row.clone())
                .execute(c)?;
            set_services(c, &row.code, service_codes)
        },
        |c| load(c, &code),
    )
}

/// Changes a disposition (and, when given, its services), guarded by its version. Audited.
pub fn update_disposition(
    conn: &mut DbConn,
    change: &Change,
    code: &str,
    expected: Option<i64>,
    changes: DispositionChanges,
    service_codes: Option<&[String]>,
) -> Result<DispositionEntry, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, code),
        |c, version| {
            let n = diesel::update(
                dispositions::table
                    .find(code)
                    .filter(dispositions::version.eq(version)),
            )
            .set((
                &changes,
                dispositions::version.eq(version + 1),
                dispositions::updated_at.eq(change.at),
            ))
            .execute(c)?;
            if n > 0 {
                if let Some(services) = service_codes {
                    set_services(c, code, services)?;
                }
            }
            Ok(n)
        },
    )
}

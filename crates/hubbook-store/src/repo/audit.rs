//! The audit trail: one row per change, written in the changing transaction.

use diesel::prelude::*;

use crate::models::AuditEvent;
use crate::schema::audit_events;
use crate::{DbConn, StoreError};

/// Writes one audit event; call it inside the transaction that makes the change.
pub fn record(conn: &mut DbConn, event: AuditEvent) -> Result<(), StoreError> {
    diesel::insert_into(audit_events::table)
        .values(&event)
        .execute(conn)?;
    Ok(())
}

/// The audit events of one entity, oldest first.
pub fn list_for_entity(
    conn: &mut DbConn,
    entity: &str,
    entity_id: &str,
) -> Result<Vec<AuditEvent>, StoreError> {
    Ok(audit_events::table
        .filter(audit_events::entity.eq(entity))
        .filter(audit_events::entity_id.eq(entity_id))
        .order(audit_events::id.asc())
        .select(AuditEvent::as_select())
        .load(conn)?)
}

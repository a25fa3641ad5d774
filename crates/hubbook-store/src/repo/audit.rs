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

/// One change to record: the entity, the action, and its state before and after.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a, T> {
    /// The cluster the entity belongs to.
    pub cluster_id: &'a str,
    /// The kind of entity, e.g. `hold`.
    pub entity: &'a str,
    /// The entity's id.
    pub entity_id: &'a str,
    /// What was done, e.g. `hold.create`.
    pub action: &'a str,
    /// The state before, if it existed.
    pub before: Option<&'a T>,
    /// The state after, if it still exists.
    pub after: Option<&'a T>,
}

/// Writes the audit event of one change, serialising its before and after states.
pub fn write<T: serde::Serialize>(
    conn: &mut DbConn,
    change: &super::Change,
    entry: Entry<'_, T>,
) -> Result<(), StoreError> {
    let json = |v: &T| serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()));
    record(
        conn,
        AuditEvent {
            id: crate::new_id(),
            cluster_id: Some(entry.cluster_id.to_owned()),
            at: change.at,
            actor: change.actor.clone(),
            action: entry.action.to_owned(),
            entity: entry.entity.to_owned(),
            entity_id: entry.entity_id.to_owned(),
            before_json: entry.before.map(json).transpose()?,
            after_json: entry.after.map(json).transpose()?,
        },
    )
}

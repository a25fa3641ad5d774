//! The audit trail: one row per change, written in the changing transaction.

use diesel::prelude::*;

use crate::ids::ClusterId;
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
    pub cluster_id: &'a ClusterId,
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
    let json = |v: &T| serde_json::to_string(v).map_err(|e| StoreError::corrupt(e.to_string()));
    record(
        conn,
        AuditEvent {
            id: crate::new_id(),
            cluster_id: entry.cluster_id.to_owned(),
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

/// Filters for reading the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this cluster's events (a manager's view); every cluster's when `None` (an admin's).
    pub cluster_id: Option<String>,
    /// Only this kind of entity.
    pub entity: Option<String>,
    /// Only this entity.
    pub entity_id: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only at or after this instant.
    pub from: Option<chrono::NaiveDateTime>,
    /// Only before this instant.
    pub to: Option<chrono::NaiveDateTime>,
}

/// Audit events, oldest first (ids are time-ordered), after a cursor.
pub fn list_audit(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<crate::Page<AuditEvent>, StoreError> {
    let mut query = audit_events::table
        .select(AuditEvent::as_select())
        .order(audit_events::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = &filter.cluster_id {
        query = query.filter(audit_events::cluster_id.eq(c.clone()));
    }
    if let Some(e) = &filter.entity {
        query = query.filter(audit_events::entity.eq(e.clone()));
    }
    if let Some(e) = &filter.entity_id {
        query = query.filter(audit_events::entity_id.eq(e.clone()));
    }
    if let Some(a) = &filter.actor {
        query = query.filter(audit_events::actor.eq(a.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.lt(to));
    }
    if let Some(after) = after {
        query = query.filter(audit_events::id.gt(after.to_owned()));
    }
    Ok(crate::Page::from_rows(query.load(conn)?, limit, |e| &e.id))
}

//! How an event of the feed looks on the wire: the same for a page of the feed and for a
//! webhook delivery.

use chrono::{DateTime, Utc};
use hubbook_store::models::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// A unique id: drop an event you have seen (delivery is at least once).
    pub id: String,
    /// Its position in the cluster's feed; also the cursor to resume after it.
    pub cursor: String,
    /// `appointment.booked`, `appointment.cancelled`, `appointment.rescheduled`,
    /// `appointment.outcome`, `appointment.needs_rebooking`, `appointment.rebooking_resolved`
    /// or `slot.released`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The cluster (code, when known).
    pub cluster: String,
    /// When the change was made.
    pub occurred_at: DateTime<Utc>,
    /// The appointment concerned, if any: read it for the patient's details.
    pub appointment_id: Option<String>,
    /// The slot concerned, if any.
    pub slot_id: Option<String>,
    /// The details: times, site, service, channel, practices, status; never patient identifiers.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl EventView {
    /// The view of a stored event; `cluster` is the cluster's code, or its id when not given.
    pub fn from_event(e: &Event, cluster: Option<&str>) -> Self {
        Self {
            id: e.id.clone(),
            cursor: e.seq.to_string(),
            kind: e.kind.clone(),
            cluster: cluster.unwrap_or(&e.cluster_id).to_owned(),
            occurred_at: e.occurred_at.and_utc(),
            appointment_id: e.appointment_id.clone(),
            slot_id: e.slot_id.clone(),
            data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
        }
    }
}

//! Sessions and their slots: read by a cluster's manager and hub staff by site and local date;
//! the manager cancels one session or names its clinician without editing the rota.

use hubbook_core::access::ClusterNeed;
use hubbook_core::validate_name;
use hubbook_store::models::Session;
use hubbook_store::repo::sessions;
use hubbook_store::Page;

use crate::access::cluster_for;
use crate::error::found;
use crate::{Caller, Hubbook, ServiceError};

pub use hubbook_store::repo::sessions::{ChangeReport, SessionFilter, SlotState};

/// A session with its slots and what occupies each now.
#[derive(Debug, Clone)]
pub struct SessionWithSlots {
    /// The session.
    pub session: Session,
    /// Its slots in time then lane order, each free, held or booked.
    pub slots: Vec<SlotState>,
}

impl Hubbook {
    /// The cluster's sessions by site and local date (its manager or hub staff).
    pub async fn list_sessions(
        &self,
        who: &Caller,
        code: String,
        filter: SessionFilter,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<Session>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Operate)?;
            Ok(sessions::list_sessions(
                c,
                &cluster.id,
                &filter,
                after.as_deref(),
                limit,
            )?)
        })
        .await
    }

    /// One session with its slots and whether each is free, held or booked now.
    pub async fn session(
        &self,
        who: &Caller,
        code: String,
        id: String,
    ) -> Result<SessionWithSlots, ServiceError> {
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Operate)?;
            let session = found(sessions::get_session(c, &cluster.id, &id), "session")?;
            let slots = sessions::session_slots(c, &cluster.id, &id, now.naive_utc())?;
            Ok(SessionWithSlots { session, slots })
        })
        .await
    }

    /// Cancels one session (its cluster's manager) by the rules of a withdrawal: free slots go,
    /// booked patients are kept and listed for rebooking with `reason`. Republishing leaves it
    /// cancelled.
    pub async fn cancel_session(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        reason: &str,
    ) -> Result<ChangeReport, ServiceError> {
        let reason = validate_name("reason", reason, hubbook_core::MAX_TEXT_CHARS)?;
        let who = who.clone();
        let change = self.change(&who);
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            found(
                sessions::cancel_session(c, &change, &cluster.id, &id, expected, &reason),
                "session",
            )
        })
        .await
    }

    /// Names or clears (`None`) the clinician of one session (its cluster's manager); the name
    /// has passed `hubbook_core::validate_name`.
    pub async fn set_clinician(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        clinician: Option<String>,
    ) -> Result<Session, ServiceError> {
        let who = who.clone();
        let change = self.change(&who);
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            found(
                sessions::set_clinician(c, &change, &cluster.id, &id, expected, clinician),
                "session",
            )
        })
        .await
    }
}

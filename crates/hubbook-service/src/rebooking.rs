//! The rebooking worklist: appointments a rota change left in a slot that no longer belongs,
//! kept valid until a receptionist or the cluster's manager rebooks, cancels or confirms them.

use chrono::{DateTime, Utc};
use hubbook_core::access::ClusterNeed;
use hubbook_store::ids::{AppointmentId, PracticeId};
use hubbook_store::models::{Appointment, Cluster, Rebooking};
use hubbook_store::repo::appointments;
use hubbook_store::repo::MAX_PAGE;
use hubbook_store::{DbConn, Page};

use crate::access::cluster_for;
use crate::error::found;
use crate::{Caller, Hubbook, ServiceError};
use hubbook_core::validate_optional_name;

pub use hubbook_store::repo::appointments::Resolution;

/// The most appointments the whole worklist holds (oldest need first).
pub const MAX_WORKLIST_ROWS: usize = 10_000;

/// One appointment to rebook or confirm, with why and when it was flagged.
#[derive(Debug, Clone)]
pub struct RebookingEntry {
    /// The open need: why and when.
    pub need: Rebooking,
    /// The appointment, still live until the need is resolved.
    pub appointment: Appointment,
}

impl From<(Rebooking, Appointment)> for RebookingEntry {
    fn from((need, appointment): (Rebooking, Appointment)) -> Self {
        Self { need, appointment }
    }
}

/// The longest note a rebooking resolution records, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// The whole worklist of a cluster, as one download.
#[derive(Debug, Clone)]
pub struct Worklist {
    /// The cluster's code.
    pub cluster_code: String,
    /// When it was read.
    pub as_of: DateTime<Utc>,
    /// Up to [`MAX_WORKLIST_ROWS`] entries, oldest need first.
    pub entries: Vec<RebookingEntry>,
}

/// The cluster and, for a receptionist, the practice whose worklist the caller works: a
/// cluster's manager works all of it, a receptionist its own practice's bookings.
fn worklist_of(
    c: &mut DbConn,
    who: &Caller,
    code: &str,
) -> Result<(Cluster, Option<PracticeId>), ServiceError> {
    let cluster = cluster_for(c, who, code, ClusterNeed::Read)?;
    let practice = crate::access::rebooking_role(who)?;
    Ok((cluster, practice))
}

impl Hubbook {
    /// A page of the appointments needing rebooking that the caller works, oldest need first.
    pub async fn rebooking_list(
        &self,
        who: &Caller,
        code: String,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<RebookingEntry>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let (cluster, practice) = worklist_of(c, &who, &code)?;
            let page = appointments::list_rebooking(
                c,
                &cluster.id,
                practice.as_ref(),
                after.as_deref(),
                limit,
            )?;
            Ok(Page {
                items: page.items.into_iter().map(RebookingEntry::from).collect(),
                next_after: page.next_after,
            })
        })
        .await
    }

    /// The whole worklist the caller works (up to [`MAX_WORKLIST_ROWS`]), for a download.
    pub async fn rebooking_worklist(
        &self,
        who: &Caller,
        code: String,
    ) -> Result<Worklist, ServiceError> {
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| {
            let (cluster, practice) = worklist_of(c, &who, &code)?;
            let mut entries = Vec::new();
            let mut after = None;
            loop {
                let page = appointments::list_rebooking(
                    c,
                    &cluster.id,
                    practice.as_ref(),
                    after.as_deref(),
                    MAX_PAGE,
                )?;
                entries.extend(page.items.into_iter().map(RebookingEntry::from));
                after = page.next_after;
                if after.is_none() || entries.len() >= MAX_WORKLIST_ROWS {
                    break;
                }
            }
            entries.truncate(MAX_WORKLIST_ROWS);
            Ok(Worklist {
                cluster_code: cluster.code,
                as_of: now,
                entries,
            })
        })
        .await
    }

    /// Resolves several appointments' rebooking needs the same way, with the same note, each in
    /// its own transaction (one changed meanwhile does not undo the others): the answer for each
    /// `(id, expected version)`, in order.
    pub async fn resolve_rebookings(
        &self,
        who: &Caller,
        code: String,
        items: Vec<(String, Option<i64>)>,
        resolution: Resolution,
        note: Option<String>,
    ) -> Vec<(String, Result<RebookingEntry, ServiceError>)> {
        let mut out = Vec::with_capacity(items.len());
        for (id, expected) in items {
            let answer = self
                .resolve_rebooking(
                    who,
                    code.clone(),
                    id.clone(),
                    expected,
                    resolution,
                    note.clone(),
                )
                .await;
            out.push((id, answer));
        }
        out
    }

    /// Resolves one appointment's rebooking need (keep the old time, or cancel it) if the
    /// appointment is still at version `expected`, recording `note` (why) with it; a receptionist
    /// only its practice's bookings.
    pub async fn resolve_rebooking(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        resolution: Resolution,
        note: Option<String>,
    ) -> Result<RebookingEntry, ServiceError> {
        let note = validate_optional_name(
            "note",
            note.as_deref().filter(|n| !n.trim().is_empty()),
            MAX_NOTE_CHARS,
        )?;
        let who = who.clone();
        let change = self.change(&who);
        self.run(move |c| {
            let (cluster, practice) = worklist_of(c, &who, &code)?;
            let appointment = found(
                appointments::get_appointment(c, &cluster.id, &AppointmentId::from(&id)),
                "appointment",
            )?;
            if practice.is_some() && appointment.booking_practice_id != practice {
                return Err(ServiceError::NotFound(
                    "no appointment here that you may see".into(),
                ));
            }
            Ok(found(
                appointments::resolve_rebooking(
                    c,
                    &change,
                    &cluster.id,
                    &AppointmentId::from(&id),
                    expected,
                    resolution,
                    note.as_deref(),
                ),
                "open rebooking need",
            )?
            .into())
        })
        .await
    }
}

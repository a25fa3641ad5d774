//! Reading appointments: one, a list, a hub's day list. Who may see which is
//! `hubbook_core::access`; a list applies the same rule as SQL, so its pages are full.

use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::access::{
    may_see_appointment, permit, Action, AppointmentFacts, AppointmentScope, Forbidden,
};
use hubbook_core::{NhsNumber, Role, SiteKind};
use hubbook_store::ids::{AppointmentId, ClusterId, SiteId};
use hubbook_store::models::{Appointment, RequesterContact, Service, Session, Site, TriageBooking};
use hubbook_store::repo::appointments::{self as appointment_repo, AppointmentFilter};
use hubbook_store::repo::{booking, clusters, practices, services, sessions, sites, MAX_PAGE};
use hubbook_store::{DbConn, Page, StoreError};

use crate::access::{clusters_of, own_cluster};
use crate::error::found;
use crate::viewer::{agreement_in_force, member_practice, own_agreement_in_force, today_in};
use crate::{Caller, Hubbook, ServiceError};

/// What to list: every field narrows the caller's own scope further.
#[derive(Debug, Clone, Default)]
pub struct AppointmentQuery {
    /// Starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Starting before.
    pub to: Option<DateTime<Utc>>,
    /// Only at this site (id).
    pub site: Option<String>,
    /// Only this practice's (ODS code; managers and hub staff).
    pub practice: Option<String>,
    /// Only in this status.
    pub status: Option<String>,
    /// Only this patient.
    pub nhs_number: Option<NhsNumber>,
}

/// One appointment with what its reads show beside it.
#[derive(Debug, Clone)]
pub struct AppointmentDetail {
    /// The appointment.
    pub appointment: Appointment,
    /// What it was triaged for, if a triage service booked it.
    pub triage: Option<TriageBooking>,
    /// How the organisation that asked for it described itself, if it did.
    pub requester_contact: Option<RequesterContact>,
    /// Its site, service and session, when asked for (a FHIR rendering names them).
    pub place: Option<(Site, Service, Session)>,
    /// The slot ids it takes, in time order: one, or several adjacent ones.
    pub slot_ids: Vec<String>,
}

/// Appointments as their readers see them, each of several slots ending when its last does.
fn extend_ends(
    c: &mut DbConn,
    cluster_ids: &[ClusterId],
    items: &mut [Appointment],
) -> Result<(), ServiceError> {
    let ids: Vec<AppointmentId> = items.iter().map(|a| a.id.clone()).collect();
    let ends = appointment_repo::part_ends(c, cluster_ids, &ids)?;
    for a in items {
        if let Some(end) = ends.get(&a.id) {
            a.ends_at = *end;
        }
    }
    Ok(())
}

/// An appointment as its readers see it: one of several adjacent slots ends when its last
/// slot ends (each slot keeps its own row, so that slot reports count it).
pub(crate) fn whole(c: &mut DbConn, mut a: Appointment) -> Result<Appointment, ServiceError> {
    let ends = appointment_repo::part_ends(
        c,
        std::slice::from_ref(&a.cluster_id),
        std::slice::from_ref(&a.id),
    )?;
    if let Some(end) = ends.get(&a.id) {
        a.ends_at = *end;
    }
    Ok(a)
}

/// An appointment as its readers see it: its slots in time order (ending when its last does),
/// its triage record, the contact its booking organisation gave and, when `with_place`, its
/// site, service and session.
pub(crate) fn detail_of(
    c: &mut DbConn,
    mut a: Appointment,
    with_place: bool,
) -> Result<AppointmentDetail, ServiceError> {
    let parts = appointment_repo::parts_of(c, &a.cluster_id, &a.id)?;
    let mut slot_ids = vec![a.slot_id.to_string()];
    slot_ids.extend(parts.iter().map(|p| p.slot_id.to_string()));
    if let Some(last) = parts.last() {
        a.ends_at = last.ends_at;
    }
    let triage = booking::triage_of(c, &a.cluster_id, &a.id)?;
    let requester_contact = booking::requester_contact_of(c, &a.cluster_id, &a.id)?;
    let place = if with_place {
        Some((
            sites::get_site(c, &a.cluster_id, &a.site_id)?,
            services::get_service(c, &a.cluster_id, &a.service_id)?,
            sessions::get_session(c, &a.cluster_id, &a.session_id)?,
        ))
    } else {
        None
    };
    Ok(AppointmentDetail {
        appointment: a,
        triage,
        requester_contact,
        place,
        slot_ids,
    })
}

/// Loads an appointment the caller may see (`hubbook_core::access::may_see_appointment`), or
/// `NotFound`: a caller outside its scope learns nothing of whether it exists.
pub(crate) fn visible_appointment(
    c: &mut DbConn,
    who: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Appointment, ServiceError> {
    permit(who.role, Action::ReadAppointments)?;
    let not_found = || ServiceError::NotFound("no appointment here that you may see".into());
    let mut found_one = None;
    for cluster_id in clusters_of(who) {
        match appointment_repo::get_appointment(c, &cluster_id, &AppointmentId::from(id)) {
            Ok(a) => {
                found_one = Some(a);
                break;
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let a = found_one.ok_or_else(not_found)?;
    let (own_shares, booker_shares) = match (who.role, &a.booking_practice_id) {
        (Role::Receptionist, Some(booker)) => {
            let today = today_in(&clusters::get_cluster(c, &a.cluster_id)?, now)?;
            (
                own_agreement_in_force(c, who, today)?,
                agreement_in_force(&practices::get_practice(c, &a.cluster_id, booker)?, today),
            )
        }
        _ => (false, false),
    };
    let at_hub = who.role == Role::HubStaff
        && sites::get_site(c, &a.cluster_id, &a.site_id)?.kind == SiteKind::Hub;
    let facts = AppointmentFacts {
        cluster_id: &a.cluster_id,
        booking_practice: a.booking_practice_id.as_deref(),
        registered_practice: a.registered_practice_id.as_deref(),
        booked_by: &a.booked_by,
        at_hub,
        booker_shares,
    };
    if may_see_appointment(who, own_shares, &facts) {
        Ok(a)
    } else {
        Err(not_found())
    }
}

impl Hubbook {
    /// One appointment the caller may see, with its triage record and, when `with_place`, its
    /// site, service and session.
    pub async fn appointment(
        &self,
        who: &Caller,
        id: String,
        with_place: bool,
    ) -> Result<AppointmentDetail, ServiceError> {
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| {
            let a = visible_appointment(c, &who, &id, now)?;
            detail_of(c, a, with_place)
        })
        .await
    }

    /// The appointments the caller may see, by start time: a receptionist its practice's
    /// (and its patients' booked elsewhere under agreements in force), hub staff the hubs',
    /// a manager the cluster's, a triage service what it booked. Pages are full until the last.
    pub async fn list_appointments(
        &self,
        who: &Caller,
        query: AppointmentQuery,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<Appointment>, ServiceError> {
        permit(who.role, Action::ReadAppointments)?;
        if who.role == Role::Receptionist && query.practice.is_some() {
            return Err(Forbidden("a receptionist lists its own practice's appointments").into());
        }
        let (who, now) = (who.clone(), self.now());
        self.run_for(who, move |c, who| {
            let cluster_ids: Vec<ClusterId> = clusters_of(who);
            let Some(first) = cluster_ids.first().cloned() else {
                return Err(Forbidden("no cluster in scope").into());
            };
            let today = today_in(&clusters::get_cluster(c, &first)?, now)?;
            let scope = AppointmentScope::of(who, own_agreement_in_force(c, who, today)?)?;
            let practice_id = match &query.practice {
                Some(ods) => Some(member_practice(c, &first, ods)?),
                None => None,
            };
            let filter = AppointmentFilter {
                practice_id: practice_id.map(Into::into),
                site_id: query.site,
                status: query.status,
                nhs_number: query.nhs_number.map(|n| n.as_str().to_owned()),
                from: query.from.map(|t| t.naive_utc()),
                to: query.to.map(|t| t.naive_utc()),
            };
            let mut page = appointment_repo::list_appointments(
                c,
                &cluster_ids,
                &scope,
                today,
                &filter,
                after.as_deref(),
                limit,
            )?;
            extend_ends(c, &cluster_ids, &mut page.items)?;
            Ok(page)
        })
        .await
    }

    /// One site's appointments on a local date, in time order, every status included: hub staff
    /// (hubs only) and the manager of its cluster.
    pub async fn day_list(
        &self,
        who: &Caller,
        site_id: String,
        date: NaiveDate,
    ) -> Result<Vec<Appointment>, ServiceError> {
        permit(who.role, Action::ReadDayList)?;
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| {
            let cluster_id = own_cluster(&who)?;
            let site = found(
                sites::get_site(c, &cluster_id, &SiteId::from(site_id)),
                "site",
            )?;
            if who.role == Role::HubStaff && site.kind != SiteKind::Hub {
                return Err(ServiceError::NotFound(
                    "no hub here that you may see".into(),
                ));
            }
            let cluster = clusters::get_cluster(c, &cluster_id)?;
            let day = cluster.time_zone.day(date);
            let today = today_in(&cluster, now)?;
            let filter = AppointmentFilter {
                site_id: Some(site.id.into()),
                from: Some(day.from.naive_utc()),
                to: Some(day.to.naive_utc()),
                ..AppointmentFilter::default()
            };
            let scope = AppointmentScope::of(&who, false)?;
            let mut items = appointment_repo::list_appointments(
                c,
                std::slice::from_ref(&cluster_id),
                &scope,
                today,
                &filter,
                None,
                MAX_PAGE * 4,
            )?
            .items;
            extend_ends(c, std::slice::from_ref(&cluster_id), &mut items)?;
            Ok(items)
        })
        .await
    }
}

//! The patients an integration books for, known by NHS number. hubbook keeps no patient
//! register: an appointment carries its patient's details. An integration may register a
//! patient it is about to book (a temporary resident, or a patient registered nowhere near the
//! hub) with the details a booking needs; that record is the integration's own. A patient it has
//! not registered is found through the appointments it may see, the newest first.

use hubbook_core::access::{permit, Action, Forbidden, SubjectKind};
use hubbook_core::patient::{Patient, Registration};
use hubbook_core::NhsNumber;
use hubbook_store::models::{Appointment, ConsumerPatient};
use hubbook_store::repo::appointments::{self as appointment_repo, AppointmentFilter};
use hubbook_store::repo::{clusters, patients as patient_repo};
use hubbook_store::DbConn;

use crate::access::clusters_of;
use crate::viewer::{own_agreement_in_force, today_in};
use crate::{Caller, Hubbook, ServiceError};

/// A patient an integration registers, with how it registers them.
#[derive(Debug, Clone)]
pub struct RegisterPatient {
    /// The patient, with an NHS number.
    pub patient: Patient,
    /// How the patient is registered.
    pub registration: Registration,
}

/// A patient as hubbook knows them to an integration: from its own register, or from the
/// newest appointment it may see.
#[derive(Debug, Clone)]
pub struct KnownPatient {
    /// The patient's details.
    pub patient: Patient,
    /// How the integration registered the patient, when it did.
    pub registration: Option<Registration>,
    /// The record's version: the register's, or 1 for details read off an appointment.
    pub version: i64,
}

fn integration_only(who: &Caller) -> Result<(), ServiceError> {
    permit(who.role, Action::Book)?;
    if who.kind == SubjectKind::Client {
        Ok(())
    } else {
        Err(Forbidden("patients are registered by an integration's system").into())
    }
}

fn from_register(row: ConsumerPatient) -> Result<KnownPatient, ServiceError> {
    let patient = Patient::parse(
        Some(&row.nhs_number),
        &row.name,
        row.birth_date,
        &row.phone,
        row.email.as_deref(),
        None,
    )?;
    Ok(KnownPatient {
        patient,
        registration: Registration::from_code(&row.registration),
        version: row.version,
    })
}

fn from_appointment(a: &Appointment) -> Result<KnownPatient, ServiceError> {
    let patient = Patient::parse(
        a.nhs_number.as_deref(),
        &a.patient_name,
        a.patient_birth_date,
        &a.patient_phone,
        a.patient_email.as_deref(),
        a.adjustments.as_deref(),
    )?;
    Ok(KnownPatient {
        patient,
        registration: None,
        version: 1,
    })
}

/// The newest appointment of this patient the caller may see (by when it was booked).
fn newest_appointment(
    c: &mut DbConn,
    who: &Caller,
    nhs: &NhsNumber,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Appointment>, ServiceError> {
    let cluster_ids = clusters_of(who);
    let Some(first) = cluster_ids.first() else {
        return Ok(None);
    };
    let today = today_in(&clusters::get_cluster(c, first)?, now)?;
    let scope =
        hubbook_core::access::AppointmentScope::of(who, own_agreement_in_force(c, who, today)?)?;
    let filter = AppointmentFilter {
        nhs_number: Some(nhs.as_str().to_owned()),
        ..AppointmentFilter::default()
    };
    let mut newest: Option<Appointment> = None;
    let mut after = None;
    loop {
        let page = appointment_repo::list_appointments(
            c,
            &cluster_ids,
            &scope,
            today,
            &filter,
            after.as_deref(),
            hubbook_store::repo::MAX_PAGE,
        )?;
        for a in page.items {
            if newest.as_ref().is_none_or(|n| a.created_at > n.created_at) {
                newest = Some(a);
            }
        }
        after = page.next_after;
        if after.is_none() {
            return Ok(newest);
        }
    }
}

impl Hubbook {
    /// Registers a patient with the calling integration (or registers them again with new
    /// details): a booking by the integration then needs only their NHS number.
    pub async fn register_patient(
        &self,
        who: &Caller,
        cmd: RegisterPatient,
    ) -> Result<KnownPatient, ServiceError> {
        integration_only(who)?;
        let nhs = cmd
            .patient
            .nhs_number
            .clone()
            .ok_or(ServiceError::InvalidCommand(
                "a patient is registered with their NHS number",
            ))?;
        cmd.patient.born_by(self.now().date_naive())?;
        let change = self.change(who);
        let row = ConsumerPatient {
            integration_id: who.id.clone(),
            nhs_number: nhs.as_str().to_owned(),
            name: cmd.patient.name.clone(),
            birth_date: cmd.patient.birth_date,
            phone: cmd.patient.phone.clone(),
            email: cmd.patient.email.clone(),
            registration: cmd.registration.code().to_owned(),
            version: 0,
            created_at: change.at,
            updated_at: change.at,
        };
        self.run(move |c| from_register(patient_repo::register(c, &change, row)?))
            .await
    }

    /// The patient with this NHS number as the calling integration knows them: its own
    /// registration, else the details of the newest appointment it may see; `None` when neither.
    pub async fn find_patient(
        &self,
        who: &Caller,
        nhs: NhsNumber,
    ) -> Result<Option<KnownPatient>, ServiceError> {
        integration_only(who)?;
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| known_patient(c, &who, &nhs, now)).await
    }
}

/// The patient with this NHS number as the calling integration knows them, as
/// [`Hubbook::find_patient`] finds them.
pub(crate) fn known_patient(
    c: &mut DbConn,
    who: &Caller,
    nhs: &NhsNumber,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<KnownPatient>, ServiceError> {
    integration_only(who)?;
    if let Some(row) = patient_repo::find(c, &who.id, nhs.as_str())? {
        return from_register(row).map(Some);
    }
    newest_appointment(c, who, nhs, now)?
        .as_ref()
        .map(from_appointment)
        .transpose()
}

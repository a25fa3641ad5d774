//! The patients GP Connect consumers register with hubbook: each consumer's own record of a
//! patient it books (hubbook keeps no patient register of its own; appointments carry their
//! patient's details). Registering again replaces the details and keeps the first instant.

use diesel::prelude::*;

use crate::models::ConsumerPatient;
use crate::repo::integrations::audit_integration;
use crate::repo::Change;
use crate::schema::consumer_patients;
use crate::{write_tx, DbConn, StoreError};

/// Registers a patient for its consumer, or registers it again with new details (the version
/// moves on); audited either way.
pub fn register(
    conn: &mut DbConn,
    change: &Change,
    patient: ConsumerPatient,
) -> Result<ConsumerPatient, StoreError> {
    write_tx(conn, |c| {
        let before = find(c, &patient.integration_id, &patient.nhs_number)?;
        let after = match &before {
            None => {
                let row = ConsumerPatient {
                    version: 1,
                    created_at: change.at,
                    updated_at: change.at,
                    ..patient.clone()
                };
                diesel::insert_into(consumer_patients::table)
                    .values(&row)
                    .execute(c)?;
                row
            }
            Some(old) => {
                let row = ConsumerPatient {
                    version: old.version + 1,
                    created_at: old.created_at,
                    updated_at: change.at,
                    ..patient.clone()
                };
                diesel::update(
                    consumer_patients::table.find((&row.integration_id, &row.nhs_number)),
                )
                .set((
                    consumer_patients::name.eq(&row.name),
                    consumer_patients::birth_date.eq(row.birth_date),
                    consumer_patients::phone.eq(&row.phone),
                    consumer_patients::email.eq(&row.email),
                    consumer_patients::registration.eq(&row.registration),
                    consumer_patients::version.eq(row.version),
                    consumer_patients::updated_at.eq(row.updated_at),
                ))
                .execute(c)?;
                row
            }
        };
        // The audit trail says who registered whom and when, not the patient's details.
        let summary = |p: &ConsumerPatient| serde_json::json!({"registration": p.registration, "version": p.version});
        audit_integration(
            c,
            change,
            if before.is_some() {
                "consumer_patient.update"
            } else {
                "consumer_patient.create"
            },
            ("consumer_patient", &after.nhs_number, &after.integration_id),
            before.as_ref().map(summary).as_ref(),
            Some(&summary(&after)),
        )?;
        Ok(after)
    })
}

/// The patient a consumer registered with this NHS number, if it did.
pub fn find(
    conn: &mut DbConn,
    integration_id: &str,
    nhs_number: &str,
) -> Result<Option<ConsumerPatient>, StoreError> {
    Ok(consumer_patients::table
        .find((integration_id, nhs_number))
        .select(ConsumerPatient::as_select())
        .first(conn)
        .optional()?)
}

//! `GET /metadata`: the CapabilityStatement, drawn from [`Interaction::SERVED`] so that it
//! lists exactly the interactions the facade answers, and nothing it does not.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::error::{GpcError, OPERATION_OUTCOME_PROFILE};
use crate::request::Interaction;
use crate::Facade;

/// The GP Connect release the facade follows.
pub const GP_CONNECT_VERSION: &str = "1.2.8";
/// The FHIR release of GP Connect 1.2.8.
pub const FHIR_VERSION: &str = "3.0.1";

/// The CapabilityStatement of the interactions served.
pub fn capability_statement(served: &[Interaction]) -> Value {
    let mut resources: Vec<(&str, Vec<&str>)> = Vec::new();
    for interaction in served {
        let (kind, code) = match interaction {
            Interaction::Metadata => continue,
            Interaction::SearchSlots => ("Slot", "search-type"),
            Interaction::Book => ("Appointment", "create"),
            Interaction::Read => ("Appointment", "read"),
            Interaction::Amend | Interaction::Cancel => ("Appointment", "update"),
            Interaction::PatientAppointments | Interaction::SearchPatient => {
                ("Patient", "search-type")
            }
            Interaction::ReadPatient => ("Patient", "read"),
            Interaction::RegisterPatient => continue,
        };
        match resources.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, codes)) if !codes.contains(&code) => codes.push(code),
            Some(_) => {}
            None => resources.push((kind, vec![code])),
        }
    }
    let resource: Vec<Value> = resources
        .iter()
        .map(|(kind, codes)| {
            let mut r = json!({
                "type": kind,
                "interaction": codes.iter().map(|c| json!({"code": c})).collect::<Vec<_>>(),
            });
            if *kind == "Slot" {
                r["searchInclude"] = json!([
                    "Slot:schedule",
                    "Schedule:actor:Location",
                    "Location:managingOrganization"
                ]);
                r["searchParam"] = json!([
                    {"name": "start", "type": "date", "documentation": "ge, once: a date (England's) or a date-time with its offset"},
                    {"name": "end", "type": "date", "documentation": "le, once; at most 14 days after start"},
                    {"name": "status", "type": "token", "documentation": "free"},
                    {"name": "searchFilter", "type": "token", "documentation": "the booking organisation's ODS code and type (urgent-care for NHS 111); others are ignored"},
                    {"name": "service.identifier", "type": "token", "documentation": "only the slots of the service with this code (system|code or code)"},
                ]);
            }
            r
        })
        .collect();
    let mut rest = json!({
        "mode": "server",
        "documentation": "GP Connect Appointment Management served by hubbook: only the interactions listed here; any other answers 501 NOT_IMPLEMENTED.",
    });
    if !resource.is_empty() {
        rest["resource"] = json!(resource);
    }
    if served.contains(&Interaction::RegisterPatient) {
        rest["operation"] = json!([{
            "name": "gpc.registerpatient",
            "definition": {"reference": "https://fhir.nhs.uk/STU3/OperationDefinition/GPConnect-RegisterPatient-Operation-1"},
        }]);
    }
    json!({
        "resourceType": "CapabilityStatement",
        "version": GP_CONNECT_VERSION,
        "name": "GP Connect Appointment Management (hubbook)",
        "status": "active",
        "date": "2026-11-30",
        "publisher": "hubbook",
        "description": "The GP Connect facade of hubbook: shared appointment capacity of a cluster's hubs and practices.",
        "kind": "instance",
        "software": {"name": "hubbook", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "hubbook GP Connect facade"},
        "fhirVersion": FHIR_VERSION,
        "acceptUnknown": "both",
        "format": ["application/fhir+json"],
        "profile": [{"reference": OPERATION_OUTCOME_PROFILE}],
        "rest": [rest],
    })
}

/// `GET /metadata`.
pub async fn read(req: HttpRequest, facade: web::Data<Facade>) -> Result<HttpResponse, GpcError> {
    crate::admit(&req, Interaction::Metadata, &facade).await?;
    Ok(crate::fhir(
        StatusCode::OK,
        &capability_statement(Interaction::SERVED),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_lists_only_what_is_served() {
        let only_metadata = capability_statement(&[Interaction::Metadata]);
        assert_eq!(only_metadata["fhirVersion"], "3.0.1");
        assert_eq!(only_metadata["version"], "1.2.8");
        assert!(only_metadata["rest"][0].get("resource").is_none());
        let more = capability_statement(&[
            Interaction::SearchSlots,
            Interaction::Amend,
            Interaction::Cancel,
            Interaction::Read,
        ]);
        let resources = more["rest"][0]["resource"].as_array().unwrap();
        assert_eq!(resources.len(), 2);
        assert_eq!(
            resources[1]["interaction"],
            json!([{"code": "update"}, {"code": "read"}]),
            "amend and cancel are one update"
        );
    }
}

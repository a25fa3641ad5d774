//! Patients: `GET /Patient?identifier=`, `GET /Patient/{id}` and
//! `POST /Patient/$gpc.registerpatient`.
//!
//! hubbook keeps no patient register, so a patient is known to a consumer by NHS number, and
//! the NHS number is the Patient's logical id (`Patient/9990001234`): the same id in every
//! consumer, every read and every appointment. A consumer finds a patient hubbook has booked
//! for it before (the details of the newest appointment it may see), or one it registered.
//! A temporary resident, or a patient registered nowhere near the hub, is registered first
//! with `$gpc.registerpatient` (name, birth date and a phone number the hub can call): the
//! record is the consumer's own, and its bookings then need only the reference.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use hubbook_core::patient::{Patient, Registration};
use hubbook_core::NhsNumber;
use hubbook_service::patients::{KnownPatient, RegisterPatient};
use serde_json::{json, Map, Value};

use crate::error::{from_service, ErrorCode, GpcError};
use crate::fhir::{meta, NHS_NUMBER_SYSTEM, PROFILE_BASE};
use crate::request::Interaction;
use crate::Facade;

/// The profile of the Patient resources hubbook writes.
pub const PATIENT_PROFILE: &str = "CareConnect-GPC-Patient-1";

/// A Patient logical id: an NHS number with its check digit; `PATIENT_NOT_FOUND` otherwise (a
/// Patient with any other id cannot exist here).
pub fn patient_id(id: &str) -> Result<NhsNumber, GpcError> {
    NhsNumber::parse(id).map_err(|_| {
        GpcError::new(
            ErrorCode::PatientNotFound,
            format!("no patient {id}: a patient's id here is their NHS number"),
        )
    })
}

/// A patient as a `CareConnect-GPC-Patient-1` resource, under its NHS number.
pub fn resource(known: &KnownPatient) -> Value {
    let p = &known.patient;
    let nhs = p
        .nhs_number
        .as_ref()
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    let mut words: Vec<&str> = p.name.split_whitespace().collect();
    let family = words.pop().unwrap_or_default();
    let mut telecom = vec![json!({"system": "phone", "value": p.phone, "use": "home"})];
    if let Some(email) = &p.email {
        telecom.push(json!({"system": "email", "value": email, "use": "home"}));
    }
    let mut patient = json!({
        "resourceType": "Patient",
        "id": nhs,
        "meta": meta(PATIENT_PROFILE, known.version),
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
        "name": [{"use": "official", "text": p.name, "family": family, "given": words}],
        "telecom": telecom,
        "birthDate": p.birth_date.to_string(),
    });
    if let Some(registration) = known.registration {
        patient["extension"] = json!([{
            "url": format!("{PROFILE_BASE}Extension-CareConnect-GPC-RegistrationDetails-1"),
            "extension": [{
                "url": "registrationType",
                "valueCodeableConcept": {"coding": [{
                    "system": "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-RegistrationType-1",
                    "code": registration.code(),
                    "display": registration.display(),
                }]},
            }],
        }]);
    }
    patient
}

fn searchset(patients: &[Value]) -> Value {
    let mut bundle = json!({"resourceType": "Bundle", "type": "searchset"});
    if !patients.is_empty() {
        bundle["entry"] = json!(patients
            .iter()
            .map(|p| json!({"fullUrl": format!("Patient/{}", p["id"].as_str().unwrap_or_default()), "resource": p}))
            .collect::<Vec<_>>());
    }
    bundle
}

/// The NHS number of a patient search's `identifier` parameter.
pub fn searched_nhs_number(query: &str) -> Result<NhsNumber, GpcError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| GpcError::bad_request("the query string does not parse"))?;
    let identifiers: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "identifier")
        .map(|(_, v)| v.as_str())
        .collect();
    let value = match identifiers.as_slice() {
        [] => return Err(GpcError::bad_request("identifier is required")),
        [one] => *one,
        _ => return Err(GpcError::bad_request("identifier may be given once")),
    };
    let (system, number) = value.split_once('|').ok_or_else(|| {
        GpcError::bad_request(format!(
            "identifier is {NHS_NUMBER_SYSTEM}|<NHS number>, not {value}"
        ))
    })?;
    if system != NHS_NUMBER_SYSTEM {
        return Err(GpcError::new(
            ErrorCode::InvalidIdentifierSystem,
            format!("a patient is found by NHS number ({NHS_NUMBER_SYSTEM}), not {system}"),
        ));
    }
    NhsNumber::parse(number).map_err(|e| GpcError::new(ErrorCode::InvalidNhsNumber, e.to_string()))
}

/// `GET /Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|...`: a searchset with the
/// patient, or empty when the consumer knows no such patient here.
pub async fn search(req: HttpRequest, facade: web::Data<Facade>) -> Result<HttpResponse, GpcError> {
    let (caller, _) = crate::admit(&req, Interaction::SearchPatient, &facade).await?;
    let nhs = searched_nhs_number(req.query_string())?;
    let found = facade
        .hubbook
        .find_patient(&caller, nhs)
        .await
        .map_err(from_service)?;
    let patients: Vec<Value> = found.iter().map(resource).collect();
    Ok(crate::fhir(StatusCode::OK, &searchset(&patients)))
}

/// `GET /Patient/{id}`.
pub async fn read(
    req: HttpRequest,
    facade: web::Data<Facade>,
    id: web::Path<String>,
) -> Result<HttpResponse, GpcError> {
    let (caller, _) = crate::admit(&req, Interaction::ReadPatient, &facade).await?;
    let nhs = patient_id(&id)?;
    let known = facade
        .hubbook
        .find_patient(&caller, nhs)
        .await
        .map_err(from_service)?
        .ok_or_else(|| {
            GpcError::new(
                ErrorCode::PatientNotFound,
                format!("no patient {id} that you may see: register them first"),
            )
        })?;
    let patient = resource(&known);
    Ok(crate::versioned(StatusCode::OK, &patient, known.version))
}

fn invalid(why: impl Into<String>) -> GpcError {
    GpcError::new(ErrorCode::InvalidResource, why)
}

/// The patient of a `$gpc.registerpatient` body: a Parameters resource whose `registerPatient`
/// parameter is the Patient, with an NHS number, an official name, a birth date and a phone.
pub fn registration(body: &Value) -> Result<RegisterPatient, GpcError> {
    if body["resourceType"] != "Parameters" {
        return Err(invalid("the body is a Parameters resource"));
    }
    let patient = body["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "registerPatient"))
        .and_then(|p| p["resource"].as_object())
        .ok_or_else(|| invalid("the registerPatient parameter, a Patient, is required"))?;
    if patient.get("resourceType").and_then(Value::as_str) != Some("Patient") {
        return Err(invalid("registerPatient is a Patient resource"));
    }
    let nhs = patient
        .get("identifier")
        .and_then(Value::as_array)
        .and_then(|ids| ids.iter().find(|i| i["system"] == NHS_NUMBER_SYSTEM))
        .and_then(|i| i["value"].as_str())
        .ok_or_else(|| {
            invalid(format!(
                "the patient needs an identifier in {NHS_NUMBER_SYSTEM}"
            ))
        })?;
    let nhs = NhsNumber::parse(nhs)
        .map_err(|e| GpcError::new(ErrorCode::InvalidNhsNumber, e.to_string()))?;
    let name = official_name(patient)?;
    let birth_date = patient
        .get("birthDate")
        .and_then(Value::as_str)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| invalid("the patient needs a birthDate (YYYY-MM-DD)"))?;
    let telecom = |system: &str| -> Option<&str> {
        patient
            .get("telecom")?
            .as_array()?
            .iter()
            .find(|t| t["system"] == system)?
            .get("value")?
            .as_str()
    };
    let phone = telecom("phone").ok_or_else(|| {
        invalid(
            "the patient needs a phone telecom: the hub calls the patient before the appointment",
        )
    })?;
    let patient = Patient::parse(
        Some(nhs.as_str()),
        &name,
        birth_date,
        phone,
        telecom("email"),
        None,
    )
    .map_err(|e| invalid(e.to_string()))?;
    Ok(RegisterPatient {
        patient,
        registration: Registration::Temporary,
    })
}

fn official_name(patient: &Map<String, Value>) -> Result<String, GpcError> {
    let names = patient
        .get("name")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("the patient needs a name"))?;
    let name = names
        .iter()
        .find(|n| n["use"] == "official")
        .or_else(|| names.first())
        .ok_or_else(|| invalid("the patient needs a name"))?;
    let mut words: Vec<String> = name["given"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(family) = name["family"].as_str() {
        words.push(family.to_owned());
    }
    let full = if words.is_empty() {
        name["text"].as_str().unwrap_or_default().to_owned()
    } else {
        words.join(" ")
    };
    if full.trim().is_empty() {
        return Err(invalid("the patient's name has no family or given name"));
    }
    Ok(full)
}

/// `POST /Patient/$gpc.registerpatient`: registers (or registers again) a patient with the
/// consumer, answering a searchset with the Patient as a GP Connect provider does.
pub async fn register(
    req: HttpRequest,
    facade: web::Data<Facade>,
    body: web::Bytes,
) -> Result<HttpResponse, GpcError> {
    let (caller, _) = crate::admit(&req, Interaction::RegisterPatient, &facade).await?;
    let body: Value = crate::resource_json(&body)?;
    let cmd = registration(&body)?;
    let known = facade
        .hubbook
        .register_patient(&caller, cmd)
        .await
        .map_err(from_service)?;
    Ok(crate::fhir(StatusCode::OK, &searchset(&[resource(&known)])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(patient: Value) -> Value {
        json!({"resourceType": "Parameters", "parameter": [{"name": "registerPatient", "resource": patient}]})
    }

    fn patient() -> Value {
        json!({
            "resourceType": "Patient",
            "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9990000018"}],
            "name": [{"use": "official", "family": "Rivers", "given": ["Ada", "May"]}],
            "birthDate": "1990-02-03",
            "telecom": [{"system": "phone", "value": "07700 900123"}],
        })
    }

    #[test]
    fn a_registration_reads_the_name_birth_date_and_phone() {
        let cmd = registration(&body(patient())).unwrap();
        assert_eq!(cmd.patient.name, "Ada May Rivers");
        assert_eq!(cmd.patient.birth_date.to_string(), "1990-02-03");
        assert_eq!(cmd.patient.nhs_number.unwrap().as_str(), "9990000018");
        assert_eq!(cmd.registration, Registration::Temporary);
    }

    #[test]
    fn a_registration_without_what_a_booking_needs_is_refused() {
        for missing in ["telecom", "birthDate", "name", "identifier"] {
            let mut p = patient();
            p.as_object_mut().unwrap().remove(missing);
            let e = registration(&body(p)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidResource, "{missing}");
        }
        let mut p = patient();
        p["identifier"][0]["value"] = json!("9990000019");
        assert_eq!(
            registration(&body(p)).unwrap_err().code,
            ErrorCode::InvalidNhsNumber
        );
    }

    #[test]
    fn a_search_names_the_nhs_number_system() {
        let ok = searched_nhs_number(
            "identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C9990000018",
        )
        .unwrap();
        assert_eq!(ok.as_str(), "9990000018");
        let other = searched_nhs_number("identifier=https://example.org/id|9990000018");
        assert_eq!(other.unwrap_err().code, ErrorCode::InvalidIdentifierSystem);
        assert_eq!(
            searched_nhs_number("").unwrap_err().code,
            ErrorCode::BadRequest
        );
        assert_eq!(
            searched_nhs_number("identifier=https://fhir.nhs.uk/Id/nhs-number|123")
                .unwrap_err()
                .code,
            ErrorCode::InvalidNhsNumber
        );
    }
}

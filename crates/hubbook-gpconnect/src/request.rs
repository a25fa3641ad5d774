//! What every GP Connect request must carry before it is served, checked in one place: the
//! Spine headers (`Ssp-TraceID`, `Ssp-From`, `Ssp-To` naming this provider, `Ssp-InteractionID`
//! naming the interaction of the route), the GP Connect JWT with its claims, and a response
//! format hubbook can give. What the checks learn about the consumer is a [`Consumer`], written
//! to the log with every call.
//!
//! GP Connect's JWT is not signed (`"alg": "none"`): the consumer is authenticated by its
//! connection ([`authenticate`]: a TLS client certificate registered to an active integration,
//! as the Spine's mutual TLS has it), and the token says on whose behalf and why it asks. Its claims are checked as the
//! specification has them: `iss`, `sub`, `aud`, `iat` and `exp` present, `exp` exactly 300
//! seconds after `iat` and not passed (an `iat` a little in the future is allowed),
//! `reason_for_request` `directcare`, `requested_scope` the one of the interaction, and the
//! `requesting_device`, `requesting_organization` and `requesting_practitioner` FHIR resources
//! of the right type with no element STU3 does not define.

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, GpcError};

/// The identifier system of ODS organisation codes.
pub const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// The identifier system of a practitioner's SDS user id.
pub const SDS_USER_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";
/// What every interaction id starts with.
const INTERACTION_PREFIX: &str = "urn:nhs:names:services:gpconnect:fhir:";
/// How long a GP Connect JWT lives: `exp` is exactly this many seconds after `iat`.
pub const JWT_LIFETIME_SECONDS: i64 = 300;

/// The GP Connect Appointment Management interactions, each with its route, interaction id and
/// JWT scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// `GET /metadata`: the CapabilityStatement.
    Metadata,
    /// `GET /Slot`: free slots.
    SearchSlots,
    /// `POST /Appointment`: book.
    Book,
    /// `GET /Appointment/{id}`: read.
    Read,
    /// `PUT /Appointment/{id}` (amend: description and comment).
    Amend,
    /// `PUT /Appointment/{id}` (cancel).
    Cancel,
    /// `GET /Patient/{id}/Appointment`: a patient's appointments.
    PatientAppointments,
    /// `GET /Patient?identifier=`: find a patient by NHS number.
    SearchPatient,
    /// `GET /Patient/{id}`: read a patient.
    ReadPatient,
    /// `POST /Patient/$gpc.registerpatient`: register a patient hubbook does not know.
    RegisterPatient,
}

impl Interaction {
    /// The interactions hubbook serves now; the CapabilityStatement lists exactly these.
    pub const SERVED: &'static [Interaction] = &[
        Interaction::Metadata,
        Interaction::SearchSlots,
        Interaction::Book,
        Interaction::Read,
        Interaction::Amend,
        Interaction::Cancel,
        Interaction::PatientAppointments,
        Interaction::SearchPatient,
        Interaction::ReadPatient,
        Interaction::RegisterPatient,
    ];

    /// The `Ssp-InteractionID` the route expects.
    pub fn id(self) -> String {
        let suffix = match self {
            Self::Metadata => "rest:read:metadata-1",
            Self::SearchSlots => "rest:search:slot-1",
            Self::Book => "rest:create:appointment-1",
            Self::Read => "rest:read:appointment-1",
            Self::Amend => "rest:update:appointment-1",
            Self::Cancel => "rest:cancel:appointment-1",
            Self::PatientAppointments => "rest:search:patient_appointments-1",
            Self::SearchPatient => "rest:search:patient-1",
            Self::ReadPatient => "rest:read:patient-1",
            Self::RegisterPatient => "operation:gpc.registerpatient-1",
        };
        format!("{INTERACTION_PREFIX}{suffix}")
    }

    /// The `requested_scope` its JWT must carry.
    pub fn scope(self) -> &'static str {
        match self {
            Self::Metadata | Self::SearchSlots => "organization/*.read",
            Self::Read | Self::PatientAppointments | Self::SearchPatient | Self::ReadPatient => {
                "patient/*.read"
            }
            Self::Book | Self::Amend | Self::Cancel | Self::RegisterPatient => "patient/*.write",
        }
    }

    /// Its HTTP method.
    pub fn method(self) -> &'static str {
        match self {
            Self::Metadata
            | Self::SearchSlots
            | Self::Read
            | Self::PatientAppointments
            | Self::SearchPatient
            | Self::ReadPatient => "GET",
            Self::Book | Self::RegisterPatient => "POST",
            Self::Amend | Self::Cancel => "PUT",
        }
    }

    /// Its path under the facade's base.
    pub fn path(self) -> &'static str {
        match self {
            Self::Metadata => "/metadata",
            Self::SearchSlots => "/Slot",
            Self::Book => "/Appointment",
            Self::Read | Self::Amend | Self::Cancel => "/Appointment/{id}",
            Self::PatientAppointments => "/Patient/{id}/Appointment",
            Self::SearchPatient => "/Patient",
            Self::ReadPatient => "/Patient/{id}",
            Self::RegisterPatient => "/Patient/$gpc.registerpatient",
        }
    }
}

/// Who asks and why, as the Spine headers and the JWT say: logged with every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// `Ssp-TraceID`: the consumer's id for this request.
    pub trace_id: String,
    /// `Ssp-From`: the consumer system's ASID.
    pub from_asid: String,
    /// The requesting organisation's ODS code.
    pub organisation: String,
    /// The requesting practitioner's id in the JWT (its `sub`).
    pub practitioner: String,
    /// The practitioner's SDS user id, when the JWT gives one.
    pub sds_user_id: Option<String>,
    /// The requesting device's model and version, as `model version`.
    pub device: String,
    /// `reason_for_request`.
    pub reason: String,
    /// `requested_scope`.
    pub scope: String,
}

/// The integration a request's TLS client certificate is registered to, as the caller the use
/// cases see; `ACCESS_DENIED` without a certificate, or with one no active integration has.
pub async fn authenticate(
    req: &HttpRequest,
    hubbook: &hubbook_service::Hubbook,
) -> Result<hubbook_service::Caller, GpcError> {
    let presented = req
        .conn_data::<hubbook_service::integrations::PresentedCertificate>()
        .ok_or_else(|| {
            GpcError::new(
                ErrorCode::AccessDenied,
                "connect over TLS with the client certificate registered to your integration",
            )
        })?;
    match hubbook.certificate_caller(presented.sha256.clone()).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(GpcError::new(
            ErrorCode::AccessDenied,
            format!(
                "the client certificate (SHA-256 {}) is not registered to an active integration",
                presented.sha256
            ),
        )),
        Err(e) => {
            tracing::error!(error = %e, "reading a client certificate's integration");
            Err(GpcError::new(
                ErrorCode::InternalServerError,
                "the client certificate could not be checked; try again",
            ))
        }
    }
}

/// Checks a request for `interaction` sent to the provider `asid` at `now`: the Spine headers,
/// the JWT and the format asked for. Every refusal is `BAD_REQUEST`, except a FHIR resource in
/// the JWT that is not valid (`INVALID_RESOURCE`).
pub fn check(
    req: &HttpRequest,
    interaction: Interaction,
    asid: &str,
    now: DateTime<Utc>,
) -> Result<Consumer, GpcError> {
    let trace_id = required(req, "Ssp-TraceID")?;
    uuid::Uuid::parse_str(&trace_id)
        .map_err(|_| GpcError::bad_request("Ssp-TraceID must be a GUID"))?;
    let from_asid = required(req, "Ssp-From")?;
    let to = required(req, "Ssp-To")?;
    if to != asid {
        return Err(GpcError::bad_request(format!(
            "Ssp-To names {to}; this provider's ASID is {asid}"
        )));
    }
    let interaction_id = required(req, "Ssp-InteractionID")?;
    if interaction_id != interaction.id() {
        return Err(GpcError::bad_request(format!(
            "Ssp-InteractionID {interaction_id} does not match the request: {} {} is {}",
            interaction.method(),
            interaction.path(),
            interaction.id()
        )));
    }
    check_format(req)?;
    let authorization = required(req, "Authorization")?;
    let token = authorization
        .strip_prefix("Bearer ")
        .ok_or_else(|| GpcError::bad_request("Authorization must be 'Bearer <GP Connect JWT>'"))?;
    let claims = decode(token)?;
    let checked = check_claims(&claims, interaction, now)?;
    Ok(Consumer {
        trace_id,
        from_asid,
        ..checked
    })
}

/// A header's value: missing, empty or not text is `BAD_REQUEST`.
fn required(req: &HttpRequest, name: &str) -> Result<String, GpcError> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| GpcError::bad_request(format!("the {name} header is missing or empty")))
}

/// hubbook answers FHIR JSON: `_format` (which wins over `Accept`) or `Accept` asking only for
/// XML is refused.
fn check_format(req: &HttpRequest) -> Result<(), GpcError> {
    let json = |v: &str| v.contains("json") || v.contains("*/*") || v.trim().is_empty();
    let format = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "_format")
        .map(|(_, v)| v);
    let asked = match format {
        Some(f) => f,
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    if json(&asked) {
        Ok(())
    } else {
        Err(GpcError::bad_request(format!(
            "hubbook answers application/fhir+json only, not {asked}"
        )))
    }
}

/// The claims of a GP Connect JWT: three base64url parts, the last (the signature) empty or
/// ignored, the first two JSON objects.
fn decode(token: &str) -> Result<Map<String, Value>, GpcError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(GpcError::bad_request(
            "the JWT must be three base64url parts separated by dots",
        ));
    }
    let part = |i: usize, what: &str| -> Result<Map<String, Value>, GpcError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[i].trim_end_matches('='))
            .map_err(|_| GpcError::bad_request(format!("the JWT's {what} is not base64url")))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(GpcError::bad_request(format!(
                "the JWT's {what} is not a JSON object"
            ))),
        }
    };
    let head = part(0, "header")?;
    if head.get("typ").and_then(Value::as_str) != Some("JWT") {
        return Err(GpcError::bad_request("the JWT's header must say typ JWT"));
    }
    part(1, "payload")
}

/// The STU3 elements of the resources a JWT carries (with those every resource has); any other
/// element makes the resource invalid.
pub(crate) const COMMON: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
];
const DEVICE: &[&str] = &[
    "identifier",
    "udi",
    "status",
    "type",
    "lotNumber",
    "manufacturer",
    "manufactureDate",
    "expirationDate",
    "model",
    "version",
    "patient",
    "owner",
    "contact",
    "location",
    "url",
    "note",
    "safety",
];
const ORGANIZATION: &[&str] = &[
    "identifier",
    "active",
    "type",
    "name",
    "alias",
    "telecom",
    "address",
    "partOf",
    "contact",
    "endpoint",
];
const PRACTITIONER: &[&str] = &[
    "identifier",
    "active",
    "name",
    "telecom",
    "address",
    "gender",
    "birthDate",
    "photo",
    "qualification",
    "communication",
];

/// A FHIR resource claim of the type `kind`, with only `elements` (and the common ones).
fn resource<'a>(
    claims: &'a Map<String, Value>,
    claim: &str,
    kind: &str,
    elements: &[&str],
) -> Result<&'a Map<String, Value>, GpcError> {
    let value = claims
        .get(claim)
        .ok_or_else(|| GpcError::bad_request(format!("the JWT has no {claim} claim")))?;
    let invalid = |why: String| GpcError::new(ErrorCode::InvalidResource, why);
    let object = value
        .as_object()
        .ok_or_else(|| invalid(format!("{claim} must be a FHIR {kind} resource")))?;
    if object.get("resourceType").and_then(Value::as_str) != Some(kind) {
        return Err(invalid(format!("{claim} must have resourceType {kind}")));
    }
    if let Some(unknown) = object
        .keys()
        .find(|k| !COMMON.contains(&k.as_str()) && !elements.contains(&k.as_str()))
    {
        return Err(invalid(format!(
            "{claim} has {unknown}, which a STU3 {kind} does not have"
        )));
    }
    Ok(object)
}

/// The value of the first identifier of `resource` in `system`.
fn identifier(resource: &Map<String, Value>, system: &str) -> Option<String> {
    resource
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(system))?
        .get("value")?
        .as_str()
        .map(str::to_owned)
}

fn check_claims(
    claims: &Map<String, Value>,
    interaction: Interaction,
    now: DateTime<Utc>,
) -> Result<Consumer, GpcError> {
    let text = |name: &str| -> Result<String, GpcError> {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| GpcError::bad_request(format!("the JWT has no {name} claim")))
    };
    let number = |name: &str| -> Result<i64, GpcError> {
        claims
            .get(name)
            .and_then(Value::as_i64)
            .ok_or_else(|| GpcError::bad_request(format!("the JWT has no numeric {name} claim")))
    };
    text("iss")?;
    let sub = text("sub")?;
    text("aud")?;
    let (iat, exp) = (number("iat")?, number("exp")?);
    if exp - iat != JWT_LIFETIME_SECONDS {
        return Err(GpcError::bad_request(format!(
            "the JWT's exp must be exactly {JWT_LIFETIME_SECONDS} seconds after its iat, not {}",
            exp - iat
        )));
    }
    if exp <= now.timestamp() {
        return Err(GpcError::bad_request("the JWT has expired"));
    }
    let reason = text("reason_for_request")?;
    if reason != "directcare" {
        return Err(GpcError::bad_request(format!(
            "reason_for_request must be directcare, not {reason}"
        )));
    }
    let scope = text("requested_scope")?;
    if scope != interaction.scope() {
        return Err(GpcError::bad_request(format!(
            "requested_scope must be {} for {}, not {scope}",
            interaction.scope(),
            interaction.id()
        )));
    }
    let device = resource(claims, "requesting_device", "Device", DEVICE)?;
    let organisation = resource(
        claims,
        "requesting_organization",
        "Organization",
        ORGANIZATION,
    )?;
    let practitioner = resource(
        claims,
        "requesting_practitioner",
        "Practitioner",
        PRACTITIONER,
    )?;
    let ods = identifier(organisation, ODS_SYSTEM).ok_or_else(|| {
        GpcError::bad_request(format!(
            "requesting_organization must have an identifier in {ODS_SYSTEM}"
        ))
    })?;
    if practitioner.get("id").and_then(Value::as_str) != Some(sub.as_str()) {
        return Err(GpcError::bad_request(
            "the JWT's sub must be the requesting_practitioner's id",
        ));
    }
    let words = |key: &str| {
        device
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Consumer {
        trace_id: String::new(),
        from_asid: String::new(),
        organisation: ods,
        practitioner: sub,
        sds_user_id: identifier(practitioner, SDS_USER_SYSTEM),
        device: format!("{} {}", words("model"), words("version"))
            .trim()
            .to_owned(),
        reason,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(now: i64) -> Map<String, Value> {
        let value = json!({
            "iss": "https://consumer.example", "sub": "1", "aud": "https://authorize.fhir.nhs.net/token",
            "iat": now, "exp": now + 300, "reason_for_request": "directcare",
            "requested_scope": "organization/*.read",
            "requesting_device": {"resourceType": "Device", "model": "v1", "version": "1.1"},
            "requesting_organization": {"resourceType": "Organization", "identifier": [{"system": ODS_SYSTEM, "value": "A20047"}]},
            "requesting_practitioner": {"resourceType": "Practitioner", "id": "1",
                "identifier": [{"system": SDS_USER_SYSTEM, "value": "GCASDS0001"}]},
        });
        value.as_object().unwrap().clone()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn good_claims_name_the_consumer() {
        let c = check_claims(&claims(1_000), Interaction::Metadata, at(1_001)).unwrap();
        assert_eq!(c.organisation, "A20047");
        assert_eq!(c.sds_user_id.as_deref(), Some("GCASDS0001"));
        assert_eq!(c.device, "v1 1.1");
    }

    #[test]
    fn each_rule_of_the_claims_refuses_with_its_code() {
        let refused = |change: &dyn Fn(&mut Map<String, Value>), now: i64| {
            let mut c = claims(1_000);
            change(&mut c);
            check_claims(&c, Interaction::Metadata, at(now))
                .unwrap_err()
                .code
        };
        for missing in [
            "iss",
            "exp",
            "iat",
            "aud",
            "reason_for_request",
            "requested_scope",
            "requesting_device",
            "requesting_practitioner",
        ] {
            assert_eq!(
                refused(&|c| drop(c.remove(missing)), 1_001),
                ErrorCode::BadRequest,
                "{missing}"
            );
        }
        assert_eq!(
            refused(&|c| drop(c.insert("exp".into(), json!(1_301))), 1_001),
            ErrorCode::BadRequest
        );
        assert_eq!(refused(&|_| {}, 1_300), ErrorCode::BadRequest, "expired");
        assert_eq!(
            refused(
                &|c| drop(c.insert("requested_scope".into(), json!("patient/*.read"))),
                1_001
            ),
            ErrorCode::BadRequest
        );
        assert_eq!(
            refused(
                &|c| {
                    c["requesting_device"]["invalidField"] = json!("x");
                },
                1_001
            ),
            ErrorCode::InvalidResource
        );
        assert_eq!(
            refused(
                &|c| {
                    c["requesting_practitioner"]["resourceType"] = json!("InvalidResourceType");
                },
                1_001
            ),
            ErrorCode::InvalidResource
        );
        // An iat a little in the future is allowed.
        assert!(check_claims(&claims(1_200), Interaction::Metadata, at(1_000)).is_ok());
    }

    #[test]
    fn every_interaction_has_its_own_id() {
        let all = [
            Interaction::Metadata,
            Interaction::SearchSlots,
            Interaction::Book,
            Interaction::Read,
            Interaction::Amend,
            Interaction::Cancel,
            Interaction::PatientAppointments,
        ];
        let ids: std::collections::HashSet<String> = all.iter().map(|i| i.id()).collect();
        assert_eq!(ids.len(), all.len());
        assert_eq!(
            Interaction::Metadata.id(),
            "urn:nhs:names:services:gpconnect:fhir:rest:read:metadata-1"
        );
    }
}

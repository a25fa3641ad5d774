//! The GP Connect facade: a third front end beside the JSON API and the console, speaking GP
//! Connect Appointment Management 1.2.8 (FHIR STU3) under `/gpconnect/fhir/` so that a 111 or
//! practice system that already books through GP Connect needs no new client.
//!
//! Like the other front ends it only parses, calls the use cases and renders: every request's
//! consumer is authenticated by its TLS client certificate, registered to an integration, and
//! its Spine headers and GP Connect JWT are checked first ([`request`]), every refusal is a
//! `GPConnect-OperationOutcome-1` with the GP Connect code and status ([`error`]), and the
//! CapabilityStatement ([`metadata`]) is drawn from the table of interactions served, so it says
//! exactly what is supported.

pub mod appointments;
pub mod bulk;
pub mod error;
pub mod fhir;
pub mod metadata;
pub mod patients;
pub mod request;
pub mod slots;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use hubbook_core::Clock;
use std::sync::Arc;

pub use error::{ErrorCode, GpcError};
pub use request::{Consumer, Interaction};

/// Where the facade is served.
pub const BASE_PATH: &str = "/gpconnect/fhir";

/// The media type of every answer: GP Connect's FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json;charset=utf-8";

/// What the facade needs: the use cases, the provider's own ASID (the `Ssp-To` every request
/// must name) and the clock the JWT's lifetime is checked against.
#[derive(Clone)]
pub struct Facade {
    /// The use cases, as every front end calls them.
    pub hubbook: hubbook_service::Hubbook,
    /// The provider's Accredited System ID: requests whose `Ssp-To` names another are refused.
    pub asid: String,
    /// The server's clock.
    pub clock: Arc<dyn Clock>,
}

/// Mounts the facade under [`BASE_PATH`]; anything else under it is answered with
/// `NOT_IMPLEMENTED` and the list of what is.
pub fn configure(facade: web::Data<Facade>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::scope(BASE_PATH)
                .app_data(facade)
                .route("/metadata", web::get().to(metadata::read))
                .route("/Slot", web::get().to(slots::search))
                .route("/$bulk-publish", web::get().to(bulk::manifest))
                .route("/bulk/{cluster}/{file}", web::get().to(bulk::file))
                .route("/Appointment", web::post().to(appointments::book))
                .route("/Appointment/{id}", web::get().to(appointments::read))
                .route("/Appointment/{id}", web::put().to(appointments::update))
                .route("/Patient", web::get().to(patients::search))
                .route(
                    "/Patient/$gpc.registerpatient",
                    web::post().to(patients::register),
                )
                .route("/Patient/{id}", web::get().to(patients::read))
                .route(
                    "/Patient/{id}/Appointment",
                    web::get().to(appointments::of_patient),
                )
                .default_service(web::to(not_implemented)),
        );
    }
}

/// Admits a request for `interaction`: its consumer authenticated by the TLS client
/// certificate, then its Spine headers and JWT checked; the call is written to the audit trail
/// (and the log) with who made it, for whom and why, before it is served. Returns the
/// integration as a caller of the use cases, and the consumer.
pub async fn admit(
    req: &HttpRequest,
    interaction: Interaction,
    facade: &Facade,
) -> Result<(hubbook_service::Caller, Consumer), GpcError> {
    let (integration, consumer, hubbook) = admit_pending(req, interaction, facade).await?;
    audited(&hubbook, Ok(())).await?;
    Ok((integration, consumer))
}

/// Admits a request as [`admit`] does, but with its call still to be written to the audit
/// trail: a change writes it in its own transaction when the use cases are called through the
/// handle returned, and [`audited`] (or [`audited_alongside`], for a read) writes it otherwise,
/// before the answer is given.
pub async fn admit_pending(
    req: &HttpRequest,
    interaction: Interaction,
    facade: &Facade,
) -> Result<(hubbook_service::Caller, Consumer, hubbook_service::Hubbook), GpcError> {
    let integration = request::authenticate(req, &facade.hubbook).await?;
    let uri = req.uri();
    if hubbook_core::control::in_percent_encoded(uri.path())
        || uri
            .query()
            .is_some_and(hubbook_core::control::in_percent_encoded)
    {
        return Err(GpcError::bad_request(
            "the path or query string holds a control character such as %00",
        ));
    }
    let consumer = request::check(req, interaction, &facade.asid, facade.clock.now())?;
    tracing::info!(
        interaction = %interaction.id(),
        integration = %integration.id,
        trace_id = %consumer.trace_id,
        organisation = %consumer.organisation,
        "GP Connect request"
    );
    let call = hubbook_service::integrations::ConsumerCall {
        interaction: interaction.id(),
        trace_id: consumer.trace_id.clone(),
        details: serde_json::json!({
            "from_asid": consumer.from_asid,
            "requesting_organization": consumer.organisation,
            "requesting_practitioner": consumer.practitioner,
            "sds_user_id": consumer.sds_user_id,
            "requesting_device": consumer.device,
            "reason_for_request": consumer.reason,
            "requested_scope": consumer.scope,
        }),
    };
    let hubbook = facade.hubbook.auditing(&integration, call);
    Ok((integration, consumer, hubbook))
}

/// The answer to a call admitted by [`admit_pending`], once its call is in the audit trail: a
/// call that changed nothing is written now, and a call that cannot be audited is not answered
/// but for a 500 that says so.
pub async fn audited<T>(
    hubbook: &hubbook_service::Hubbook,
    answer: Result<T, GpcError>,
) -> Result<T, GpcError> {
    audited_as(hubbook.record_unwritten_call().await, answer)
}

/// The answer `serve` makes (a read's, through the handle [`admit_pending`] returned), given
/// only once the call is in the audit trail, as [`audited`] gives it; the call is written while
/// the answer is made, so that a read does not wait for the audit trail's writer first.
pub async fn audited_alongside<T>(
    hubbook: &hubbook_service::Hubbook,
    serve: impl std::future::Future<Output = Result<T, GpcError>>,
) -> Result<T, GpcError> {
    let (answer, written) = futures_util::join!(serve, hubbook.record_unwritten_call());
    audited_as(written, answer)
}

/// `answer`, or the 500 of a call that could not be audited.
fn audited_as<T>(
    written: Result<(), hubbook_service::ServiceError>,
    answer: Result<T, GpcError>,
) -> Result<T, GpcError> {
    if let Err(e) = written {
        tracing::error!(error = %e, "auditing a GP Connect call");
        return Err(GpcError::new(
            ErrorCode::InternalServerError,
            "the call could not be audited, so it was not served; try again",
        ));
    }
    answer
}

/// The JSON of a resource a consumer sent: not JSON is INVALID_RESOURCE, and a text holding a
/// control character (`\u0000` and the like, which no name, note or identifier has and
/// PostgreSQL cannot store) INVALID_PARAMETER, refused alike on both databases before either
/// sees it.
pub(crate) fn resource_json(body: &[u8]) -> Result<serde_json::Value, error::GpcError> {
    use error::{ErrorCode, GpcError};
    let value = serde_json::from_slice(body).map_err(|e| {
        GpcError::new(
            ErrorCode::InvalidResource,
            format!("the body is not JSON: {e}"),
        )
    })?;
    if hubbook_core::control::in_json(body) {
        return Err(GpcError::new(
            ErrorCode::InvalidParameter,
            "a text in the resource holds a control character such as \\u0000",
        ));
    }
    Ok(value)
}

/// A FHIR resource as the facade answers it: `application/fhir+json`, never cached.
pub fn fhir(status: actix_web::http::StatusCode, body: &serde_json::Value) -> HttpResponse {
    fhir_text(status, body.to_string())
}

/// A FHIR resource already written as JSON, answered as [`fhir`] answers one.
pub fn fhir_text(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, FHIR_JSON))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// A FHIR resource at a version: as [`fhir`], with the `ETag` `W/"<version>"` that an update's
/// `If-Match` names.
pub fn versioned(
    status: actix_web::http::StatusCode,
    body: &serde_json::Value,
    version: i64,
) -> HttpResponse {
    let mut response = fhir(status, body);
    if let Ok(etag) = header::HeaderValue::from_str(&format!("W/\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

async fn not_implemented(req: HttpRequest) -> HttpResponse {
    let served: Vec<String> = Interaction::SERVED
        .iter()
        .map(|i| format!("{} {}{}", i.method(), BASE_PATH, i.path()))
        .collect();
    actix_web::ResponseError::error_response(&GpcError::new(
        ErrorCode::NotImplemented,
        format!(
            "{} {} is not a GP Connect interaction hubbook serves; it serves {}",
            req.method(),
            req.path(),
            served.join(", ")
        ),
    ))
}

//! The hubbook REST API: actix-web handlers, JWT authentication, problem+json errors and the
//! OpenAPI document generated from the same handlers that serve the routes.
//!
//! Handlers are thin: they parse, authorise, call the store or the core, and map the result.

pub mod auth;
pub mod background;
pub mod csv;
pub mod docs;
pub mod document;
pub mod extract;
pub mod feed;
pub mod fhir;
pub mod idempotency;
pub mod metrics;
pub mod problem;
pub mod problem_type;
pub mod request_id;
pub mod routes;
pub mod state;

use actix_web::{middleware, web, App, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{scope, AppExt};

pub use problem::{ApiError, Problem, ProblemType};
pub use state::AppState;

/// The largest JSON body any route accepts.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hubbook",
        description = "Shared appointment capacity for GP practices in a cluster: rotas, fair sharing, booking and NHS 111 triage.\n\nErrors are RFC 9457 `application/problem+json` documents whose `type` is stable: match on it. Authenticate with `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`. Creates accept `Idempotency-Key`; updates honour `If-Match` with the `ETag` last read. Lists are paginated with `limit` and the opaque `next_cursor`. Every response carries `X-Request-Id`: the one the request sent, if it is 1 to 128 letters, digits, `.`, `_`, `:` or `-`, else one the server made; a problem's `instance` names it too, as do the server's log lines, so quote it when asking for help.",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&BearerAuth, &GeneralProblems),
    components(schemas(Problem, routes::schema::ReportName))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Documents the problems any request may meet, from the catalogue, in the API's description.
struct GeneralProblems;

impl Modify for GeneralProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let lines: Vec<String> = ProblemType::ALL
            .iter()
            .filter(|k| k.is_general())
            .map(|k| {
                format!(
                    "- `{}` ({}): {}",
                    k.as_str(),
                    k.status().as_u16(),
                    k.meaning()
                )
            })
            .collect();
        let description = openapi.info.description.get_or_insert_with(String::new);
        description.push_str(
            "\n\nAny operation may answer with these problems, besides those it lists:\n\n",
        );
        description.push_str(&lines.join("\n"));
    }
}

/// The OpenAPI document of every route, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::operations)
        .service(scope::scope("/api/v1").configure(routes::api_v1))
        .split_for_parts()
        .1;
    document::complete(&mut doc);
    doc
}

/// What every worker of the server reads from the OpenAPI document, built once and shared
/// (each worker holding its own copy of the document's schemas cost about 25 MB a worker): the
/// methods of each path, the body shapes, and the document as served.
#[derive(Clone)]
pub struct Document {
    methods: web::Data<document::Methods>,
    shapes: web::Data<document::Shapes>,
    json: web::Data<web::Bytes>,
}

impl Document {
    /// Reads what the server needs of `doc`; the document itself can then be dropped.
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        Self {
            methods: web::Data::new(document::Methods::of(doc)),
            shapes: web::Data::new(document::Shapes::of(doc)),
            json: web::Data::new(web::Bytes::from(
                serde_json::to_vec(doc).unwrap_or_default(),
            )),
        }
    }
}

/// Adds every route, the body limits and error handlers, metrics and the docs to an app.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>, doc: &Document) {
    cfg.app_data(state)
        .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
        .app_data(web::QueryConfig::default().error_handler(extract::query_error))
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .configure(|cfg| docs::configure(cfg, doc.json.clone()));
}

/// Builds the application: routes, docs, metrics and request logging, and problem+json for
/// unknown paths.
pub fn app(
    state: web::Data<AppState>,
    doc: Document,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .into_utoipa_app()
        .configure(routes::operations)
        .service(scope::scope("/api/v1").configure(routes::api_v1))
        .into_app()
        .app_data(doc.methods.clone())
        .app_data(doc.shapes.clone())
        .configure(|cfg| configure(cfg, state, &doc))
        .default_service(web::to(not_found))
        .wrap(middleware::from_fn(extract::refuse_control_characters))
        .wrap(middleware::from_fn(metrics::track))
        .wrap(middleware::Compress::default())
}

/// A path no route serves: 405 with `Allow` when the path has other methods, else 404.
async fn not_found(
    req: actix_web::HttpRequest,
    methods: web::Data<document::Methods>,
) -> HttpResponse {
    use actix_web::ResponseError;
    match methods.allowed(req.path()) {
        Some(allowed) if !allowed.contains(&req.method().as_str()) => {
            let mut response = ApiError::Refused(
                ProblemType::MethodNotAllowed,
                format!(
                    "{} is not a method of this path; it has {}",
                    req.method(),
                    allowed.join(", ")
                ),
            )
            .error_response();
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allowed.join(", ")) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
            response
        }
        _ => ApiError::NotFound("no such route; see /docs".into()).error_response(),
    }
}

//! The cluster's triage integrations (NHS 111 providers booking into it), for its manager:
//! created with a client secret, their secrets rotated (the old one kept working for a
//! changeover the manager chooses) and revoked, disabled and enabled. A secret is shown once, on
//! the page that answers the form that made it, and never kept by the console: that page names
//! its own address (htmx's `HX-Push-Url`) as the integration's page, which shows no secret. A
//! manager manages the integrations of its own cluster alone (those shared with other clusters
//! are an admin's): the use cases decide.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use hubbook_api::routes::integrations::{IntegrationPatch, NewIntegrationBody};
use hubbook_api::ProblemType;
use hubbook_service::integrations::{
    CreateIntegration, IntegrationClient, UpdateIntegration, DEFAULT_CHANGEOVER_MINUTES,
};
use hubbook_service::ServiceError;
use serde_json::{json, Map, Value};

use super::setup::{
    field, given, linked, missing, notice, stale_message, to_overview, typed, version_of,
};
use super::{Manager, ManagerPost};
use crate::errors::{api_refusal, refusal, FieldError, Refusal};
use crate::pages::{see_other, shown_at, urlencode};
use crate::Console;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/manage/setup/integrations/new",
        web::get().to(new_integration),
    )
    .route("/manage/setup/integrations", web::get().to(to_overview))
    .route(
        "/manage/setup/integrations",
        web::post().to(create_integration),
    )
    .route(
        "/manage/setup/integrations/{id}",
        web::get().to(integration_page),
    )
    .route(
        "/manage/setup/integrations/{id}/active",
        web::post().to(set_integration_active),
    )
    .route(
        "/manage/setup/integrations/{id}/rotate",
        web::post().to(rotate),
    )
    .route(
        "/manage/setup/integrations/{id}/secrets/{secret}/revoke",
        web::post().to(revoke),
    )
    .route(
        "/manage/setup/integrations/{id}/{action}",
        web::get().to(to_integration),
    );
}

/// An action's address read back: the record's page.
async fn to_integration(_m: Manager, path: web::Path<(String, String)>) -> HttpResponse {
    see_other(&format!(
        "/manage/setup/integrations/{}",
        urlencode(&path.0)
    ))
}

/// The changeovers a rotation offers, in minutes: the old secret works a day, an hour, or not at
/// all once the new one is made.
const CHANGEOVERS: [(i64, &str); 3] = [
    (
        DEFAULT_CHANGEOVER_MINUTES,
        "For a day, while the provider changes over (recommended)",
    ),
    (60, "For an hour"),
    (0, "No: it stops working now (when it has leaked)"),
];

fn integration_path(id: &str) -> String {
    format!("/manage/setup/integrations/{}", urlencode(id))
}

fn render_new_integration(
    c: &Console,
    m: &Manager,
    form: &Map<String, Value>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = m.base("Add a triage integration");
    ctx.insert("form".into(), Value::Object(form.clone()));
    ctx.insert("errors".into(), json!(errors));
    c.templates.page(
        status,
        "manage_setup_integration_new.html",
        Value::Object(ctx),
    )
}

async fn new_integration(c: web::Data<Console>, m: Manager) -> HttpResponse {
    render_new_integration(&c, &m, &Map::new(), Vec::new(), StatusCode::OK)
}

async fn create_integration(c: web::Data<Console>, post: ManagerPost) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let typed = typed(&form, &["name", "client_id"]);
    let command = CreateIntegration::from(NewIntegrationBody {
        name: field(&typed, "name").to_owned(),
        clusters: vec![m.code.clone()],
        client_id: given(field(&typed, "client_id")),
        practice: None,
    });
    match c
        .hubbook
        .create_integration(&m.user.caller(), None, command)
        .await
    {
        Ok(created) => {
            let id = created.client.integration.id.clone();
            let page = render_integration(
                &c,
                &m,
                &created.client,
                Secret::Created(created.secret),
                None,
                Vec::new(),
                StatusCode::CREATED,
            )
            .await;
            shown_at(page, &integration_path(&id))
        }
        Err(e) => {
            let (status, error) = linked(
                refusal(e),
                &[(
                    ProblemType::AlreadyExists,
                    "client_id",
                    "This client id is taken: choose another, or leave it empty",
                )],
            );
            render_new_integration(&c, &m, &typed, vec![error], status)
        }
    }
}

/// The secret an integration's page shows this once, if any.
enum Secret {
    /// None: the page as it is read.
    Hidden,
    /// The first, of a client just created (absent only for a replayed create).
    Created(Option<String>),
    /// A new one, just rotated in.
    Rotated(String),
}

#[allow(clippy::too_many_arguments)]
async fn render_integration(
    c: &Console,
    m: &Manager,
    client: &IntegrationClient,
    secret: Secret,
    notice: Option<String>,
    mut errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let i = &client.integration;
    let local = m.user.local();
    let (title, shown, rotated) = match secret {
        Secret::Hidden => (i.name.clone(), None, false),
        Secret::Created(s) => (format!("{} is added", i.name), s, false),
        Secret::Rotated(s) => (format!("New secret for {}", i.name), Some(s), true),
    };
    let secrets = match c.hubbook.list_secrets(&m.user.caller(), i.id.clone()).await {
        Ok(secrets) => secrets,
        Err(e) => {
            errors.push(refusal(e).error);
            Vec::new()
        }
    };
    let rows: Vec<Value> = secrets
        .iter()
        .map(|s| {
            json!({
                "id": s.secret.id,
                "created": local.when(s.secret.created_at),
                "expires": s.secret.expires_at.map(|t| local.when(t)),
                "revoked": s.secret.revoked_at.map(|t| local.when(t)),
                "live": s.live,
            })
        })
        .collect();
    let mut ctx = m.base(&title);
    ctx.insert(
        "record".into(),
        json!({
            "id": i.id,
            "version": i.version,
            "name": i.name,
            "client_id": i.client_id,
            "active": i.active,
            "clusters": client.cluster_codes.join(", "),
            "created": local.when(i.created_at),
        }),
    );
    ctx.insert("secret".into(), json!(shown));
    ctx.insert("rotated".into(), json!(rotated));
    ctx.insert("secrets".into(), json!(rows));
    ctx.insert(
        "changeovers".into(),
        json!(CHANGEOVERS
            .iter()
            .map(|(minutes, label)| json!({"value": minutes.to_string(), "label": label}))
            .collect::<Vec<_>>()),
    );
    ctx.insert("notice".into(), json!(notice));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "manage_setup_integration.html", Value::Object(ctx))
}

/// The page of an integration the manager may see, or the page saying it cannot be read.
async fn integration_or_missing(
    c: &Console,
    m: &Manager,
    id: String,
) -> Result<IntegrationClient, HttpResponse> {
    c.hubbook
        .integration(&m.user.caller(), id)
        .await
        .map_err(|e| missing(c, m, "Integration not found", e))
}

async fn integration_page(
    c: web::Data<Console>,
    m: Manager,
    id: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    match integration_or_missing(&c, &m, id.into_inner()).await {
        Ok(client) => {
            render_integration(
                &c,
                &m,
                &client,
                Secret::Hidden,
                notice(&req),
                Vec::new(),
                StatusCode::OK,
            )
            .await
        }
        Err(page) => page,
    }
}

/// The integration page answering a refused change: the integration as it is now, and why
/// (`None`: someone else changed it since the page was drawn).
async fn integration_refused(
    c: &Console,
    m: &Manager,
    id: String,
    refused: Option<Refusal>,
) -> HttpResponse {
    let (error, status) = match refused {
        Some(r) => (r.error, r.status),
        None => (
            stale_message("integration"),
            StatusCode::PRECONDITION_FAILED,
        ),
    };
    match integration_or_missing(c, m, id).await {
        Ok(client) => {
            render_integration(c, m, &client, Secret::Hidden, None, vec![error], status).await
        }
        Err(page) => page,
    }
}

/// A use case's refusal of a change to an integration, `None` when it was stale.
fn unless_stale(e: ServiceError) -> Option<Refusal> {
    (!e.is_stale()).then(|| refusal(e))
}

async fn set_integration_active(
    c: web::Data<Console>,
    post: ManagerPost,
    id: web::Path<String>,
) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let id = id.into_inner();
    let active = form.get("active") == "true";
    let Some(expected) = version_of(&form) else {
        return integration_refused(&c, &m, id, None).await;
    };
    let change = match UpdateIntegration::try_from(IntegrationPatch {
        name: None,
        active: Some(active),
    }) {
        Ok(change) => change,
        Err(e) => return integration_refused(&c, &m, id, Some(api_refusal(e))).await,
    };
    match c
        .hubbook
        .update_integration(&m.user.caller(), id.clone(), Some(expected), change)
        .await
    {
        Ok(client) => see_other(&format!(
            "{}?saved={}",
            integration_path(&client.integration.id),
            if active { "enabled" } else { "disabled" }
        )),
        Err(e) => integration_refused(&c, &m, id, unless_stale(e)).await,
    }
}

async fn rotate(c: web::Data<Console>, post: ManagerPost, id: web::Path<String>) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let id = id.into_inner();
    let minutes = form.get("changeover").parse::<i64>().ok();
    match c
        .hubbook
        .rotate_secret(&m.user.caller(), id.clone(), minutes)
        .await
    {
        Ok(issued) => match integration_or_missing(&c, &m, id.clone()).await {
            Ok(client) => {
                let page = render_integration(
                    &c,
                    &m,
                    &client,
                    Secret::Rotated(issued.client_secret),
                    None,
                    Vec::new(),
                    StatusCode::OK,
                )
                .await;
                shown_at(page, &integration_path(&id))
            }
            Err(page) => page,
        },
        Err(e) => integration_refused(&c, &m, id, unless_stale(e)).await,
    }
}

async fn revoke(
    c: web::Data<Console>,
    post: ManagerPost,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let ManagerPost {
        form: _,
        manager: m,
    } = post;
    let (id, secret) = path.into_inner();
    match c
        .hubbook
        .revoke_secret(&m.user.caller(), id.clone(), secret)
        .await
    {
        Ok(_) => see_other(&format!("{}?saved=revoked", integration_path(&id))),
        Err(e) => integration_refused(&c, &m, id, unless_stale(e)).await,
    }
}

//! The cluster's sites (hubs and surgeries) and services, for its manager: a page to add each
//! and a page to change each. The form is built into the JSON API's own command (its body type
//! and `TryFrom`, so the rules are the API's), an edit carries the version the page was drawn
//! with, and an edit refused as stale is answered with the record as it is now next to the form
//! as typed, nothing overwritten.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use hubbook_api::routes::services::{NewServiceBody, ServicePatch};
use hubbook_api::routes::sites::{NewSiteBody, SiteKindView, SitePatch};
use hubbook_api::ProblemType;
use hubbook_core::{ClinicalRole, SiteKind};
use hubbook_service::reference::{CreateService, CreateSite, UpdateService, UpdateSite};
use hubbook_store::models::{Service, Site};
use serde_json::{json, Map, Value};

use super::setup::{
    compared, decimal, edit_context, field, just_saved, missing, or_none, site_kind_label,
    stale_message, to_overview, typed, version_of, Drawn, FormField, Refused,
};
use super::{Manager, ManagerPost};
use crate::pages::{clinical_role_label, see_other, urlencode};
use crate::Console;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/manage/setup/sites/new", web::get().to(new_site))
        .route("/manage/setup/sites", web::get().to(to_overview))
        .route("/manage/setup/sites", web::post().to(create_site))
        .route("/manage/setup/sites/{id}", web::get().to(site_page))
        .route("/manage/setup/sites/{id}", web::post().to(update_site))
        .route("/manage/setup/services/new", web::get().to(new_service))
        .route("/manage/setup/services", web::get().to(to_overview))
        .route("/manage/setup/services", web::post().to(create_service))
        .route("/manage/setup/services/{id}", web::get().to(service_page))
        .route(
            "/manage/setup/services/{id}",
            web::post().to(update_service),
        );
}

// ---------------------------------------------------------------------------------------------
// Sites.

const SITE_FIELDS: [&str; 6] = [
    "name",
    "kind",
    "address",
    "postcode",
    "latitude",
    "longitude",
];

const SITE_ROWS: [(&str, &str); 6] = [
    ("Name", "name"),
    ("Hub or surgery", "kind"),
    ("Address", "address"),
    ("Postcode", "postcode"),
    ("Latitude", "latitude"),
    ("Longitude", "longitude"),
];

const SITE_REFUSALS: [FormField; 1] = [(
    ProblemType::AlreadyExists,
    "name",
    "A site with this name is already in the cluster: give each site its own name",
)];

/// A site's fields as its form shows them.
fn site_fields(s: &Site) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("name".into(), json!(s.name));
    f.insert("kind".into(), json!(s.kind.as_str()));
    f.insert("address".into(), json!(s.address));
    f.insert("postcode".into(), json!(s.postcode));
    f.insert("latitude".into(), json!(s.latitude.to_string()));
    f.insert("longitude".into(), json!(s.longitude.to_string()));
    f
}

/// The kind and coordinates of a site form: the kind as the core reads it (its refusal in the
/// API's terms), or the errors of the coordinates that are not numbers.
fn site_parts(form: &Map<String, Value>) -> Result<(SiteKindView, f64, f64), Refused> {
    let mut errors = Vec::new();
    let latitude = decimal(
        form,
        "latitude",
        "Enter the latitude as a decimal number, like 53.8",
        &mut errors,
    );
    let longitude = decimal(
        form,
        "longitude",
        "Enter the longitude as a decimal number, like -1.55 (west of Greenwich is below 0)",
        &mut errors,
    );
    let (Some(latitude), Some(longitude)) = (latitude, longitude) else {
        return Err(Refused::Fields(errors));
    };
    let kind = match field(form, "kind").parse::<SiteKind>() {
        Ok(SiteKind::Hub) => SiteKindView::Hub,
        Ok(SiteKind::Surgery) => SiteKindView::Surgery,
        Err(e) => return Err(Refused::Command(e.into())),
    };
    Ok((kind, latitude, longitude))
}

/// The site to add that a form describes, built as the API builds it.
fn new_site_of(form: &Map<String, Value>) -> Result<CreateSite, Refused> {
    let (kind, latitude, longitude) = site_parts(form)?;
    CreateSite::try_from(NewSiteBody {
        name: field(form, "name").to_owned(),
        kind,
        address: field(form, "address").to_owned(),
        postcode: field(form, "postcode").to_owned(),
        latitude,
        longitude,
    })
    .map_err(Refused::Command)
}

/// The change to a site that a form describes (every field as typed), built as the API builds
/// it.
fn site_change_of(form: &Map<String, Value>) -> Result<UpdateSite, Refused> {
    let (kind, latitude, longitude) = site_parts(form)?;
    UpdateSite::try_from(SitePatch {
        name: Some(field(form, "name").to_owned()),
        kind: Some(kind),
        address: Some(field(form, "address").to_owned()),
        postcode: Some(field(form, "postcode").to_owned()),
        latitude: Some(latitude),
        longitude: Some(longitude),
    })
    .map_err(Refused::Command)
}

fn render_site(
    c: &Console,
    m: &Manager,
    form: &Map<String, Value>,
    drawn: Drawn<'_, Site>,
) -> HttpResponse {
    let title = match drawn.record {
        Some((s, _)) => s.name.clone(),
        None => "Add a site".to_owned(),
    };
    let ctx = edit_context(m, &title, form, &drawn, |s| s.id.clone().into());
    c.templates
        .page(drawn.status, "manage_setup_site.html", Value::Object(ctx))
}

async fn new_site(c: web::Data<Console>, m: Manager) -> HttpResponse {
    let mut form = Map::new();
    form.insert("kind".into(), json!("hub"));
    render_site(&c, &m, &form, Drawn::blank())
}

async fn create_site(c: web::Data<Console>, post: ManagerPost) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let typed = typed(&form, &SITE_FIELDS);
    let refused = match new_site_of(&typed) {
        Err(refused) => refused,
        Ok(command) => match c
            .hubbook
            .create_site(&m.user.caller(), None, m.code.clone(), command)
            .await
        {
            Ok(s) => {
                return see_other(&format!("/manage/setup/sites/{}?saved=1", urlencode(&s.id)))
            }
            Err(e) => Refused::UseCase(e),
        },
    };
    let (errors, status) = refused.answer(&SITE_REFUSALS);
    render_site(&c, &m, &typed, Drawn::refused(errors, status))
}

async fn site_page(
    c: web::Data<Console>,
    m: Manager,
    id: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let s = match c
        .hubbook
        .site(&m.user.caller(), m.code.clone(), id.into_inner())
        .await
    {
        Ok(s) => s,
        Err(e) => return missing(&c, &m, "Site not found", e),
    };
    let drawn = Drawn {
        record: Some((&s, s.version)),
        saved: just_saved(&req),
        ..Drawn::blank()
    };
    render_site(&c, &m, &site_fields(&s), drawn)
}

async fn update_site(
    c: web::Data<Console>,
    post: ManagerPost,
    id: web::Path<String>,
) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let id = id.into_inner();
    let who = m.user.caller();
    let typed = typed(&form, &SITE_FIELDS);
    let current = match c.hubbook.site(&who, m.code.clone(), id.clone()).await {
        Ok(s) => s,
        Err(e) => return missing(&c, &m, "Site not found", e),
    };
    let Some(expected) = version_of(&form) else {
        return stale_site(&c, &m, current, &typed);
    };
    let refused = match site_change_of(&typed) {
        Err(refused) => refused,
        Ok(change) => match c
            .hubbook
            .update_site(&who, m.code.clone(), id.clone(), Some(expected), change)
            .await
        {
            Ok(s) => {
                return see_other(&format!("/manage/setup/sites/{}?saved=1", urlencode(&s.id)))
            }
            Err(e) if e.is_stale() => {
                return match c.hubbook.site(&who, m.code.clone(), id).await {
                    Ok(now) => stale_site(&c, &m, now, &typed),
                    Err(e) => missing(&c, &m, "Site not found", e),
                }
            }
            Err(e) => Refused::UseCase(e),
        },
    };
    let (errors, status) = refused.answer(&SITE_REFUSALS);
    let drawn = Drawn {
        record: Some((&current, expected)),
        ..Drawn::refused(errors, status)
    };
    render_site(&c, &m, &typed, drawn)
}

/// The answer to a site edit made on a page drawn before someone else's change.
fn stale_site(c: &Console, m: &Manager, now: Site, typed: &Map<String, Value>) -> HttpResponse {
    let rows = compared(
        &SITE_ROWS,
        &site_fields(&now),
        typed,
        |name, v| match name {
            "kind" => or_none(&site_kind_label(v), "Not chosen"),
            _ => or_none(v, "Not set"),
        },
    );
    let drawn = Drawn {
        record: Some((&now, now.version)),
        now: Some(rows),
        ..Drawn::refused(vec![stale_message("site")], StatusCode::PRECONDITION_FAILED)
    };
    render_site(c, m, typed, drawn)
}

// ---------------------------------------------------------------------------------------------
// Services.

const SERVICE_FIELDS: [&str; 3] = ["code", "name", "clinical_role"];

const SERVICE_ROWS: [(&str, &str); 2] = [("Name", "name"), ("Clinical role", "clinical_role")];

const SERVICE_REFUSALS: [FormField; 1] = [(
    ProblemType::AlreadyExists,
    "code",
    "A service with this code is already in the cluster",
)];

/// A service's fields as its form shows them.
fn service_fields(s: &Service) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("code".into(), json!(s.code));
    f.insert("name".into(), json!(s.name));
    f.insert("clinical_role".into(), json!(s.clinical_role.as_str()));
    f
}

fn render_service(
    c: &Console,
    m: &Manager,
    form: &Map<String, Value>,
    drawn: Drawn<'_, Service>,
) -> HttpResponse {
    let title = match drawn.record {
        Some((s, _)) => format!("{} ({})", s.name, s.code),
        None => "Add a service".to_owned(),
    };
    let mut ctx = edit_context(m, &title, form, &drawn, |s| s.id.clone());
    if let Some((s, _)) = drawn.record {
        ctx.insert("code".into(), json!(s.code));
    }
    let roles: Vec<Value> = ClinicalRole::ALL
        .iter()
        .map(|r| json!({"value": r.as_str(), "label": clinical_role_label(r.as_str())}))
        .collect();
    ctx.insert("roles".into(), json!(roles));
    c.templates.page(
        drawn.status,
        "manage_setup_service.html",
        Value::Object(ctx),
    )
}

async fn new_service(c: web::Data<Console>, m: Manager) -> HttpResponse {
    render_service(&c, &m, &Map::new(), Drawn::blank())
}

async fn create_service(c: web::Data<Console>, post: ManagerPost) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let typed = typed(&form, &SERVICE_FIELDS);
    let command = CreateService::try_from(NewServiceBody {
        code: field(&typed, "code").to_owned(),
        name: field(&typed, "name").to_owned(),
        clinical_role: field(&typed, "clinical_role").to_owned(),
    });
    let refused = match command {
        Err(e) => Refused::Command(e),
        Ok(command) => match c
            .hubbook
            .create_service(&m.user.caller(), None, m.code.clone(), command)
            .await
        {
            Ok(s) => {
                return see_other(&format!(
                    "/manage/setup/services/{}?saved=1",
                    urlencode(&s.id)
                ))
            }
            Err(e) => Refused::UseCase(e),
        },
    };
    let (errors, status) = refused.answer(&SERVICE_REFUSALS);
    render_service(&c, &m, &typed, Drawn::refused(errors, status))
}

async fn service_page(
    c: web::Data<Console>,
    m: Manager,
    id: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let s = match c
        .hubbook
        .service(&m.user.caller(), m.code.clone(), id.into_inner())
        .await
    {
        Ok(s) => s,
        Err(e) => return missing(&c, &m, "Service not found", e),
    };
    let drawn = Drawn {
        record: Some((&s, s.version)),
        saved: just_saved(&req),
        ..Drawn::blank()
    };
    render_service(&c, &m, &service_fields(&s), drawn)
}

async fn update_service(
    c: web::Data<Console>,
    post: ManagerPost,
    id: web::Path<String>,
) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let id = id.into_inner();
    let who = m.user.caller();
    let typed = typed(&form, &SERVICE_FIELDS);
    let current = match c.hubbook.service(&who, m.code.clone(), id.clone()).await {
        Ok(s) => s,
        Err(e) => return missing(&c, &m, "Service not found", e),
    };
    let Some(expected) = version_of(&form) else {
        return stale_service(&c, &m, current, &typed);
    };
    let change = UpdateService::try_from(ServicePatch {
        name: Some(field(&typed, "name").to_owned()),
        clinical_role: Some(field(&typed, "clinical_role").to_owned()),
    });
    let refused = match change {
        Err(e) => Refused::Command(e),
        Ok(change) => match c
            .hubbook
            .update_service(&who, m.code.clone(), id.clone(), Some(expected), change)
            .await
        {
            Ok(s) => {
                return see_other(&format!(
                    "/manage/setup/services/{}?saved=1",
                    urlencode(&s.id)
                ))
            }
            Err(e) if e.is_stale() => {
                return match c.hubbook.service(&who, m.code.clone(), id).await {
                    Ok(now) => stale_service(&c, &m, now, &typed),
                    Err(e) => missing(&c, &m, "Service not found", e),
                }
            }
            Err(e) => Refused::UseCase(e),
        },
    };
    let (errors, status) = refused.answer(&SERVICE_REFUSALS);
    let drawn = Drawn {
        record: Some((&current, expected)),
        ..Drawn::refused(errors, status)
    };
    render_service(&c, &m, &typed, drawn)
}

/// The answer to a service edit made on a page drawn before someone else's change.
fn stale_service(
    c: &Console,
    m: &Manager,
    now: Service,
    typed: &Map<String, Value>,
) -> HttpResponse {
    let rows = compared(
        &SERVICE_ROWS,
        &service_fields(&now),
        typed,
        |name, v| match name {
            "clinical_role" if v.is_empty() => "Not chosen".to_owned(),
            "clinical_role" => clinical_role_label(v),
            _ => or_none(v, "Not set"),
        },
    );
    let drawn = Drawn {
        record: Some((&now, now.version)),
        now: Some(rows),
        ..Drawn::refused(
            vec![stale_message("service")],
            StatusCode::PRECONDITION_FAILED,
        )
    };
    render_service(c, m, typed, drawn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::api_refusal;

    fn form(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect()
    }

    #[test]
    fn a_site_form_reads_its_kind_as_the_core_does_and_its_coordinates_as_numbers() {
        let good = form(&[
            ("name", "Invented Hub"),
            ("kind", "surgery"),
            ("address", "2 Test Lane"),
            ("postcode", "ls1 4ap"),
            ("latitude", "53.8"),
            ("longitude", "-1.55"),
        ]);
        let site = new_site_of(&good).ok().unwrap();
        assert_eq!(site.kind, SiteKind::Surgery);
        assert_eq!(site.postcode.as_str(), "LS1 4AP");
        let mut kindless = good.clone();
        kindless.insert("kind".into(), json!(""));
        let Err(Refused::Command(e)) = site_change_of(&kindless) else {
            panic!("the core refuses no kind")
        };
        assert_eq!(api_refusal(e).error.field.as_deref(), Some("kind"));
        let mut west = good.clone();
        west.insert("longitude".into(), json!("1.55W"));
        let Err(Refused::Fields(errors)) = new_site_of(&west) else {
            panic!("not a number")
        };
        assert_eq!(errors[0].field.as_deref(), Some("longitude"));
    }
}

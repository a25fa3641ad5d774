//! The cluster's practices, for its manager: a page to add one and a page to change one (name,
//! list size, own site, data-sharing agreement). The form is built into the JSON API's own
//! command (its body type and `TryFrom`, so the rules are the API's), an edit carries the
//! version the page was drawn with, and an edit refused as stale is answered with the practice
//! as it is now next to the form as typed, nothing overwritten.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use hubbook_api::routes::practices::{NewPracticeBody, PracticePatch};
use hubbook_api::ProblemType;
use hubbook_service::reference::{CreatePractice, UpdatePractice};
use hubbook_store::models::Practice;
use serde_json::{json, Map, Value};

use super::setup::{
    compared, edit_context, field, given, just_saved, missing, name_of, optional_date, or_none,
    stale_message, to_overview, typed, version_of, whole, Drawn, FormField, Refused, SHOWN,
};
use super::{Manager, ManagerPost};
use crate::errors::FieldError;
use crate::pages::{see_other, urlencode};
use crate::Console;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/manage/setup/practices/new", web::get().to(new_practice))
        .route("/manage/setup/practices", web::get().to(to_overview))
        .route("/manage/setup/practices", web::post().to(create_practice))
        .route("/manage/setup/practices/{id}", web::get().to(practice_page))
        .route(
            "/manage/setup/practices/{id}",
            web::post().to(update_practice),
        );
}

const PRACTICE_FIELDS: [&str; 6] = [
    "ods_code",
    "name",
    "list_size",
    "site",
    "data_sharing_from",
    "data_sharing_to",
];

/// The fields a stale practice edit compares (the ODS code does not change).
const PRACTICE_ROWS: [(&str, &str); 5] = [
    ("Name", "name"),
    ("List size", "list_size"),
    ("Own site", "site"),
    ("Data-sharing agreement from", "data_sharing_from"),
    ("Data-sharing agreement to", "data_sharing_to"),
];

const PRACTICE_REFUSALS: [FormField; 3] = [
    (
        ProblemType::AlreadyExists,
        "ods_code",
        "A practice with this ODS code is already in the cluster",
    ),
    (
        ProblemType::InvalidDateRange,
        "data_sharing_to",
        "Enter when the data-sharing agreement starts, and an end (if it has one) on or after the start",
    ),
    (
        ProblemType::UnknownReference,
        "site",
        "Choose one of the cluster's sites, or no own site",
    ),
];

/// A practice's fields as its form shows them.
fn practice_fields(p: &Practice) -> Map<String, Value> {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut f = Map::new();
    f.insert("ods_code".into(), json!(p.ods_code));
    f.insert("name".into(), json!(p.name));
    f.insert("list_size".into(), json!(p.list_size.to_string()));
    f.insert("site".into(), json!(p.site_id.clone().unwrap_or_default()));
    f.insert("data_sharing_from".into(), json!(date(p.dsa_from)));
    f.insert("data_sharing_to".into(), json!(date(p.dsa_to)));
    f
}

/// The numbers and dates of a practice form, or the errors of those that do not parse.
fn practice_numbers(
    form: &Map<String, Value>,
) -> Result<(i64, Option<NaiveDate>, Option<NaiveDate>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let size = whole(
        form,
        "list_size",
        "Enter the list size as a whole number, like 9100",
        &mut errors,
    );
    let from = optional_date(
        form,
        "data_sharing_from",
        "agreement's first day",
        &mut errors,
    );
    let to = optional_date(form, "data_sharing_to", "agreement's last day", &mut errors);
    match (size, from, to) {
        (Some(size), Some(from), Some(to)) => Ok((size, from, to)),
        _ => Err(errors),
    }
}

/// The practice to add that a form describes, built as the API builds it.
fn new_practice_of(form: &Map<String, Value>) -> Result<CreatePractice, Refused> {
    let (list_size, from, to) = practice_numbers(form).map_err(Refused::Fields)?;
    CreatePractice::try_from(NewPracticeBody {
        ods_code: field(form, "ods_code").to_owned(),
        name: field(form, "name").to_owned(),
        list_size,
        site_id: given(field(form, "site")),
        data_sharing_from: from,
        data_sharing_to: to,
    })
    .map_err(Refused::Command)
}

/// The change to a practice that a form describes (every field as typed), built as the API
/// builds it.
fn practice_change_of(form: &Map<String, Value>) -> Result<UpdatePractice, Refused> {
    let (list_size, from, to) = practice_numbers(form).map_err(Refused::Fields)?;
    UpdatePractice::try_from(PracticePatch {
        name: Some(field(form, "name").to_owned()),
        list_size: Some(list_size),
        site_id: Some(given(field(form, "site"))),
        data_sharing_from: Some(from),
        data_sharing_to: Some(to),
    })
    .map_err(Refused::Command)
}

/// The cluster's sites as `(id, name)`.
async fn site_names(c: &Console, m: &Manager) -> Vec<(String, String)> {
    c.hubbook
        .list_sites(&m.user.caller(), m.code.clone(), None, SHOWN)
        .await
        .map(|p| p.items.into_iter().map(|s| (s.id.into(), s.name)).collect())
        .unwrap_or_default()
}

async fn render_practice(
    c: &Console,
    m: &Manager,
    form: &Map<String, Value>,
    drawn: Drawn<'_, Practice>,
) -> HttpResponse {
    let title = match drawn.record {
        Some((p, _)) => format!("{} ({})", p.name, p.ods_code),
        None => "Add a practice".to_owned(),
    };
    let mut ctx = edit_context(m, &title, form, &drawn, |p| p.id.clone().into());
    if let Some((p, _)) = drawn.record {
        ctx.insert("ods_code".into(), json!(p.ods_code));
    }
    let sites: Vec<Value> = site_names(c, m)
        .await
        .into_iter()
        .map(|(value, label)| json!({"value": value, "label": label}))
        .collect();
    ctx.insert("sites".into(), json!(sites));
    c.templates.page(
        drawn.status,
        "manage_setup_practice.html",
        Value::Object(ctx),
    )
}

async fn new_practice(c: web::Data<Console>, m: Manager) -> HttpResponse {
    render_practice(&c, &m, &Map::new(), Drawn::blank()).await
}

async fn create_practice(c: web::Data<Console>, post: ManagerPost) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let typed = typed(&form, &PRACTICE_FIELDS);
    let refused = match new_practice_of(&typed) {
        Err(refused) => refused,
        Ok(command) => match c
            .hubbook
            .create_practice(&m.user.caller(), None, m.code.clone(), command)
            .await
        {
            Ok(p) => {
                return see_other(&format!(
                    "/manage/setup/practices/{}?saved=1",
                    urlencode(&p.id)
                ))
            }
            Err(e) => Refused::UseCase(e),
        },
    };
    let (errors, status) = refused.answer(&PRACTICE_REFUSALS);
    render_practice(&c, &m, &typed, Drawn::refused(errors, status)).await
}

async fn practice_page(
    c: web::Data<Console>,
    m: Manager,
    id: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let p = match c
        .hubbook
        .practice(&m.user.caller(), m.code.clone(), id.into_inner())
        .await
    {
        Ok(p) => p,
        Err(e) => return missing(&c, &m, "Practice not found", e),
    };
    let drawn = Drawn {
        record: Some((&p, p.version)),
        saved: just_saved(&req),
        ..Drawn::blank()
    };
    render_practice(&c, &m, &practice_fields(&p), drawn).await
}

async fn update_practice(
    c: web::Data<Console>,
    post: ManagerPost,
    id: web::Path<String>,
) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let id = id.into_inner();
    let who = m.user.caller();
    let typed = typed(&form, &PRACTICE_FIELDS);
    let current = match c.hubbook.practice(&who, m.code.clone(), id.clone()).await {
        Ok(p) => p,
        Err(e) => return missing(&c, &m, "Practice not found", e),
    };
    let Some(expected) = version_of(&form) else {
        return stale_practice(&c, &m, current, &typed).await;
    };
    let refused = match practice_change_of(&typed) {
        Err(refused) => refused,
        Ok(change) => match c
            .hubbook
            .update_practice(&who, m.code.clone(), id.clone(), Some(expected), change)
            .await
        {
            Ok(p) => {
                return see_other(&format!(
                    "/manage/setup/practices/{}?saved=1",
                    urlencode(&p.id)
                ))
            }
            Err(e) if e.is_stale() => {
                return match c.hubbook.practice(&who, m.code.clone(), id).await {
                    Ok(now) => stale_practice(&c, &m, now, &typed).await,
                    Err(e) => missing(&c, &m, "Practice not found", e),
                }
            }
            Err(e) => Refused::UseCase(e),
        },
    };
    let (errors, status) = refused.answer(&PRACTICE_REFUSALS);
    // The form keeps the version it was drawn with: only a stale answer shows what is saved now.
    let drawn = Drawn {
        record: Some((&current, expected)),
        ..Drawn::refused(errors, status)
    };
    render_practice(&c, &m, &typed, drawn).await
}

/// The answer to a practice edit made on a page drawn before someone else's change: the practice
/// as it is now next to the form as typed, the form carrying the version now saved.
async fn stale_practice(
    c: &Console,
    m: &Manager,
    now: Practice,
    typed: &Map<String, Value>,
) -> HttpResponse {
    let sites = site_names(c, m).await;
    let rows = compared(
        &PRACTICE_ROWS,
        &practice_fields(&now),
        typed,
        |name, v| match name {
            "site" if v.is_empty() => "No own site".to_owned(),
            "site" => name_of(&sites, v),
            _ => or_none(v, "Not set"),
        },
    );
    let drawn = Drawn {
        record: Some((&now, now.version)),
        now: Some(rows),
        ..Drawn::refused(
            vec![stale_message("practice")],
            StatusCode::PRECONDITION_FAILED,
        )
    };
    render_practice(c, m, typed, drawn).await
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
    fn a_practice_form_becomes_the_apis_command_or_names_its_field() {
        let good = form(&[
            ("ods_code", "B82005"),
            ("name", "Invented Surgery"),
            ("list_size", "7,250"),
            ("site", ""),
            ("data_sharing_from", "2026-01-01"),
            ("data_sharing_to", ""),
        ]);
        let command = new_practice_of(&good).ok().unwrap();
        assert_eq!(command.list_size.get(), 7250);
        assert_eq!(command.site_id, None);
        assert!(command.agreement.to.is_none());
        let change = practice_change_of(&good).ok().unwrap();
        assert_eq!(change.site_id, Some(None), "no own site clears it");
        assert_eq!(change.data_sharing_to, Some(None));

        let mut bad = good.clone();
        bad.insert("list_size".into(), json!("lots"));
        bad.insert("data_sharing_to".into(), json!("soon"));
        let Err(Refused::Fields(errors)) = new_practice_of(&bad) else {
            panic!("numbers are parsed first")
        };
        let fields: Vec<_> = errors.iter().filter_map(|e| e.field.as_deref()).collect();
        assert_eq!(fields, ["list_size", "data_sharing_to"]);

        let mut ods = good.clone();
        ods.insert("ods_code".into(), json!("B8200"));
        let Err(Refused::Command(e)) = new_practice_of(&ods) else {
            panic!("the API's rule refuses it")
        };
        assert_eq!(api_refusal(e).error.field.as_deref(), Some("ods_code"));
    }
}

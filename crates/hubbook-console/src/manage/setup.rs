//! The cluster's set-up, for its manager: one overview of its practices, sites, services, staff
//! users and triage integrations, each row leading to its own page, and what the set-up pages
//! share: reading a form's fields as typed, parsing numbers and dates, linking a use case's
//! refusal to the field it is about, and the "saved now, next to your form" comparison a stale
//! edit is answered with. The pages themselves are in `setup_practices`, `setup_sites` (sites
//! and services), `setup_users` and `setup_integrations`; every change goes through the same
//! use cases, and the same command types, as the JSON API's.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use hubbook_api::{ApiError, ProblemType};
use hubbook_service::ServiceError;
use serde_json::{json, Map, Value};

use super::{setup_integrations, setup_practices, setup_sites, setup_users, Manager};
use crate::errors::{api_refusal, capitalised, refusal, FieldError, Refusal};
use crate::pages::{clinical_role_label, see_other, Params};
use crate::Console;

/// The most rows of each kind the overview lists (the store's largest page).
pub(super) const SHOWN: i64 = hubbook_store::repo::MAX_PAGE;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/manage/setup", web::get().to(overview));
    setup_practices::routes(cfg);
    setup_sites::routes(cfg);
    setup_users::routes(cfg);
    setup_integrations::routes(cfg);
}

// ---------------------------------------------------------------------------------------------
// The overview.

async fn overview(c: web::Data<Console>, m: Manager) -> HttpResponse {
    let who = m.user.caller();
    let mut errors = Vec::new();
    let mut keep = |r: Result<Vec<Value>, ServiceError>| match r {
        Ok(rows) => rows,
        Err(e) => {
            errors.push(refusal(e).error);
            Vec::new()
        }
    };
    let hubbook = &c.hubbook;
    let code = || m.code.clone();
    let sites = hubbook.list_sites(&who, code(), None, SHOWN).await;
    let site_names: Vec<(String, String)> = sites
        .as_ref()
        .map(|p| {
            p.items
                .iter()
                .map(|s| (s.id.clone().into(), s.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let practices = hubbook.list_practices(&who, code(), None, SHOWN).await;
    let practice_names: Vec<(String, String)> = practices
        .as_ref()
        .map(|p| {
            p.items
                .iter()
                .map(|p| (p.id.clone().into(), format!("{} ({})", p.name, p.ods_code)))
                .collect()
        })
        .unwrap_or_default();
    let practices = keep(practices.map(|page| {
        page.items
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "ods_code": p.ods_code,
                    "name": p.name,
                    "list_size": p.list_size,
                    "site": p.site_id.as_deref().map(|id| name_of(&site_names, id)),
                    "agreement": agreement_words(p.dsa_from, p.dsa_to),
                })
            })
            .collect()
    }));
    let sites = keep(sites.map(|page| {
        page.items
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "name": s.name,
                    "kind": site_kind_label(s.kind.as_str()),
                    "postcode": s.postcode,
                })
            })
            .collect()
    }));
    let services = keep(
        hubbook
            .list_services(&who, code(), None, SHOWN)
            .await
            .map(|page| {
                page.items
                    .iter()
                    .map(|s| {
                        json!({
                            "id": s.id,
                            "code": s.code,
                            "name": s.name,
                            "clinical_role": clinical_role_label(s.clinical_role.as_str()),
                        })
                    })
                    .collect()
            }),
    );
    let users = keep(
        hubbook
            .list_users(&who, code(), None, SHOWN)
            .await
            .map(|page| setup_users::user_rows(&page.items, &practice_names)),
    );
    let integrations = keep(
        hubbook
            .list_integrations(&who, None, SHOWN)
            .await
            .map(|page| {
                page.items
                    .iter()
                    .map(|i| {
                        json!({
                            "id": i.integration.id,
                            "name": i.integration.name,
                            "client_id": i.integration.client_id,
                            "active": i.integration.active,
                        })
                    })
                    .collect()
            }),
    );
    let mut ctx = m.base("Cluster set-up");
    ctx.insert("practices".into(), json!(practices));
    ctx.insert("sites".into(), json!(sites));
    ctx.insert("services".into(), json!(services));
    ctx.insert("users".into(), json!(users));
    ctx.insert("setup".into(), json!(m.setup));
    ctx.insert("integrations".into(), json!(integrations));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(StatusCode::OK, "manage_setup.html", Value::Object(ctx))
}

/// The name of the row with this id among `(id, name)` pairs, or the id itself.
pub(super) fn name_of(names: &[(String, String)], id: &str) -> String {
    names
        .iter()
        .find(|(i, _)| i == id)
        .map_or_else(|| id.to_owned(), |(_, n)| n.clone())
}

// ---------------------------------------------------------------------------------------------
// Words the set-up pages show.

/// A data-sharing agreement in words ("From 1 January 2026", "None").
pub(super) fn agreement_words(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    let day = |d: NaiveDate| d.format("%-d %B %Y").to_string();
    match (from, to) {
        (None, _) => "None".into(),
        (Some(f), None) => format!("From {}", day(f)),
        (Some(f), Some(t)) => format!("{} to {}", day(f), day(t)),
    }
}

/// "Hub" or "Surgery".
pub(super) fn site_kind_label(kind: &str) -> String {
    match kind {
        "hub" => "Hub".into(),
        "surgery" => "Surgery".into(),
        other => other.into(),
    }
}

/// A staff role in words.
pub(super) fn user_role_label(role: &str) -> String {
    match role {
        "receptionist" => "Receptionist".into(),
        "hub_staff" => "Hub staff".into(),
        "cluster_manager" => "Cluster manager".into(),
        other => other.replace('_', " "),
    }
}

// ---------------------------------------------------------------------------------------------
// Forms: fields as typed, numbers and dates.

/// The fields `names` of a posted form, trimmed, as the page shows them back.
pub(super) fn typed(form: &Params, names: &[&str]) -> Map<String, Value> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), json!(form.get(n))))
        .collect()
}

/// The value of a field of a form's map ("" when absent).
pub(super) fn field<'a>(form: &'a Map<String, Value>, name: &str) -> &'a str {
    form.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// The version a form was drawn with, when it carries one.
pub(super) fn version_of(form: &Params) -> Option<i64> {
    form.get("version").parse().ok()
}

/// A whole number as typed (spaces and thousands commas allowed), or the field's error.
pub(super) fn whole(
    form: &Map<String, Value>,
    name: &str,
    message: &str,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let digits: String = field(form, name)
        .chars()
        .filter(|c| !matches!(c, ',' | ' '))
        .collect();
    match digits.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::at(name, message));
            None
        }
    }
}

/// A decimal number as typed, or the field's error.
pub(super) fn decimal(
    form: &Map<String, Value>,
    name: &str,
    message: &str,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    match field(form, name).parse::<f64>() {
        Ok(n) if n.is_finite() => Some(n),
        _ => {
            errors.push(FieldError::at(name, message));
            None
        }
    }
}

/// An optional date as typed (`YYYY-MM-DD`; empty is none), or the field's error.
pub(super) fn optional_date(
    form: &Map<String, Value>,
    name: &str,
    label: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Option<NaiveDate>> {
    let text = field(form, name);
    if text.is_empty() {
        return Some(None);
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) => Some(Some(d)),
        Err(_) => {
            errors.push(FieldError::at(
                name,
                format!("Enter the {label} as a date, like 2027-01-04, or leave it empty"),
            ));
            None
        }
    }
}

/// `Some(text)` unless it is empty.
pub(super) fn given(text: &str) -> Option<String> {
    Some(text.to_owned()).filter(|t| !t.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Refusals and stale edits.

/// How one form names a refusal the console's words do not link to one of its fields: the
/// problem type, the field, and the words (empty to keep the refusal's own).
pub(super) type FormField = (ProblemType, &'static str, &'static str);

/// A refusal's status and message, moved to this form's field when `fields` names its kind.
pub(super) fn linked(r: Refusal, fields: &[FormField]) -> (StatusCode, FieldError) {
    let error = match fields.iter().find(|(kind, _, _)| *kind == r.kind) {
        Some((_, field, "")) => FieldError::at(field, capitalised(&r.error.message)),
        Some((_, field, words)) => FieldError::at(field, *words),
        None => r.error,
    };
    (r.status, error)
}

/// The message a refused stale edit starts the page with.
pub(super) fn stale_message(what: &str) -> FieldError {
    FieldError::page(format!(
        "Someone else changed this {what} after you opened this page, so your change was not saved. \
         What is saved now is shown next to your form below; check it, then save again if your change is still needed."
    ))
}

/// The rows of the "saved now, next to your form" table of a stale edit: each field's label,
/// its value saved now and as typed (both as `show` words them), and whether they differ.
pub(super) fn compared(
    rows: &[(&str, &str)],
    now: &Map<String, Value>,
    typed: &Map<String, Value>,
    show: impl Fn(&str, &str) -> String,
) -> Vec<Value> {
    rows.iter()
        .map(|(label, name)| {
            let (saved, yours) = (field(now, name), field(typed, name));
            json!({
                "field": name,
                "label": label,
                "now": show(name, saved),
                "yours": show(name, yours),
                "differs": saved != yours,
            })
        })
        .collect()
}

/// The page for a record that cannot be read (not found, or a failure), saying why.
pub(super) fn missing(c: &Console, m: &Manager, title: &str, e: ServiceError) -> HttpResponse {
    m.refused(c, title, e, &m.setup)
}

// ---------------------------------------------------------------------------------------------
// What the set-up pages share: addresses read back, notices, and drawing an edit page.

/// A list's address read back (a reload after a refused add): the overview.
pub(super) async fn to_overview(m: Manager) -> HttpResponse {
    see_other(&m.setup)
}

/// The notice a record page was reached with after a change (`?saved=<what>`).
pub(super) fn notice(req: &HttpRequest) -> Option<String> {
    given(Params::parse(req.query_string()).get("saved"))
}

/// Whether a record page was reached just after a save (`?saved=1`).
pub(super) fn just_saved(req: &HttpRequest) -> bool {
    Params::parse(req.query_string()).get("saved") == "1"
}

/// Why an add or a change was not made: fields that do not parse, a command refused as it was
/// built (in the API's terms), or a refusal by the use case.
pub(super) enum Refused {
    /// Fields that do not parse, each linked.
    Fields(Vec<FieldError>),
    /// A command refused as it was built.
    Command(ApiError),
    /// A use case's refusal.
    UseCase(ServiceError),
}

impl Refused {
    /// The errors to show, linked to this form's fields, and the page's status.
    pub(super) fn answer(self, fields: &[FormField]) -> (Vec<FieldError>, StatusCode) {
        let (status, error) = match self {
            Self::Fields(errors) => return (errors, StatusCode::UNPROCESSABLE_ENTITY),
            Self::Command(e) => linked(api_refusal(e), fields),
            Self::UseCase(e) => linked(refusal(e), fields),
        };
        (vec![error], status)
    }
}

/// What an edit page draws besides the form: the record (and the version the form carries), the
/// "saved now" rows of a stale edit, and whether a save just happened.
pub(super) struct Drawn<'a, T> {
    /// The record edited and the version its form carries (none on an add page).
    pub record: Option<(&'a T, i64)>,
    /// The rows of the "saved now" table of a stale edit.
    pub now: Option<Vec<Value>>,
    /// Whether a save just happened (the banner).
    pub saved: bool,
    /// The errors to show.
    pub errors: Vec<FieldError>,
    /// The page's status.
    pub status: StatusCode,
}

impl<T> Drawn<'_, T> {
    /// An add page, or a record page as read.
    pub(super) fn blank() -> Self {
        Self {
            record: None,
            now: None,
            saved: false,
            errors: Vec::new(),
            status: StatusCode::OK,
        }
    }

    /// A page refusing a form.
    pub(super) fn refused(errors: Vec<FieldError>, status: StatusCode) -> Self {
        Self {
            errors,
            status,
            ..Self::blank()
        }
    }
}

/// The context of an edit page: the manager's base, the form, the record's id and version, the
/// stale comparison, the banner and the errors.
pub(super) fn edit_context<T>(
    m: &Manager,
    title: &str,
    form: &Map<String, Value>,
    drawn: &Drawn<'_, T>,
    id_of: impl Fn(&T) -> String,
) -> Map<String, Value> {
    let mut ctx = m.base(title);
    ctx.insert("form".into(), Value::Object(form.clone()));
    if let Some((record, version)) = drawn.record {
        ctx.insert(
            "record".into(),
            json!({"id": id_of(record), "version": version}),
        );
    }
    ctx.insert("now".into(), json!(drawn.now));
    ctx.insert("saved".into(), json!(drawn.saved));
    ctx.insert("errors".into(), json!(drawn.errors));
    ctx
}

/// An empty value of a "saved now" row in words.
pub(super) fn or_none(value: &str, none: &str) -> String {
    if value.is_empty() {
        none.to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubbook_store::{ConflictKind, StoreError};

    fn map(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect()
    }

    #[test]
    fn numbers_and_dates_parse_as_typed_or_name_their_field() {
        let f = map(&[
            ("size", "9,100"),
            ("bad", "nine"),
            ("lat", "53.8"),
            ("inf", "inf"),
            ("from", "2026-01-01"),
            ("to", ""),
            ("when", "1/1/2026"),
        ]);
        let mut errors = Vec::new();
        assert_eq!(whole(&f, "size", "m", &mut errors), Some(9100));
        assert_eq!(decimal(&f, "lat", "m", &mut errors), Some(53.8));
        assert_eq!(
            optional_date(&f, "from", "start", &mut errors),
            Some(NaiveDate::from_ymd_opt(2026, 1, 1))
        );
        assert_eq!(optional_date(&f, "to", "end", &mut errors), Some(None));
        assert!(errors.is_empty());
        assert_eq!(whole(&f, "bad", "Enter a number", &mut errors), None);
        assert_eq!(decimal(&f, "inf", "Enter a number", &mut errors), None);
        assert_eq!(optional_date(&f, "when", "start", &mut errors), None);
        let fields: Vec<_> = errors.iter().filter_map(|e| e.field.as_deref()).collect();
        assert_eq!(fields, ["bad", "inf", "when"]);
    }

    #[test]
    fn a_posted_form_is_read_trimmed_and_its_version_only_when_it_is_a_number() {
        let form = Params::parse("name=%20Hub%20&version=3&x=1");
        let t = typed(&form, &["name", "missing"]);
        assert_eq!((field(&t, "name"), field(&t, "missing")), ("Hub", ""));
        assert_eq!(version_of(&form), Some(3));
        assert_eq!(version_of(&Params::parse("version=three")), None);
    }

    #[test]
    fn a_stale_edit_marks_the_fields_saved_otherwise_than_typed() {
        let now = map(&[("name", "Test Surgery"), ("list_size", "9100")]);
        let typed = map(&[("name", "X"), ("list_size", "9100")]);
        let rows = compared(
            &[("Name", "name"), ("List size", "list_size")],
            &now,
            &typed,
            |_, v| v.to_owned(),
        );
        assert_eq!(rows[0]["differs"], true);
        assert_eq!(rows[1]["differs"], false);
        assert_eq!(rows[0]["now"], "Test Surgery");
    }

    #[test]
    fn refusals_move_to_the_forms_field_when_it_names_them() {
        let duplicate = refusal(ServiceError::Store(StoreError::Conflict(
            ConflictKind::Duplicate("ods_code".into()),
        )));
        let (status, e) = linked(
            duplicate,
            &[(ProblemType::AlreadyExists, "ods_code", "Already in use")],
        );
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(e, FieldError::at("ods_code", "Already in use"));
        let other = refusal(ServiceError::InvalidCursor);
        let (_, e) = linked(other, &[(ProblemType::AlreadyExists, "x", "")]);
        assert_eq!(e.field, None);
    }

    #[test]
    fn agreements_read_as_words() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day);
        assert_eq!(agreement_words(None, None), "None");
        assert_eq!(agreement_words(d(1, 1), None), "From 1 January 2026");
        assert_eq!(
            agreement_words(d(1, 1), d(12, 31)),
            "1 January 2026 to 31 December 2026"
        );
    }
}

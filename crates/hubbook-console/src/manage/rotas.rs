//! Rotas for the cluster's manager: the rota list, a rota's week grid of session templates (site
//! by weekday) with the form that adds or changes one, checked date by date as it is saved, and
//! publishing or withdrawing a range of dates after a preview of what it would do, the patients
//! it would move included. Every step calls the same use cases as the JSON API's rota routes.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveTime, Weekday};
use hubbook_core::rota::{weekday_name, Rota, RotaError, SessionTemplate, WeekPattern, WEEK};
use hubbook_core::{bank_holidays, NhsNumber};
use hubbook_service::rotas::{RotaRange, SavedRota};
use hubbook_service::ServiceError;
use hubbook_store::repo::sessions::ChangeReport;
use serde_json::{json, Map, Value};

use super::{Manager, ManagerPost};
use crate::errors::{capitalised, refusal, FieldError};
use crate::pages::{clinical_role_label, delivery_label, see_other, urlencode, Params};
use crate::Console;

/// The most rotas the list shows.
const ROTAS_SHOWN: i64 = 100;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/manage/rotas", web::get().to(list))
        .route("/manage/rotas", web::post().to(create))
        .route("/manage/rotas/{id}", web::get().to(rota_page))
        .route(
            "/manage/rotas/{id}/templates",
            web::post().to(save_template),
        )
        .route(
            "/manage/rotas/{id}/templates/remove",
            web::post().to(remove_template),
        )
        .route("/manage/rotas/{id}/preview", web::post().to(preview))
        .route("/manage/rotas/{id}/apply", web::post().to(apply));
}

async fn list(c: web::Data<Console>, m: Manager) -> HttpResponse {
    list_page(&c, &m, "", Vec::new(), StatusCode::OK).await
}

async fn list_page(
    c: &Console,
    m: &Manager,
    name: &str,
    mut errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = m.base("Rotas");
    let rotas = match c
        .hubbook
        .list_rotas(&m.user.caller(), m.code.clone(), None, ROTAS_SHOWN)
        .await
    {
        Ok(page) => page.items,
        Err(e) => {
            errors.push(refusal(e).error);
            Vec::new()
        }
    };
    let local = m.user.local();
    let rows: Vec<Value> = rotas
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.rota.name,
                "templates": r.rota.templates.len(),
                "updated": local.when(r.updated_at),
            })
        })
        .collect();
    ctx.insert("rotas".into(), json!(rows));
    ctx.insert("name".into(), json!(name));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "manage_rotas.html", Value::Object(ctx))
}

async fn create(c: web::Data<Console>, post: ManagerPost) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let name = form.get("name").trim().to_owned();
    let rota = Rota {
        name: name.clone(),
        templates: Vec::new(),
    };
    match c
        .hubbook
        .create_rota(&m.user.caller(), None, m.code.clone(), rota)
        .await
    {
        Ok(saved) => see_other(&format!("/manage/rotas/{}", urlencode(&saved.id))),
        Err(e) => {
            let error = rota_error(e);
            let status = error.0;
            list_page(&c, &m, &name, vec![error.1], status).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One rota: the grid and the template form.

/// What the template form shows: its fields as typed, or as a saved template has them.
#[derive(Debug, Clone, Default)]
struct TemplateForm(Map<String, Value>);

impl TemplateForm {
    fn blank(today: NaiveDate) -> Self {
        let mut f = Map::new();
        f.insert("slot_minutes".into(), json!("10"));
        f.insert("capacity".into(), json!("1"));
        f.insert("delivery".into(), json!("face_to_face"));
        f.insert("pattern".into(), json!("every_week"));
        f.insert("valid_from".into(), json!(today.to_string()));
        f.insert("weekdays".into(), json!([]));
        Self(f)
    }

    fn of(t: &SessionTemplate) -> Self {
        let mut f = Map::new();
        f.insert("original_key".into(), json!(t.key));
        f.insert("key".into(), json!(t.key));
        f.insert("site".into(), json!(t.site_id));
        f.insert("service".into(), json!(t.service_id));
        f.insert("start".into(), json!(t.start.format("%H:%M").to_string()));
        f.insert("end".into(), json!(t.end.format("%H:%M").to_string()));
        f.insert("slot_minutes".into(), json!(t.slot_minutes.to_string()));
        f.insert("capacity".into(), json!(t.capacity.to_string()));
        f.insert("delivery".into(), json!(t.delivery.as_str()));
        let breaks: Vec<String> = t
            .breaks
            .iter()
            .map(|b| format!("{}-{}", b.start.format("%H:%M"), b.end.format("%H:%M")))
            .collect();
        f.insert("breaks".into(), json!(breaks.join(", ")));
        let days: Vec<&str> = t.weekdays.iter().map(|d| weekday_name(*d)).collect();
        f.insert("weekdays".into(), json!(days));
        let (pattern, n, anchor) = match t.pattern {
            WeekPattern::EveryWeek => ("every_week", String::new(), String::new()),
            WeekPattern::EveryNthWeek { n, anchor } => {
                ("every_nth_week", n.to_string(), anchor.to_string())
            }
            WeekPattern::NthWeekdayOfMonth { n } => {
                ("nth_weekday_of_month", n.to_string(), String::new())
            }
            WeekPattern::LastWeekdayOfMonth => {
                ("last_weekday_of_month", String::new(), String::new())
            }
        };
        f.insert("pattern".into(), json!(pattern));
        f.insert("every_n".into(), json!(n));
        f.insert("anchor".into(), json!(anchor));
        f.insert("valid_from".into(), json!(t.valid_from.to_string()));
        f.insert(
            "valid_to".into(),
            json!(t.valid_to.map(|d| d.to_string()).unwrap_or_default()),
        );
        let skips: Vec<String> = t.skip_dates.iter().map(NaiveDate::to_string).collect();
        f.insert("skip_dates".into(), json!(skips.join(", ")));
        Self(f)
    }

    fn posted(form: &Params) -> Self {
        let mut f = Map::new();
        for name in [
            "original_key",
            "key",
            "site",
            "service",
            "start",
            "end",
            "slot_minutes",
            "capacity",
            "delivery",
            "breaks",
            "pattern",
            "every_n",
            "anchor",
            "valid_from",
            "valid_to",
            "skip_dates",
        ] {
            f.insert(name.into(), json!(form.get(name).trim()));
        }
        let days: Vec<&str> = WEEK
            .iter()
            .map(|d| weekday_name(*d))
            .filter(|d| form.get(&format!("day_{d}")) == "on")
            .collect();
        f.insert("weekdays".into(), json!(days));
        // Bank holidays ticked in the list join the dates typed.
        let mut ticked: Vec<&str> = form
            .with_prefix("bh_")
            .filter(|(_, v)| *v == "on")
            .map(|(date, _)| date)
            .collect();
        ticked.sort_unstable();
        let typed = form.get("skip_dates");
        let mut skip: Vec<&str> = typed
            .split([',', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .collect();
        for date in ticked {
            if !skip.contains(&date) {
                skip.push(date);
            }
        }
        f.insert("skip_dates".into(), json!(skip.join(", ")));
        Self(f)
    }

    fn get(&self, name: &str) -> &str {
        self.0.get(name).and_then(Value::as_str).unwrap_or_default()
    }

    /// The template the fields describe, or the errors of the fields that do not parse (each
    /// linked to its field); the rules about the whole template are the core's.
    fn template(&self) -> Result<SessionTemplate, Vec<FieldError>> {
        let mut errors = Vec::new();
        let time = |field: &str, label: &str, errors: &mut Vec<FieldError>| {
            NaiveTime::parse_from_str(self.get(field), "%H:%M")
                .map_err(|_| {
                    errors.push(FieldError::at(
                        field,
                        format!("Enter the {label} as a 24-hour time, like 18:30"),
                    ))
                })
                .ok()
        };
        let start = time("start", "start time", &mut errors);
        let end = time("end", "end time", &mut errors);
        let number = |field: &str, label: &str, errors: &mut Vec<FieldError>| {
            self.get(field)
                .parse::<u32>()
                .map_err(|_| {
                    errors.push(FieldError::at(
                        field,
                        format!("Enter the {label} as a number"),
                    ))
                })
                .ok()
        };
        let slot_minutes = number("slot_minutes", "slot length in minutes", &mut errors);
        let capacity = number("capacity", "number of patients seen at once", &mut errors);
        let date = |field: &str, label: &str, errors: &mut Vec<FieldError>| {
            NaiveDate::parse_from_str(self.get(field), "%Y-%m-%d")
                .map_err(|_| {
                    errors.push(FieldError::at(
                        field,
                        format!("Enter the {label} as a date, like 2027-01-04"),
                    ))
                })
                .ok()
        };
        let valid_from = date("valid_from", "first date", &mut errors);
        let valid_to = if self.get("valid_to").is_empty() {
            Some(None)
        } else {
            date("valid_to", "last date", &mut errors).map(Some)
        };
        let mut breaks = Vec::new();
        for part in self.get("breaks").split([',', ';', '\n']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let parsed = part.split_once('-').and_then(|(a, b)| {
                Some(hubbook_core::rota::Break {
                    start: NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?,
                    end: NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?,
                })
            });
            match parsed {
                Some(b) => breaks.push(b),
                None => {
                    errors.push(FieldError::at(
                        "breaks",
                        "Enter each break as start-end, like 12:00-12:30, separated by commas",
                    ));
                    break;
                }
            }
        }
        let mut skip_dates = Vec::new();
        for part in self.get("skip_dates").split([',', ';', ' ', '\n']) {
            if part.trim().is_empty() {
                continue;
            }
            match NaiveDate::parse_from_str(part.trim(), "%Y-%m-%d") {
                Ok(d) => skip_dates.push(d),
                Err(_) => {
                    errors.push(FieldError::at(
                        "skip_dates",
                        "Enter each date to skip like 2026-12-25, separated by commas",
                    ));
                    break;
                }
            }
        }
        let pattern = match self.get("pattern") {
            "every_nth_week" => {
                let n = number("every_n", "number of weeks apart", &mut errors);
                let anchor = date("anchor", "date in the first week", &mut errors);
                n.zip(anchor)
                    .map(|(n, anchor)| WeekPattern::EveryNthWeek { n, anchor })
            }
            "nth_weekday_of_month" => number("every_n", "week of the month (1 to 5)", &mut errors)
                .map(|n| WeekPattern::NthWeekdayOfMonth { n }),
            "last_weekday_of_month" => Some(WeekPattern::LastWeekdayOfMonth),
            _ => Some(WeekPattern::EveryWeek),
        };
        let delivery = self.get("delivery").parse().map_err(|_| {
            errors.push(FieldError::at(
                "delivery",
                "Choose how patients are seen: face to face, telephone or video",
            ))
        });
        let weekdays: Vec<Weekday> = self
            .0
            .get("weekdays")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str()?.parse().ok())
            .collect();
        if self.get("site").is_empty() {
            errors.push(FieldError::at(
                "site",
                "Choose the site the session runs at",
            ));
        }
        if self.get("service").is_empty() {
            errors.push(FieldError::at(
                "service",
                "Choose the service the session offers",
            ));
        }
        match (
            start,
            end,
            slot_minutes,
            capacity,
            valid_from,
            valid_to,
            pattern,
            delivery,
        ) {
            (
                Some(start),
                Some(end),
                Some(slot_minutes),
                Some(capacity),
                Some(valid_from),
                Some(valid_to),
                Some(pattern),
                Ok(delivery),
            ) if errors.is_empty() => Ok(SessionTemplate {
                key: self.get("key").to_owned(),
                site_id: self.get("site").to_owned(),
                service_id: self.get("service").to_owned(),
                start,
                end,
                slot_minutes,
                capacity,
                delivery,
                breaks,
                weekdays,
                pattern,
                valid_from,
                valid_to,
                skip_dates,
            }),
            _ => Err(errors),
        }
    }
}

async fn rota_page(
    c: web::Data<Console>,
    m: Manager,
    id: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let params = Params::parse(req.query_string());
    let id = id.into_inner();
    let saved = match c.hubbook.rota(&m.user.caller(), m.code.clone(), id).await {
        Ok(saved) => saved,
        Err(e) => return rota_missing(&c, &m, e),
    };
    let form = match saved
        .rota
        .templates
        .iter()
        .find(|t| t.key == params.get("edit"))
    {
        Some(t) => TemplateForm::of(t),
        None => TemplateForm::blank(m.user.local().date_of(c.hubbook.now())),
    };
    let done = params.get("saved").to_owned();
    render_rota(
        &c,
        &m,
        &saved,
        &form,
        Vec::new(),
        Some(done),
        StatusCode::OK,
    )
    .await
}

/// The page for a rota that cannot be read (not found, or a failure), saying why.
fn rota_missing(c: &Console, m: &Manager, e: ServiceError) -> HttpResponse {
    m.refused(c, "Rota not found", e, "/manage/rotas")
}

#[allow(clippy::too_many_arguments)]
async fn render_rota(
    c: &Console,
    m: &Manager,
    saved: &SavedRota,
    form: &TemplateForm,
    errors: Vec<FieldError>,
    done: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = m.base(&format!("Rota: {}", saved.rota.name));
    let choices = c
        .hubbook
        .search_choices(&m.user.caller())
        .await
        .unwrap_or_default();
    let site_name = |id: &str| {
        choices
            .sites
            .iter()
            .find(|s| s.id.as_str() == id)
            .map_or_else(|| id.to_owned(), |s| s.name.clone())
    };
    let service_name = |id: &str| {
        choices
            .services
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| id.to_owned(), |s| s.name.clone())
    };
    // The grid: one row per site, one cell per weekday, each cell the templates running then.
    let mut by_site: BTreeMap<String, Vec<&SessionTemplate>> = BTreeMap::new();
    for t in &saved.rota.templates {
        by_site.entry(site_name(&t.site_id)).or_default().push(t);
    }
    let grid: Vec<Value> = by_site
        .iter()
        .map(|(site, templates)| {
            let days: Vec<Value> = WEEK
                .iter()
                .map(|day| {
                    let mut cell: Vec<&&SessionTemplate> =
                        templates.iter().filter(|t| t.weekdays.contains(day)).collect();
                    cell.sort_by_key(|t| t.start);
                    json!(cell
                        .iter()
                        .map(|t| json!({
                            "key": t.key,
                            "edit": format!("/manage/rotas/{}?edit={}#template", urlencode(&saved.id), urlencode(&t.key)),
                            "times": format!("{}–{}", t.start.format("%H:%M"), t.end.format("%H:%M")),
                            "service": service_name(&t.service_id),
                            "detail": format!("{} min slots, {} at once, {}", t.slot_minutes, t.capacity, delivery_label(t.delivery.as_str()).to_lowercase()),
                            "pattern": pattern_words(&t.pattern),
                        }))
                        .collect::<Vec<_>>())
                })
                .collect();
            json!({"site": site, "days": days})
        })
        .collect();
    ctx.insert("grid".into(), json!(grid));
    let advice: Vec<String> = saved
        .rota
        .advice()
        .iter()
        .map(|a| capitalised(&a.to_string()))
        .collect();
    ctx.insert("advice".into(), json!(advice));
    ctx.insert(
        "weekdays".into(),
        json!(WEEK
            .iter()
            .map(|d| json!({"value": weekday_name(*d), "label": day_label(*d)}))
            .collect::<Vec<_>>()),
    );
    ctx.insert(
        "rota".into(),
        json!({"id": saved.id, "name": saved.rota.name, "version": saved.version}),
    );
    ctx.insert(
        "sites".into(),
        json!(choices
            .sites
            .iter()
            .map(|s| json!({"value": s.id, "label": s.name}))
            .collect::<Vec<_>>()),
    );
    ctx.insert(
        "services".into(),
        json!(choices
            .services
            .iter()
            .map(|s| json!({"value": s.id, "label": format!("{} ({})", s.name, clinical_role_label(s.clinical_role.as_str()))}))
            .collect::<Vec<_>>()),
    );
    // The bank holidays of the coming year, offered as dates to skip.
    let today = m.user.local().date_of(c.hubbook.now());
    let from = NaiveDate::parse_from_str(form.get("valid_from"), "%Y-%m-%d")
        .map_or(today, |d| d.max(today));
    let skipping: Vec<&str> = form
        .get("skip_dates")
        .split([',', ';', ' ', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let offered = bank_holidays::between(from, from + chrono::Duration::days(365));
    let holidays: Vec<Value> = offered
        .iter()
        .map(|(date, name)| {
            let value = date.to_string();
            json!({
                "checked": skipping.contains(&value.as_str()),
                "value": value,
                "label": format!("{name}, {}", date.format("%A %-d %B %Y")),
            })
        })
        .collect();
    ctx.insert("bank_holidays".into(), json!(holidays));
    // The dates ticked as bank holidays are not typed again in the text field.
    let others: Vec<&str> = skipping
        .into_iter()
        .filter(|d| !offered.iter().any(|(h, _)| h.to_string() == *d))
        .collect();
    let mut shown = form.0.clone();
    shown.insert("skip_dates".into(), json!(others.join(", ")));
    ctx.insert("form".into(), Value::Object(shown));
    ctx.insert(
        "editing".into(),
        json!(!form.get("original_key").is_empty()),
    );
    ctx.insert("done".into(), json!(done.filter(|d| !d.is_empty())));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "manage_rota.html", Value::Object(ctx))
}

fn day_label(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

fn pattern_words(p: &WeekPattern) -> String {
    match p {
        WeekPattern::EveryWeek => String::new(),
        WeekPattern::EveryNthWeek { n, anchor } => {
            format!("every {n} weeks from the week of {anchor}")
        }
        WeekPattern::NthWeekdayOfMonth { n } => format!("week {n} of each month"),
        WeekPattern::LastWeekdayOfMonth => "last in each month".into(),
    }
}

/// The status and field error for a refused rota change, linked to the template form's field
/// the core's rule is about.
fn rota_error(e: ServiceError) -> (StatusCode, FieldError) {
    let field = match &e {
        ServiceError::Rota(r) => Some(match r {
            RotaError::InvalidRotaName { .. } => "name",
            RotaError::InvalidTemplateKey { .. } | RotaError::DuplicateTemplateKey { .. } => "key",
            RotaError::InvalidReference { field, .. } if *field == "service_id" => "service",
            RotaError::InvalidReference { .. } => "site",
            RotaError::InvalidSessionTimes { .. }
            | RotaError::TimeNotWholeMinute { .. }
            | RotaError::NonexistentTime { .. } => "start",
            RotaError::InvalidSlotLength { .. } => "slot_minutes",
            RotaError::InvalidCapacity { .. } => "capacity",
            RotaError::InvalidBreak { .. } => "breaks",
            RotaError::NoWeekdays { .. } => "day_mon",
            RotaError::InvalidWeekPattern { .. } => "every_n",
            RotaError::InvalidValidity { .. } | RotaError::InvalidDateRange { .. } => "valid_to",
            RotaError::UnknownDelivery(_) => "delivery",
        }),
        ServiceError::UnknownReference(_) => Some("site"),
        _ => None,
    };
    let r = refusal(e);
    let error = match field {
        Some(f) => FieldError::at(f, capitalised(&r.error.message)),
        None => r.error,
    };
    (r.status, error)
}

async fn save_template(
    c: web::Data<Console>,
    post: ManagerPost,
    id: web::Path<String>,
) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let id = id.into_inner();
    let who = m.user.caller();
    let saved = match c.hubbook.rota(&who, m.code.clone(), id.clone()).await {
        Ok(saved) => saved,
        Err(e) => return rota_missing(&c, &m, e),
    };
    let typed = TemplateForm::posted(&form);
    let expected = form.get("version").parse::<i64>().ok();
    if expected != Some(saved.version) {
        return stale(&c, &m, &saved, &typed).await;
    }
    let template = match typed.template() {
        Ok(t) => t,
        Err(errors) => {
            return render_rota(
                &c,
                &m,
                &saved,
                &typed,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let mut rota = saved.rota.clone();
    let original = typed.get("original_key").to_owned();
    rota.templates
        .retain(|t| t.key != original || original.is_empty());
    let key = template.key.clone();
    rota.templates.push(template);
    if let Err(e) = c
        .hubbook
        .check_draft_rota(&who, m.code.clone(), rota.clone())
        .await
    {
        let (status, error) = rota_error(e);
        return render_rota(&c, &m, &saved, &typed, vec![error], None, status).await;
    }
    match c
        .hubbook
        .replace_rota(&who, m.code.clone(), id.clone(), expected, rota)
        .await
    {
        Ok(_) => see_other(&format!(
            "/manage/rotas/{}?saved={}",
            urlencode(&id),
            urlencode(&key)
        )),
        Err(e) if e.is_stale() => stale(&c, &m, &saved, &typed).await,
        Err(e) => {
            let (status, error) = rota_error(e);
            render_rota(&c, &m, &saved, &typed, vec![error], None, status).await
        }
    }
}

/// The answer to a change made to a rota someone else changed since the page was drawn: the rota
/// as it is now (their change shown in the grid), the typed form kept, and nothing saved.
async fn stale(c: &Console, m: &Manager, _seen: &SavedRota, typed: &TemplateForm) -> HttpResponse {
    let now = match c
        .hubbook
        .rota(&m.user.caller(), m.code.clone(), _seen.id.clone())
        .await
    {
        Ok(now) => now,
        Err(e) => return rota_missing(c, m, e),
    };
    let error = FieldError::page(format!(
        "Someone else changed this rota while you were editing it, so your change was not saved. The grid below shows the rota as it is now (version {}); check it, then save your change again.",
        now.version
    ));
    render_rota(
        c,
        m,
        &now,
        typed,
        vec![error],
        None,
        StatusCode::PRECONDITION_FAILED,
    )
    .await
}

async fn remove_template(
    c: web::Data<Console>,
    post: ManagerPost,
    id: web::Path<String>,
) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let id = id.into_inner();
    let who = m.user.caller();
    let saved = match c.hubbook.rota(&who, m.code.clone(), id.clone()).await {
        Ok(saved) => saved,
        Err(e) => return rota_missing(&c, &m, e),
    };
    let expected = form.get("version").parse::<i64>().ok();
    let key = form.get("key").to_owned();
    let mut rota = saved.rota.clone();
    rota.templates.retain(|t| t.key != key);
    match c
        .hubbook
        .replace_rota(&who, m.code.clone(), id.clone(), expected, rota)
        .await
    {
        Ok(_) => see_other(&format!("/manage/rotas/{}", urlencode(&id))),
        Err(e) if e.is_stale() => stale(&c, &m, &saved, &TemplateForm::default()).await,
        Err(e) => {
            let (status, error) = rota_error(e);
            render_rota(
                &c,
                &m,
                &saved,
                &TemplateForm::default(),
                vec![error],
                None,
                status,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Publish or withdraw, after a preview.

/// The most patients a preview names one by one.
const MOVED_SHOWN: usize = 100;

/// The patients a change moves (or would move), as the preview names them: who, when, phone.
async fn moved_patients(c: &Console, m: &Manager, report: &ChangeReport) -> Vec<Value> {
    let local = m.user.local();
    let who = m.user.caller();
    let mut out = Vec::new();
    for need in report.needs_rebooking.iter().take(MOVED_SHOWN) {
        if let Ok(detail) = c
            .hubbook
            .appointment(&who, need.appointment_id.clone(), false)
            .await
        {
            let a = detail.appointment;
            out.push(json!({
                "id": a.id,
                "patient": a.patient_name,
                "nhs_number": a.nhs_number.as_deref().and_then(|x| NhsNumber::parse(x).ok()).map(|x| x.spaced()),
                "phone": a.patient_phone,
                "when": local.when(a.starts_at),
            }));
        }
    }
    out
}

/// A publish or withdrawal as the preview form names it.
struct Change {
    withdraw: bool,
    from: String,
    to: String,
    reason: String,
}

impl Change {
    fn posted(form: &Params) -> Self {
        Self {
            withdraw: form.get("action") == "withdraw",
            from: form.get("from").trim().to_owned(),
            to: form.get("to").trim().to_owned(),
            reason: form.get("reason").trim().to_owned(),
        }
    }

    fn range(&self, dry_run: bool) -> Result<RotaRange, Vec<FieldError>> {
        let parse = |v: &str, field: &str, label: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                FieldError::at(
                    field,
                    format!("Enter the {label} as a date, like 2027-01-04"),
                )
            })
        };
        let from = parse(&self.from, "from", "first date");
        let to = if self.to.is_empty() {
            from.clone()
        } else {
            parse(&self.to, "to", "last date")
        };
        match (from, to) {
            (Ok(from), Ok(to)) => RotaRange::new(from, to, dry_run)
                .map_err(|e| vec![FieldError::at("to", capitalised(&refusal(e).error.message))]),
            (from, to) => Err([from.err(), to.err()].into_iter().flatten().collect()),
        }
    }

    async fn run(
        &self,
        c: &Console,
        m: &Manager,
        id: &str,
        range: RotaRange,
    ) -> Result<ChangeReport, ServiceError> {
        let who = m.user.caller();
        if self.withdraw {
            let reason = Some(self.reason.clone()).filter(|r| !r.is_empty());
            c.hubbook
                .withdraw_rota(&who, m.code.clone(), id.to_owned(), range, reason)
                .await
        } else {
            c.hubbook
                .publish_rota(&who, m.code.clone(), id.to_owned(), range)
                .await
        }
    }
}

async fn preview(c: web::Data<Console>, post: ManagerPost, id: web::Path<String>) -> HttpResponse {
    change(&c, post, &id.into_inner(), true).await
}

async fn apply(c: web::Data<Console>, post: ManagerPost, id: web::Path<String>) -> HttpResponse {
    change(&c, post, &id.into_inner(), false).await
}

async fn change(c: &Console, post: ManagerPost, id: &str, dry_run: bool) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let who = m.user.caller();
    let saved = match c.hubbook.rota(&who, m.code.clone(), id.to_owned()).await {
        Ok(saved) => saved,
        Err(e) => return rota_missing(c, &m, e),
    };
    let wanted = Change::posted(&form);
    // A confirmation applies the rota as it was previewed, not one changed since.
    if !dry_run && form.get("version").parse::<i64>().ok() != Some(saved.version) {
        let error = FieldError::page(
            "The rota changed after the preview was made, so nothing was published. Preview it again.",
        );
        return render_change(
            c,
            &m,
            &saved,
            &wanted,
            None,
            vec![error],
            StatusCode::PRECONDITION_FAILED,
        );
    }
    let range = match wanted.range(dry_run) {
        Ok(range) => range,
        Err(errors) => {
            return render_change(
                c,
                &m,
                &saved,
                &wanted,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    match wanted.run(c, &m, id, range).await {
        Ok(report) => {
            let moved = moved_patients(c, &m, &report).await;
            render_change(
                c,
                &m,
                &saved,
                &wanted,
                Some((report, moved)),
                Vec::new(),
                StatusCode::OK,
            )
        }
        Err(e) => {
            let (status, error) = rota_error(e);
            render_change(c, &m, &saved, &wanted, None, vec![error], status)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn render_change(
    c: &Console,
    m: &Manager,
    saved: &SavedRota,
    wanted: &Change,
    report: Option<(ChangeReport, Vec<Value>)>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let verb = if wanted.withdraw {
        "Withdraw"
    } else {
        "Publish"
    };
    let title = match report.as_ref().map(|(r, _)| r) {
        Some(r) if r.dry_run => format!("{verb} {}: check before you confirm", saved.rota.name),
        Some(_) if wanted.withdraw => format!("{} withdrawn", saved.rota.name),
        Some(_) => format!("{} published", saved.rota.name),
        None => format!("{verb} {}", saved.rota.name),
    };
    let mut ctx = m.base(&title);
    if let Some((r, moved)) = &report {
        ctx.insert(
            "report".into(),
            json!({
                "dry_run": r.dry_run,
                "sessions_created": r.sessions_created,
                "slots_created": r.slots_created,
                "sessions_unchanged": r.sessions_unchanged,
                "slots_unchanged": r.slots_unchanged,
                "sessions_updated": r.sessions_updated,
                "sessions_removed": r.sessions_removed,
                "slots_removed": r.slots_removed,
                "held_slots_kept": r.held_slots_kept,
                "moved": moved,
                "warnings": r.warnings,
            }),
        );
    }
    ctx.insert(
        "change".into(),
        json!({
            "action": if wanted.withdraw { "withdraw" } else { "publish" },
            "verb": verb,
            "from": wanted.from,
            "to": wanted.to,
            "reason": wanted.reason,
        }),
    );
    ctx.insert(
        "rota".into(),
        json!({"id": saved.id, "name": saved.rota.name, "version": saved.version}),
    );
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "manage_change.html", Value::Object(ctx))
}

//! The hub's day list: one site's appointments on a local date, with arrived, seen and
//! did-not-attend on each row. Which buttons a row offers is the core's rule
//! (`hubbook_core::appointment::outcome_allowed`); recording one is the `record_outcome` use case.

// The checks answer with the page to send instead as their error (see `pages`).
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use hubbook_core::appointment::{outcome_allowed, Outcome};
use hubbook_core::{NhsNumber, Role};
use serde_json::{json, Value};

use crate::errors::{refusal, FieldError};
use crate::pages::{
    base, clinical_role_label, delivery_label, see_other, signed_in, status_label, Params, Posted,
};
use crate::session::{Session, SignedIn};
use crate::Console;

/// The outcomes a row may offer, in the order of the buttons.
const OUTCOMES: [(Outcome, &str); 3] = [
    (Outcome::Arrived, "Arrived"),
    (Outcome::Seen, "Seen"),
    (Outcome::DidNotAttend, "Did not attend"),
];

/// The day list asked for: a site and a local date (today when absent).
struct DayQuery {
    site: String,
    date: Option<NaiveDate>,
    focus: String,
}

impl DayQuery {
    fn from_params(p: &Params) -> Self {
        Self {
            site: p.get("site").to_owned(),
            date: NaiveDate::parse_from_str(p.get("date"), "%Y-%m-%d").ok(),
            focus: p.get("focus").to_owned(),
        }
    }

    fn link(&self, date: NaiveDate, focus: Option<&str>) -> String {
        let mut pairs = vec![
            ("site", self.site.clone()),
            ("date", date.format("%Y-%m-%d").to_string()),
        ];
        if let Some(focus) = focus {
            pairs.push(("focus", focus.to_owned()));
        }
        format!(
            "/hub/day?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// `GET /hub/day?site=..&date=..`: the day list.
pub(crate) async fn day(c: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    let (s, user) = match signed_in(&c, &req).await {
        Ok(found) => found,
        Err(redirect) => return redirect,
    };
    let query = DayQuery::from_params(&Params::parse(req.query_string()));
    day_page(&c, &s, &user, query, None, StatusCode::OK).await
}

async fn day_page(
    c: &Console,
    s: &Session,
    user: &SignedIn,
    mut query: DayQuery,
    earlier: Option<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let who = user.caller();
    let now = c.hubbook.now();
    let today = user.local().date_of(now);
    let date = query.date.unwrap_or(today);
    let sites: Vec<_> = c
        .hubbook
        .search_choices(&who)
        .await
        .map(|ch| ch.sites)
        .unwrap_or_default()
        .into_iter()
        .filter(|site| {
            user.role == Role::ClusterManager || site.kind == hubbook_core::SiteKind::Hub
        })
        .collect();
    if query.site.is_empty() {
        query.site = (sites
            .first()
            .map(|site| site.id.clone())
            .unwrap_or_default())
        .into();
    }
    let site_name = sites
        .iter()
        .find(|site| site.id == query.site)
        .map(|site| site.name.clone());
    let title = format!(
        "Day list: {}, {}",
        site_name.as_deref().unwrap_or("no hub"),
        date.format("%A %-d %B %Y")
    );
    let mut ctx = base(Some((s, user)), &title);
    let mut errors: Vec<FieldError> = earlier.into_iter().collect();
    let mut status = status;
    let mut rows = Vec::new();
    if !query.site.is_empty() {
        match c.hubbook.day_list(&who, query.site.clone(), date).await {
            Ok(list) => {
                for a in list {
                    let actions: Vec<Value> = OUTCOMES
                        .iter()
                        .filter(|(o, _)| {
                            outcome_allowed(
                                a.status,
                                *o,
                                a.starts_at,
                                now.naive_utc(),
                                user.role == Role::ClusterManager,
                            )
                            .is_ok()
                        })
                        .map(|(o, label)| json!({"value": o.as_str(), "label": label}))
                        .collect();
                    rows.push(json!({
                        "id": a.id,
                        "time": user.local().clock_time(a.starts_at),
                        "ends": user.local().clock_time(a.ends_at),
                        "patient": a.patient_name,
                        "nhs_number": a.nhs_number.as_deref().and_then(|n| NhsNumber::parse(n).ok()).map(|n| n.spaced()),
                        "clinical_role": clinical_role_label(a.clinical_role.as_str()),
                        "delivery": delivery_label(a.delivery.as_str()),
                        "status": status_label(a.status.as_str()),
                        "status_code": a.status,
                        "version": a.version,
                        "actions": actions,
                        "focus": a.id == query.focus,
                    }));
                }
            }
            Err(e) => {
                let r = refusal(e);
                if errors.is_empty() {
                    status = r.status;
                }
                errors.push(r.error);
            }
        }
    }
    ctx.insert("rows".into(), json!(rows));
    ctx.insert(
        "sites".into(),
        json!(sites
            .iter()
            .map(|site| json!({"value": site.id, "label": site.name}))
            .collect::<Vec<_>>()),
    );
    ctx.insert("site".into(), json!(query.site));
    ctx.insert("site_name".into(), json!(site_name));
    ctx.insert("date".into(), json!(date.format("%Y-%m-%d").to_string()));
    ctx.insert(
        "long_date".into(),
        json!(date.format("%A %-d %B %Y").to_string()),
    );
    ctx.insert(
        "previous".into(),
        json!(query.link(date.pred_opt().unwrap_or(date), None)),
    );
    ctx.insert(
        "next".into(),
        json!(query.link(date.succ_opt().unwrap_or(date), None)),
    );
    ctx.insert("errors".into(), json!(errors));
    c.templates.page(status, "day.html", Value::Object(ctx))
}

/// `POST /hub/appointments/{id}/outcome`: records arrived, seen or did-not-attend, then shows
/// the day list again with the focus back on that row.
pub(crate) async fn record_outcome(
    c: web::Data<Console>,
    id: web::Path<String>,
    posted: Posted,
) -> HttpResponse {
    let Posted {
        form,
        session: s,
        user,
    } = posted;
    let query = DayQuery::from_params(&form);
    let outcome = match form.get("outcome") {
        "arrived" => Outcome::Arrived,
        "seen" => Outcome::Seen,
        "did_not_attend" => Outcome::DidNotAttend,
        _ => {
            let error = FieldError::page("Choose arrived, seen or did not attend.");
            return day_page(
                &c,
                &s,
                &user,
                query,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let expected = form.get("version").parse::<i64>().ok();
    let id = id.into_inner();
    match c
        .hubbook
        .record_outcome(&user.caller(), id.clone(), expected, outcome)
        .await
    {
        Ok(_) => {
            let date = query
                .date
                .unwrap_or_else(|| user.local().date_of(c.hubbook.now()));
            see_other(&query.link(date, Some(&id)))
        }
        Err(e) => {
            let r = refusal(e);
            let status = r.status;
            let error = r.unless_stale("Someone else updated this appointment a moment ago. The list below shows it as it is now.");
            day_page(&c, &s, &user, query, Some(error), status).await
        }
    }
}

//! The cluster manager's "Today": this week's utilisation, the NHS 111 share used and unused,
//! the DNA rate, Enhanced Access minutes against the contract's 60 per 1,000 registered
//! patients a week, and the slots still free in the next 48 hours by site and service. Each
//! figure links to the report it comes from, with the report's period set to the figure's.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use hubbook_service::dashboard::{Dashboard, FREE_AHEAD_HOURS};
use serde_json::{json, Value};

use super::reports::percent;
use super::Manager;
use crate::errors::refusal;
use crate::Console;

/// A report's page over a period, grouped as given.
fn report_link(name: &str, from: NaiveDate, to: NaiveDate, group_by: &str) -> String {
    format!("/manage/reports/{name}?from={from}&to={to}&group_by={group_by}")
}

/// `GET /manage`: the dashboard.
pub(crate) async fn page(c: web::Data<Console>, m: Manager) -> HttpResponse {
    let mut ctx = m.base("Today");
    match c.hubbook.dashboard(&m.user.caller(), m.code.clone()).await {
        Ok(d) => {
            ctx.insert("today".into(), view(&d, &m));
            c.templates
                .page(StatusCode::OK, "manage_today.html", Value::Object(ctx))
        }
        Err(e) => {
            let r = refusal(e);
            ctx.insert("errors".into(), json!([r.error]));
            c.templates
                .page(r.status, "manage_today.html", Value::Object(ctx))
        }
    }
}

/// The dashboard's figures in words, each with the link to its report.
fn view(d: &Dashboard, m: &Manager) -> Value {
    let local = m.user.local();
    let (from, to) = (d.week_from, d.week_to);
    let u = &d.utilisation;
    let t = &d.triage;
    let ea = &d.enhanced_access;
    let free: Vec<Value> = d
        .free
        .iter()
        .map(|f| json!({"site": f.site, "service": f.service, "free": f.free}))
        .collect();
    // The free slots' stretch runs over today and the next two local dates.
    let free_last = local.date_of(d.free_to);
    json!({
        "week": format!("{} to {}", from.format("%A %-d %B"), to.format("%A %-d %B %Y")),
        "utilisation": {
            "rate": percent(u.utilisation),
            "offered": u.offered,
            "booked": u.booked,
            "unused": u.unused,
            "still_free": u.still_free,
            "href": report_link("utilisation", from, to, "day"),
        },
        "triage": {
            "offered": t.offered,
            "used": t.booked,
            "unused": t.unused,
            "still_free": t.still_free,
            "rate": percent(t.utilisation),
            "href": report_link("utilisation", from, to, "channel"),
        },
        "dna": {
            "rate": percent(d.dna.dna_rate),
            "dna": d.dna.dna,
            "with_outcome": d.dna.attended + d.dna.dna,
            "no_outcome": d.dna.no_outcome,
            "href": report_link("dna", from, to, "practice"),
        },
        "enhanced_access": {
            "per_1000": ea.minutes_per_1000.map(|m| format!("{m:.1}")),
            "required_per_1000": format!("{:.0}", hubbook_core::report::ENHANCED_ACCESS_MINUTES_PER_1000),
            "offered": ea.offered_minutes,
            "required": format!("{:.0}", ea.required_minutes),
            "list_size": ea.list_size,
            "meets": ea.meets_requirement,
            "href": report_link("enhanced-access", from, to, "week"),
        },
        "free": {
            "rows": free,
            "total": d.free.iter().map(|f| f.free).sum::<i64>(),
            "hours": FREE_AHEAD_HOURS,
            "until": local.when(d.free_to.naive_utc()),
            "href": report_link("utilisation", d.today, free_last, "site"),
        },
    })
}

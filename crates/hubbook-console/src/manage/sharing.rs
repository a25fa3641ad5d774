//! How the cluster shares its capacity, for its manager: the 111 reservation, the release lead
//! times and apportionment, with the effect shown before saving (each practice's fair share of
//! what publishing the cluster's rotas over the next four weeks would give, as the core computes
//! it) and saved against the version the page was drawn with.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use hubbook_core::allocation::TriageRule;
use hubbook_core::sharing::SharingRules;
use hubbook_service::sharing::{RulesVersion, SharingPreview};
use hubbook_service::ServiceError;
use hubbook_store::models::Service;
use serde_json::{json, Map, Value};

use super::{Manager, ManagerPost};
use crate::errors::{refusal, FieldError};
use crate::pages::{see_other, Params};
use crate::Console;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/manage/sharing", web::get().to(page))
        .route("/manage/sharing", web::post().to(post));
}

/// The form's fields for a set of rules.
fn fields(rules: &SharingRules) -> Map<String, Value> {
    let mut f = Map::new();
    let (kind, slots, percent) = match rules.triage {
        TriageRule::GpContract => ("gp_contract", String::new(), String::new()),
        TriageRule::PerDay { slots } => ("per_day", slots.to_string(), String::new()),
        TriageRule::PercentOfSession { percent } => {
            ("percent_of_session", String::new(), percent.to_string())
        }
    };
    f.insert("triage_kind".into(), json!(kind));
    f.insert("triage_slots".into(), json!(slots));
    f.insert("triage_percent".into(), json!(percent));
    f.insert("triage_services".into(), json!(rules.triage_services));
    f.insert(
        "practice_release_hours".into(),
        json!(rules.practice_release_hours.to_string()),
    );
    f.insert(
        "triage_release_hours".into(),
        json!(rules.triage_release_hours.to_string()),
    );
    f.insert(
        "triage_may_book_open".into(),
        json!(rules.triage_may_book_open),
    );
    f.insert("apportionment".into(), json!(rules.apportionment));
    f
}

/// The rules a posted form describes, or the errors of the fields that do not parse.
fn rules_of(form: &Params, services: &[String]) -> Result<SharingRules, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut number = |field: &str, label: &str| match form.get(field).trim().parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::at(
                field,
                format!("Enter {label} as a whole number"),
            ));
            None
        }
    };
    let triage = match form.get("triage_kind") {
        "per_day" => number("triage_slots", "the slots a day for 111")
            .map(|slots| TriageRule::PerDay { slots }),
        "percent_of_session" => number("triage_percent", "the percentage of each session")
            .map(|percent| TriageRule::PercentOfSession { percent }),
        _ => Some(TriageRule::GpContract),
    };
    let practice_release_hours = number(
        "practice_release_hours",
        "the hours before a session that practice slots open to all",
    );
    let triage_release_hours = number(
        "triage_release_hours",
        "the hours before a session that 111 slots open to all",
    );
    match (triage, practice_release_hours, triage_release_hours) {
        (Some(triage), Some(practice_release_hours), Some(triage_release_hours))
            if errors.is_empty() =>
        {
            Ok(SharingRules {
                triage,
                triage_services: services
                    .iter()
                    .filter(|id| form.get(&format!("svc_{id}")) == "on")
                    .cloned()
                    .collect(),
                practice_release_hours,
                triage_release_hours,
                triage_may_book_open: form.get("triage_may_book_open") == "on",
                apportionment: form.get("apportionment") != "no",
            })
        }
        _ => Err(errors),
    }
}

/// The form's fields as posted (so a refused form keeps what was typed).
fn posted_fields(form: &Params, services: &[String]) -> Map<String, Value> {
    let mut f = Map::new();
    for name in [
        "triage_kind",
        "triage_slots",
        "triage_percent",
        "practice_release_hours",
        "triage_release_hours",
    ] {
        f.insert(name.into(), json!(form.get(name).trim()));
    }
    let chosen: Vec<&String> = services
        .iter()
        .filter(|id| form.get(&format!("svc_{id}")) == "on")
        .collect();
    f.insert("triage_services".into(), json!(chosen));
    f.insert(
        "triage_may_book_open".into(),
        json!(form.get("triage_may_book_open") == "on"),
    );
    f.insert(
        "apportionment".into(),
        json!(form.get("apportionment") != "no"),
    );
    f
}

/// What the sharing page is drawn with: the rules in force, the form's fields, a preview, the
/// errors and whether a save just landed.
#[derive(Default)]
struct Drawn {
    current: Option<RulesVersion>,
    form: Map<String, Value>,
    preview: Option<SharingPreview>,
    errors: Vec<FieldError>,
    saved: bool,
    status: StatusCode,
}

impl Drawn {
    /// A page that only says why the rules could not be read.
    fn refused(e: ServiceError) -> Self {
        let r = refusal(e);
        Self {
            errors: vec![r.error],
            status: r.status,
            ..Self::default()
        }
    }
}

/// The cluster's services, which the 111 share may be narrowed to (read once a request).
async fn services_of(c: &Console, m: &Manager) -> Vec<Service> {
    c.hubbook
        .search_choices(&m.user.caller())
        .await
        .map(|ch| ch.services)
        .unwrap_or_default()
}

async fn page(c: web::Data<Console>, m: Manager, req: HttpRequest) -> HttpResponse {
    let services = services_of(&c, &m).await;
    let saved = Params::parse(req.query_string()).get("saved") == "1";
    let current = match c
        .hubbook
        .sharing_rules(&m.user.caller(), m.code.clone())
        .await
    {
        Ok(current) => current,
        Err(e) => return render(&c, &m, &services, Drawn::refused(e)),
    };
    let (preview, errors) = match c
        .hubbook
        .preview_sharing(&m.user.caller(), m.code.clone(), current.rules.clone())
        .await
    {
        Ok(p) => (Some(p), Vec::new()),
        Err(e) => (None, vec![refusal(e).error]),
    };
    let drawn = Drawn {
        form: fields(&current.rules),
        current: Some(current),
        preview,
        errors,
        saved,
        status: StatusCode::OK,
    };
    render(&c, &m, &services, drawn)
}

async fn post(c: web::Data<Console>, post: ManagerPost) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let who = m.user.caller();
    let services = services_of(&c, &m).await;
    let ids: Vec<String> = services.iter().map(|s| s.id.clone()).collect();
    let current = match c.hubbook.sharing_rules(&who, m.code.clone()).await {
        Ok(current) => current,
        Err(e) => return render(&c, &m, &services, Drawn::refused(e)),
    };
    let version = current.version;
    let mut drawn = Drawn {
        current: Some(current),
        form: posted_fields(&form, &ids),
        ..Drawn::default()
    };
    let rules = match rules_of(&form, &ids) {
        Ok(rules) => rules,
        Err(errors) => {
            drawn.errors = errors;
            drawn.status = StatusCode::UNPROCESSABLE_ENTITY;
            return render(&c, &m, &services, drawn);
        }
    };
    let refused = if form.get("intent") != "save" {
        match c.hubbook.preview_sharing(&who, m.code.clone(), rules).await {
            Ok(preview) => {
                drawn.preview = Some(preview);
                return render(&c, &m, &services, drawn);
            }
            Err(e) => e,
        }
    } else {
        let expected = form.get("version").parse::<i64>().ok();
        match c
            .hubbook
            .set_sharing_rules(&who, m.code.clone(), expected, rules)
            .await
        {
            Ok(_) => return see_other("/manage/sharing?saved=1"),
            Err(e) if e.is_stale() => {
                drawn.errors = vec![FieldError::page(format!(
                    "Someone else changed the sharing rules while you were editing them, so yours were not saved. The rules now in force (version {version}) are shown under \u{201c}In force now\u{201d}; check them, then save yours again."
                ))];
                drawn.status = StatusCode::PRECONDITION_FAILED;
                return render(&c, &m, &services, drawn);
            }
            Err(e) => e,
        }
    };
    let r = refusal(refused);
    drawn.errors = vec![r.error];
    drawn.status = r.status;
    render(&c, &m, &services, drawn)
}

fn render(c: &Console, m: &Manager, services: &[Service], drawn: Drawn) -> HttpResponse {
    let Drawn {
        current,
        form,
        preview,
        errors,
        saved,
        status,
    } = drawn;
    let current = current.as_ref();
    let mut ctx = m.base("Sharing rules");
    let chosen: Vec<String> = form
        .get("triage_services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ctx.insert(
        "services".into(),
        json!(services
            .iter()
            .map(|s| json!({"id": s.id, "name": s.name, "checked": chosen.contains(&s.id)}))
            .collect::<Vec<_>>()),
    );
    if let Some(current) = current {
        let local = m.user.local();
        ctx.insert(
            "current".into(),
            json!({
                "version": current.version,
                "summary": summary(&current.rules),
                "set_at": current.set_at.map(|t| local.when(t)),
            }),
        );
    }
    if let Some(p) = preview {
        ctx.insert(
            "preview".into(),
            json!({
                "from": p.from.format("%-d %B %Y").to_string(),
                "to": p.to.format("%-d %B %Y").to_string(),
                "slots": p.slots,
                "triage": p.triage,
                "open": p.open,
                "apportioned": p.apportioned,
                "practices": p.practices.iter().map(|l| json!({
                    "ods_code": l.ods_code,
                    "list_size": l.list_size,
                    "exact_quota": format!("{:.2}", l.exact_quota),
                    "reserved": l.reserved,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    ctx.insert("form".into(), Value::Object(form));
    ctx.insert("saved".into(), json!(saved));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "manage_sharing.html", Value::Object(ctx))
}

/// The rules in words, as the page's "In force now" says them.
fn summary(rules: &SharingRules) -> String {
    let triage = match rules.triage {
        TriageRule::GpContract => "the GP contract's share of slots a day for 111".to_owned(),
        TriageRule::PerDay { slots } => format!("{slots} slots a day for 111"),
        TriageRule::PercentOfSession { percent } => {
            format!("{percent}% of each session for 111")
        }
    };
    format!(
        "{triage}; practice slots open to all {} hours before, 111 slots {} hours before; {}; {}",
        rules.practice_release_hours,
        rules.triage_release_hours,
        if rules.apportionment {
            "the rest shared out to practices by list size"
        } else {
            "the rest open to every practice"
        },
        if rules.triage_may_book_open {
            "111 may also book open slots"
        } else {
            "111 books only its own slots"
        }
    )
}

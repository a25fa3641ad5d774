//! The practice's rebooking worklist: appointments a rota change or a cancelled session left in a
//! slot that no longer runs as booked. Each row offers finding a new slot (the move search), the
//! patient keeping the time, or cancelling, through the same use cases as the JSON API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use hubbook_core::NhsNumber;
use hubbook_service::rebooking::Resolution;
use serde_json::{json, Value};

use crate::errors::{refusal, FieldError};
use crate::pages::{base, see_other, signed_in, urlencode, Params, Posted};
use crate::session::{Session, SignedIn};
use crate::Console;

/// The most rows the page shows, oldest need first (the API pages through the rest).
const ROWS: i64 = 200;

/// `GET /rebooking`: the worklist.
pub(crate) async fn list(c: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    let (s, user) = match signed_in(&c, &req).await {
        Ok(found) => found,
        Err(redirect) => return redirect,
    };
    let done = Params::parse(req.query_string()).get("done").to_owned();
    page(
        &c,
        &s,
        &user,
        Some(done).filter(|d| !d.is_empty()),
        None,
        StatusCode::OK,
    )
    .await
}

/// The caller's cluster code, which the worklist's use cases are addressed by.
fn cluster_code(user: &SignedIn) -> Result<String, FieldError> {
    user.cluster_code
        .clone()
        .ok_or_else(|| FieldError::page("You are not in a cluster, so there is no worklist."))
}

async fn page(
    c: &Console,
    s: &Session,
    user: &SignedIn,
    done: Option<String>,
    earlier: Option<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = base(Some((s, user)), "Appointments to rebook");
    let mut errors: Vec<FieldError> = earlier.into_iter().collect();
    let mut rows = Vec::new();
    match cluster_code(user) {
        Ok(code) => match c
            .hubbook
            .rebooking_list(&user.caller(), code, None, ROWS)
            .await
        {
            Ok(list) => {
                for entry in list.items {
                    let a = &entry.appointment;
                    let nhs = a.nhs_number.as_deref().unwrap_or_default();
                    rows.push(json!({
                        "id": a.id,
                        "version": a.version,
                        "patient": a.patient_name,
                        "nhs_number": NhsNumber::parse(nhs).ok().map(|n| n.spaced()),
                        "when": user.local().when(a.starts_at),
                        "reason": entry.need.reason,
                        "flagged": user.local().when(entry.need.flagged_at),
                        "phone": a.patient_phone,
                        "move_link": format!(
                            "/?{}&move={}",
                            serde_urlencoded::to_string([("nhs", nhs)]).unwrap_or_default(),
                            urlencode(&a.id)
                        ),
                    }));
                }
            }
            Err(e) => errors.push(refusal(e).error),
        },
        Err(error) => errors.push(error),
    }
    ctx.insert("rows".into(), json!(rows));
    ctx.insert("done".into(), json!(done));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "rebooking.html", Value::Object(ctx))
}

/// `POST /rebooking/bulk`: the ticked appointments (`pick_<id>` = the version the page showed)
/// keep their times or are cancelled, each with the note; the page then says how many were
/// done and which were not, and why.
pub(crate) async fn resolve_ticked(c: web::Data<Console>, posted: Posted) -> HttpResponse {
    let Posted {
        form,
        session: s,
        user,
    } = posted;
    let resolution = match form.get("action") {
        "keep" => Resolution::Kept,
        "cancel" => Resolution::Cancelled,
        _ => return see_other("/rebooking"),
    };
    let mut items: Vec<(String, Option<i64>)> = form
        .with_prefix("pick_")
        .map(|(id, version)| (id.to_owned(), version.parse::<i64>().ok()))
        .collect();
    items.sort();
    if items.is_empty() {
        let error = FieldError::page("Tick at least one patient first, then choose what to do.");
        return page(
            &c,
            &s,
            &user,
            None,
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let code = match cluster_code(&user) {
        Ok(code) => code,
        Err(error) => return page(&c, &s, &user, None, Some(error), StatusCode::FORBIDDEN).await,
    };
    let note = Some(form.get("note").trim().to_owned()).filter(|n| !n.is_empty());
    let answers = c
        .hubbook
        .resolve_rebookings(&user.caller(), code, items, resolution, note)
        .await;
    let failed: Vec<String> = answers
        .into_iter()
        .filter_map(|(_, answer)| answer.err())
        .map(|e| refusal(e).unless_stale("one had been changed by someone else a moment ago"))
        .map(|e| e.message)
        .collect();
    if failed.is_empty() {
        return see_other(&format!("/rebooking?done={}", form.get("action")));
    }
    let error = FieldError::page(format!(
        "{} of the ticked appointments could not be changed, so they are still listed below: {}.",
        failed.len(),
        failed.join("; ")
    ));
    page(&c, &s, &user, None, Some(error), StatusCode::CONFLICT).await
}

/// `POST /rebooking/{id}/keep` or `/cancel`: the patient keeps the time, or the appointment is
/// cancelled; either way it leaves the worklist.
pub(crate) async fn resolve(
    c: web::Data<Console>,
    path: web::Path<(String, String)>,
    posted: Posted,
) -> HttpResponse {
    let Posted {
        form,
        session: s,
        user,
    } = posted;
    let (id, action) = path.into_inner();
    let resolution = match action.as_str() {
        "keep" => Resolution::Kept,
        "cancel" => Resolution::Cancelled,
        _ => return see_other("/rebooking"),
    };
    let expected = form.get("version").parse::<i64>().ok();
    let code = match cluster_code(&user) {
        Ok(code) => code,
        Err(error) => {
            return page(&c, &s, &user, None, Some(error), StatusCode::FORBIDDEN).await;
        }
    };
    match c
        .hubbook
        .resolve_rebooking(&user.caller(), code, id, expected, resolution, None)
        .await
    {
        Ok(_) => see_other(&format!("/rebooking?done={action}")),
        Err(e) => {
            let r = refusal(e);
            let status = r.status;
            let error = r.unless_stale("Someone else changed this appointment a moment ago. Check the list below, then try again.");
            page(&c, &s, &user, None, Some(error), status).await
        }
    }
}

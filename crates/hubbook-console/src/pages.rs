//! The console's pages. Each handler reads its query or form, builds the use case's command,
//! calls one use case of `hubbook-service` and renders a template; refusals are rendered by
//! [`crate::errors::refusal`]. Every form post is checked for its origin and CSRF token first.

// The checks answer with the page to send instead (a redirect or a refusal) as their error;
// it is sent at once, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Duration, NaiveDate};
use hubbook_core::access::{permit, Action};
use hubbook_core::appointment::AppointmentStatus;
use hubbook_core::patient::{Patient, Requester};
use hubbook_core::sharing::Visibility;
use hubbook_core::{validate_optional_name, NhsNumber, Role};
use hubbook_service::appointments::AppointmentQuery;
use hubbook_service::booking::BookAppointment;
use hubbook_service::console::{HeldSlot, SearchChoices};
use hubbook_service::sign_in::Credentials;
use hubbook_service::slots::{FindSlots, Offer};
use hubbook_service::ServiceError;
use hubbook_store::models::Appointment;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::errors::{refusal, FieldError, Refusal};
use crate::session::{self, Session, SignedIn, CSRF_FIELD};
use crate::times::Local;
use crate::Console;

/// How many slots the find page lists.
const SLOTS_SHOWN: i64 = 10;

/// How many free slots the practice may not book the not-offered page explains.
const NOT_OFFERED_SHOWN: i64 = 20;

/// How far past the search window the find page looks for the next free slot.
const NEXT_FREE_DAYS: i64 = 56;

pub(crate) fn routes(cfg: &mut web::ServiceConfig, console: web::Data<Console>) {
    cfg.app_data(console)
        .route("/", web::get().to(find))
        .route("/sign-in", web::get().to(sign_in_page))
        .route("/sign-in", web::post().to(sign_in))
        .route("/sign-out", web::post().to(sign_out))
        .route("/sign-out", web::get().to(to_home))
        .route("/session/extend", web::post().to(stay_signed_in))
        .route("/session/extend", web::get().to(to_home))
        .route("/not-offered", web::get().to(not_offered))
        .route("/hold", web::post().to(hold))
        .route("/hold", web::get().to(to_home))
        .route("/holds/{id}", web::get().to(hold_page))
        .route("/holds/{id}/book", web::post().to(book))
        .route("/holds/{id}/keep", web::post().to(keep_holding))
        .route("/holds/{id}/release", web::post().to(release))
        .route("/holds/{id}/{action}", web::get().to(to_hold))
        .route("/appointments/{id}", web::get().to(appointment_page))
        .route("/appointments/{id}/cancel", web::post().to(cancel))
        .route("/appointments/{id}/move", web::post().to(move_appointment))
        .route("/appointments/{id}/notes", web::post().to(amend_notes))
        .route("/appointments/{id}/{action}", web::get().to(to_appointment))
        .route("/hub/day", web::get().to(crate::hub::day))
        .route("/rebooking", web::get().to(crate::rebooking::list))
        .route(
            "/rebooking/bulk",
            web::post().to(crate::rebooking::resolve_ticked),
        )
        .route(
            "/rebooking/{id}/{action}",
            web::post().to(crate::rebooking::resolve),
        )
        .route(
            "/hub/appointments/{id}/outcome",
            web::post().to(crate::hub::record_outcome),
        )
        .configure(crate::manage::routes);
}

/// A query string or form body as a map (the first of repeated names); malformed input reads
/// as no parameters, never as an error page, and control characters a browser never sends
/// (`hubbook_core::control`) are dropped, so none reaches the database from a form.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn parse(text: &str) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).unwrap_or_default();
        let mut map = HashMap::new();
        for (k, v) in pairs {
            use hubbook_core::control::without;
            map.entry(without(&k)).or_insert_with(|| without(&v));
        }
        Self(map)
    }

    /// The trimmed value, or "" when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", |v| v.trim())
    }

    /// Every `(name, trimmed value)` whose name starts with `prefix`, the prefix cut off
    /// (a form's ticked rows, `pick_<id>`).
    pub(crate) fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.trim())))
    }
}

pub(crate) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

async fn to_home() -> HttpResponse {
    see_other("/")
}

async fn to_appointment(path: web::Path<(String, String)>) -> HttpResponse {
    let id = urlencode(&path.0);
    see_other(&format!("/appointments/{id}"))
}

async fn to_hold(path: web::Path<(String, String)>) -> HttpResponse {
    let id = urlencode(&path.0);
    see_other(&format!("/holds/{id}"))
}

/// Tells htmx the address of the page that answers a form post (`HX-Push-Url`), so that the
/// address bar, a reload and the history name that page rather than the form's action.
pub(crate) fn shown_at(mut page: HttpResponse, url: &str) -> HttpResponse {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(url) {
        page.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("hx-push-url"),
            value,
        );
    }
    page
}

pub(crate) fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// The signed-in session of a request, or the redirect to the sign-in page.
pub(crate) async fn signed_in(
    c: &Console,
    req: &HttpRequest,
) -> Result<(Session, SignedIn), HttpResponse> {
    let s = session::read(req, &c.key, c.hubbook.now()).ok_or_else(|| see_other("/sign-in"))?;
    match s.user.clone() {
        Some(user) if console_role(user.role) => still_live(c, req, s, user).await,
        _ => Err(see_other("/sign-in")),
    }
}

/// The session, while its user's account is still active: a user disabled since signing in is
/// signed out (the cookie removed) at their next page.
async fn still_live(
    c: &Console,
    req: &HttpRequest,
    s: Session,
    user: SignedIn,
) -> Result<(Session, SignedIn), HttpResponse> {
    match c.hubbook.still_signed_in(&user.caller()).await {
        Ok(true) => Ok((s, user)),
        Ok(false) => {
            let mut page = see_other("/sign-in");
            add_cookie(&mut page, session::removal(req));
            Err(page)
        }
        Err(e) => {
            let r = refusal(e);
            let mut ctx = base(None, "hubbook could not check your session");
            ctx.insert("errors".into(), json!([r.error]));
            Err(c
                .templates
                .page(r.status, "message.html", Value::Object(ctx)))
        }
    }
}

/// Who signs in to the console: the reception desk, hub staff, cluster managers and
/// administrators (who add clusters and their managers); triage services use the API.
fn console_role(role: Role) -> bool {
    matches!(
        role,
        Role::Receptionist | Role::HubStaff | Role::ClusterManager | Role::Admin
    )
}

/// A form posted by a signed-in member of staff, read and checked before the handler runs (see
/// [`checked_post`]); a refused post is answered with the page saying what to do.
pub(crate) struct Posted {
    /// The form's fields.
    pub form: Params,
    /// The session it came in.
    pub session: Session,
    /// Who is signed in.
    pub user: SignedIn,
}

impl actix_web::FromRequest for Posted {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = body.await?;
            let console = req
                .app_data::<web::Data<Console>>()
                .cloned()
                .ok_or_else(|| actix_web::error::ErrorInternalServerError("console missing"))?;
            let form = Params::parse(&String::from_utf8_lossy(&body));
            let checked = match checked_post(&console, &req, &form) {
                Ok((session, user)) => still_live(&console, &req, session, user).await,
                Err(page) => Err(page),
            };
            match checked {
                Ok((session, user)) => Ok(Posted {
                    form,
                    session,
                    user,
                }),
                Err(page) => {
                    Err(actix_web::error::InternalError::from_response("refused", page).into())
                }
            }
        })
    }
}

/// A form post's checks, before anything else: its origin is this site, it carries the session's
/// CSRF token, and someone is signed in. Refused posts get a page saying what to do.
pub(crate) fn checked_post(
    c: &Console,
    req: &HttpRequest,
    form: &Params,
) -> Result<(Session, SignedIn), HttpResponse> {
    if !session::same_origin(req) {
        return Err(refused_post(c));
    }
    let Some(s) = session::read(req, &c.key, c.hubbook.now()) else {
        return Err(see_other("/sign-in"));
    };
    if !s.csrf_matches(form.get(CSRF_FIELD)) {
        return Err(refused_post(c));
    }
    match s.user.clone() {
        Some(user) if console_role(user.role) => Ok((s, user)),
        _ => Err(see_other("/sign-in")),
    }
}

fn refused_post(c: &Console) -> HttpResponse {
    let mut ctx = base(None, "This form could not be sent");
    ctx.insert(
        "errors".into(),
        json!([FieldError::page("This form was out of date or did not come from hubbook's own pages, so nothing was changed. Go back to the search, reload the page and try again.")]),
    );
    c.templates
        .page(StatusCode::FORBIDDEN, "message.html", Value::Object(ctx))
}

/// The context every page has: its title, who is signed in and the session's CSRF token.
pub(crate) fn base(session: Option<(&Session, &SignedIn)>, title: &str) -> Map<String, Value> {
    let mut ctx = Map::new();
    ctx.insert("title".into(), json!(title));
    ctx.insert("errors".into(), json!([]));
    if let Some((s, user)) = session {
        ctx.insert("csrf".into(), json!(s.masked_csrf()));
        let ends = s.ends_at();
        ctx.insert(
            "session".into(),
            json!({"until": user.local().clock_time(ends.naive_utc()), "ends_at": ends.to_rfc3339()}),
        );
        ctx.insert(
            "user".into(),
            json!({
                "username": user.username,
                "role": role_label(user.role),
                "day_lists": matches!(user.role, Role::HubStaff | Role::ClusterManager),
                "books": user.role == Role::Receptionist,
                "rebooks": matches!(user.role, Role::Receptionist | Role::ClusterManager),
                "manages": user.role == Role::ClusterManager,
                "administers": user.role == Role::Admin,
            }),
        );
    }
    ctx
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Receptionist => "Receptionist",
        Role::HubStaff => "Hub staff",
        Role::ClusterManager => "Cluster manager",
        Role::Admin => "Administrator",
        Role::Triage => "Triage service",
    }
}

// ---------------------------------------------------------------------------------------------
// Signing in and out.

async fn sign_in_page(c: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    let now = c.hubbook.now();
    let existing = session::read(&req, &c.key, now);
    if existing.as_ref().and_then(|s| s.user.as_ref()).is_some() {
        return see_other("/");
    }
    let s = existing.unwrap_or_else(|| Session::anonymous(now));
    let signed_out = Params::parse(req.query_string()).get("signed_out") == "1";
    let mut ctx = base(None, "Sign in");
    ctx.insert("csrf".into(), json!(s.masked_csrf()));
    ctx.insert("signed_out".into(), json!(signed_out));
    let mut page = c
        .templates
        .page(StatusCode::OK, "sign_in.html", Value::Object(ctx));
    add_cookie(&mut page, session::cookie(&req, &c.key, &s));
    page
}

pub(crate) fn add_cookie(page: &mut HttpResponse, cookie: actix_web::cookie::Cookie<'static>) {
    if let Err(e) = page.add_cookie(&cookie) {
        tracing::error!(error = %e, "setting the console session cookie failed");
    }
}

async fn sign_in(c: web::Data<Console>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form = Params::parse(&String::from_utf8_lossy(&body));
    let now = c.hubbook.now();
    if !session::same_origin(&req) {
        return refused_post(&c);
    }
    let username = form.get("username").to_owned();
    let render = |status: StatusCode, errors: Vec<FieldError>| {
        let s = Session::anonymous(now);
        let mut ctx = base(None, "Sign in");
        ctx.insert("csrf".into(), json!(s.masked_csrf()));
        ctx.insert("username".into(), json!(username));
        ctx.insert("errors".into(), json!(errors));
        let mut page = c.templates.page(status, "sign_in.html", Value::Object(ctx));
        add_cookie(&mut page, session::cookie(&req, &c.key, &s));
        page
    };
    let fresh = session::read(&req, &c.key, now);
    if !fresh.is_some_and(|s| s.csrf_matches(form.get(CSRF_FIELD))) {
        return render(
            StatusCode::FORBIDDEN,
            vec![FieldError::page(
                "The sign-in page had expired, so you were not signed in. Enter your username and password again.",
            )],
        );
    }
    let mut errors = Vec::new();
    if username.is_empty() {
        errors.push(FieldError::at("username", "Enter your username"));
    }
    let password = form.0.get("password").cloned().unwrap_or_default();
    if password.is_empty() {
        errors.push(FieldError::at("password", "Enter your password"));
    }
    if !errors.is_empty() {
        return render(StatusCode::UNPROCESSABLE_ENTITY, errors);
    }
    let caller = match c
        .hubbook
        .sign_in(
            Credentials::Password {
                username: username.clone(),
                password,
            },
            // The TCP peer, as for the API's tokens: one throttle for both.
            req.peer_addr().map(|a| a.ip()),
        )
        .await
    {
        Ok(caller) => caller,
        Err(ServiceError::Throttled { seconds_left, .. }) => {
            let wait = if seconds_left < 60 {
                format!(
                    "{seconds_left} second{}",
                    if seconds_left == 1 { "" } else { "s" }
                )
            } else {
                let minutes = (seconds_left + 59) / 60;
                format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
            };
            let mut page = render(
                StatusCode::TOO_MANY_REQUESTS,
                vec![FieldError::at(
                    "username",
                    format!(
                        "There have been too many wrong passwords lately, so sign-in waits a while. Try again in {wait}, or ask your cluster manager to set a new password, which ends the wait at once.",
                    ),
                )],
            );
            if let Ok(value) =
                actix_web::http::header::HeaderValue::from_str(&seconds_left.to_string())
            {
                page.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
            return page;
        }
        Err(e) => {
            let r = refusal(e);
            return render(r.status, vec![r.error]);
        }
    };
    if !console_role(caller.role) {
        return render(
            StatusCode::FORBIDDEN,
            vec![FieldError::page(
                "The console is for receptionists, hub staff, cluster managers and administrators. Your account signs in to the JSON API instead: its guide is at /docs/.",
            )],
        );
    }
    let home = match c.hubbook.home_cluster(&caller).await {
        Ok(home) => home,
        Err(e) => {
            let r = refusal(e);
            return render(r.status, vec![r.error]);
        }
    };
    let user = SignedIn {
        sub: caller.id,
        kind: caller.kind,
        role: caller.role,
        scope: caller.scope,
        username,
        zone: home.zone,
        cluster_code: home.code,
    };
    let s = Session::signed_in(user, now);
    let mut page = see_other("/");
    add_cookie(&mut page, session::cookie(&req, &c.key, &s));
    page
}

async fn sign_out(req: HttpRequest, _posted: Posted) -> HttpResponse {
    let mut page = see_other("/sign-in?signed_out=1");
    add_cookie(&mut page, session::removal(&req));
    page
}

/// `POST /session/extend`: the session ends later, and the page the form was on comes back.
async fn stay_signed_in(c: web::Data<Console>, req: HttpRequest, posted: Posted) -> HttpResponse {
    let s = posted.session;
    let mut page = see_other(&same_site_path(&req).unwrap_or_else(|| "/".to_owned()));
    add_cookie(
        &mut page,
        session::cookie(&req, &c.key, &s.extended(c.hubbook.now())),
    );
    page
}

/// The path and query of the page a form was sent from, when the `Referer` is this site's.
fn same_site_path(req: &HttpRequest) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let info = req.connection_info();
    let rest = referer.split_once("://")?.1;
    let (host, path) = rest.split_at(rest.find('/')?);
    (host.eq_ignore_ascii_case(info.host()) && path.starts_with('/') && !path.starts_with("//"))
        .then(|| path.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Words and times as the pages show them.

/// Why a free slot is not offered to the desk's practice, in its words.
fn why_not_offered(why: &Visibility, local: Local) -> String {
    let until = |at: &Option<chrono::DateTime<chrono::Utc>>, kept: &str| match at {
        Some(at) => format!(
            "{kept} until {}, then open to every practice",
            local.when(at.naive_utc())
        ),
        None => format!("{kept}; it is not released to other practices"),
    };
    match why {
        Visibility::ReservedForAnotherPractice { until: at } => until(at, "kept for another practice"),
        Visibility::ReservedFor111Until { until: at } => until(at, "kept for NHS 111"),
        Visibility::NoDataSharingAgreement => "your practice has no data-sharing agreement in force, so it can book only at its own site; ask your cluster manager".into(),
        Visibility::ReservedForPractices | Visibility::OpenNotFor111 => "not offered to this service".into(),
        Visibility::Open | Visibility::ReservedForYou | Visibility::ReservedFor111 | Visibility::Released { .. } => "offered".into(),
    }
}

pub(crate) fn delivery_label(delivery: &str) -> String {
    match delivery {
        "face_to_face" => "Face to face".into(),
        "telephone" => "Telephone".into(),
        "video" => "Video".into(),
        other => other.replace('_', " "),
    }
}

pub(crate) fn clinical_role_label(role: &str) -> String {
    match role {
        "gp" => "GP".into(),
        "advanced_nurse_practitioner" => "Advanced nurse practitioner".into(),
        other => {
            let words = other.replace('_', " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

pub(crate) fn status_label(status: &str) -> String {
    match status {
        "did_not_attend" => "Did not attend".into(),
        other => clinical_role_label(other),
    }
}

#[derive(Serialize)]
struct OfferView {
    slot_id: String,
    when: String,
    date: String,
    time: String,
    site: String,
    address: String,
    service: String,
    clinical_role: String,
    delivery: String,
    distance: Option<String>,
}

impl OfferView {
    fn new(o: &Offer, local: Local) -> Self {
        Self {
            slot_id: o.slot.id.clone().into(),
            when: local.when(o.slot.starts_at),
            date: local.long_date(o.slot.starts_at),
            time: local.clock_time(o.slot.starts_at),
            site: o.site.name.clone(),
            address: format!("{}, {}", o.site.address, o.site.postcode),
            service: o.service.name.clone(),
            clinical_role: clinical_role_label(o.service.clinical_role.as_str()),
            delivery: delivery_label(o.slot.delivery.as_str()),
            distance: o.distance_km.map(|km| format!("{km:.1} km")),
        }
    }
}

#[derive(Serialize)]
struct AppointmentRow {
    id: String,
    when: String,
    site: String,
    clinical_role: String,
    delivery: String,
    status: String,
}

fn appointment_row(a: &Appointment, choices: &SearchChoices, local: Local) -> AppointmentRow {
    AppointmentRow {
        id: a.id.clone().into(),
        when: local.when(a.starts_at),
        site: choices
            .sites
            .iter()
            .find(|s| s.id == a.site_id)
            .map_or_else(|| "Another site".to_owned(), |s| s.name.clone()),
        clinical_role: clinical_role_label(a.clinical_role.as_str()),
        delivery: delivery_label(a.delivery.as_str()),
        status: status_label(a.status.as_str()),
    }
}

// ---------------------------------------------------------------------------------------------
// Find: a patient's appointments, then the slots to offer.

/// The find page's search, as its query string names it (so a search is a shareable URL).
#[derive(Debug, Default, Clone, Serialize)]
struct Search {
    nhs: String,
    service: String,
    role: String,
    site: String,
    delivery: String,
    date: String,
    /// The appointment being moved, when the search is for its new slot.
    #[serde(rename = "move")]
    moving: String,
}

impl Search {
    fn from_params(p: &Params) -> Self {
        Self {
            nhs: p.get("nhs").to_owned(),
            service: p.get("service").to_owned(),
            role: p.get("role").to_owned(),
            site: p.get("site").to_owned(),
            delivery: p.get("delivery").to_owned(),
            date: p.get("date").to_owned(),
            moving: p.get("move").to_owned(),
        }
    }

    /// The day searched, when the date field holds one (`Err` when it holds something else).
    fn day(&self) -> Result<Option<NaiveDate>, FieldError> {
        if self.date.is_empty() {
            return Ok(None);
        }
        match NaiveDate::parse_from_str(&self.date, "%Y-%m-%d") {
            Ok(d) if (2000..=2100).contains(&d.year()) => Ok(Some(d)),
            _ => Err(FieldError::at("date", "Enter a date, like 2026-12-07")),
        }
    }

    /// The slot search the fields describe, the day read in the cluster's zone (a date that
    /// does not parse searches from now, as no date does).
    fn find_slots(&self, local: Local) -> FindSlots {
        let (from, to) = match self.day().ok().flatten() {
            Some(d) => (
                Some(local.start_of(d)),
                Some(local.start_of(d + Duration::days(1))),
            ),
            None => (None, None),
        };
        let given = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
        FindSlots {
            from,
            to,
            service: given(&self.service),
            role: given(&self.role),
            site: given(&self.site),
            delivery: given(&self.delivery),
            ..FindSlots::default()
        }
    }

    /// The search as a query string, to link to it.
    fn query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

async fn find(c: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    let (s, user) = match signed_in(&c, &req).await {
        Ok(found) => found,
        Err(redirect) => return redirect,
    };
    let search = Search::from_params(&Params::parse(req.query_string()));
    if user.role == Role::HubStaff && search.nhs.is_empty() {
        return see_other("/hub/day");
    }
    if user.role == Role::ClusterManager && search.nhs.is_empty() && search.moving.is_empty() {
        return see_other("/manage");
    }
    if user.role == Role::Admin {
        return see_other("/admin");
    }
    find_page(&c, &s, &user, &search, None, StatusCode::OK).await
}

/// `GET /not-offered?<search>`: the free slots of a search that the desk's practice may not
/// book yet, each with why and when it opens (a page of its own, so the search stays fast).
async fn not_offered(c: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    let (s, user) = match signed_in(&c, &req).await {
        Ok(found) => found,
        Err(redirect) => return redirect,
    };
    let search = Search::from_params(&Params::parse(req.query_string()));
    let local = user.local();
    let mut ctx = base(
        Some((&s, &user)),
        "Free slots your practice cannot book yet",
    );
    let mut status = StatusCode::OK;
    let mut errors: Vec<FieldError> = search.day().err().into_iter().collect();
    match c
        .hubbook
        .slots_not_offered(&user.caller(), search.find_slots(local), NOT_OFFERED_SHOWN)
        .await
    {
        Ok(hidden) => {
            let rows: Vec<Value> = hidden
                .iter()
                .map(|n| {
                    let o = OfferView::new(&n.offer, local);
                    json!({
                        "when": o.when,
                        "site": o.site,
                        "clinical_role": o.clinical_role,
                        "delivery": o.delivery,
                        "why": why_not_offered(&n.why, local),
                    })
                })
                .collect();
            ctx.insert("not_offered".into(), json!(rows));
        }
        Err(e) => {
            let r = refusal(e);
            status = r.status;
            errors.push(r.error);
        }
    }
    if !errors.is_empty() && status == StatusCode::OK {
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    ctx.insert("back".into(), json!(format!("/?{}", search.query())));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "not_offered.html", Value::Object(ctx))
}

/// The find page for `search`, with a refusal from an earlier step shown above it.
async fn find_page(
    c: &Console,
    s: &Session,
    user: &SignedIn,
    search: &Search,
    earlier: Option<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let who = user.caller();
    let local = user.local();
    let choices = c.hubbook.search_choices(&who).await.unwrap_or_default();
    let mut errors: Vec<FieldError> = earlier.into_iter().collect();
    let parsed = NhsNumber::parse(&search.nhs).ok();
    let title = match (&parsed, search.moving.is_empty()) {
        (Some(n), true) => format!("Appointments and free slots for {}", n.spaced()),
        (Some(_), false) => "Choose a new slot".to_owned(),
        (None, _) => "Find a patient's appointments and slots".to_owned(),
    };
    let mut ctx = base(Some((s, user)), &title);
    let mut status = status;
    let nhs = if search.nhs.is_empty() {
        None
    } else {
        match NhsNumber::parse(&search.nhs) {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::at(
                    "nhs",
                    "Enter a valid NHS number: 10 digits whose last digit checks the others",
                ));
                status = StatusCode::UNPROCESSABLE_ENTITY;
                None
            }
        }
    };
    let day = match search.day() {
        Ok(day) => day,
        Err(error) => {
            errors.push(error);
            status = StatusCode::UNPROCESSABLE_ENTITY;
            None
        }
    };
    if !search.moving.is_empty() {
        match c.hubbook.appointment(&who, search.moving.clone(), false).await {
            Ok(detail) if detail.appointment.status == AppointmentStatus::Booked => {
                let a = detail.appointment;
                ctx.insert(
                    "moving".into(),
                    json!({"id": a.id, "version": a.version, "when": local.when(a.starts_at)}),
                );
            }
            Ok(_) => errors.push(FieldError::page(
                "That appointment is no longer booked, so it cannot be moved. Book a new one instead.",
            )),
            Err(e) => errors.push(refusal(e).error),
        }
    }
    if let Some(nhs) = &nhs {
        ctx.insert("nhs_spaced".into(), json!(nhs.spaced()));
        let now = c.hubbook.now();
        let query = AppointmentQuery {
            from: Some(now - Duration::hours(12)),
            nhs_number: Some(nhs.clone()),
            ..AppointmentQuery::default()
        };
        match c.hubbook.list_appointments(&who, query, None, 50).await {
            Ok(page) => {
                let rows: Vec<AppointmentRow> = page
                    .items
                    .iter()
                    .filter(|a| matches!(a.status.as_str(), "booked" | "arrived"))
                    .map(|a| appointment_row(a, &choices, local))
                    .collect();
                ctx.insert("appointments".into(), json!(rows));
            }
            Err(e) => errors.push(refusal(e).error),
        }
        let mut find = search.find_slots(local);
        let to = find.to;
        match c
            .hubbook
            .search_slots(&who, find.clone(), None, SLOTS_SHOWN)
            .await
        {
            Ok(page) => {
                let offers: Vec<OfferView> = page
                    .items
                    .iter()
                    .map(|o| OfferView::new(o, local))
                    .collect();
                if user.role == Role::Receptionist {
                    ctx.insert(
                        "not_offered_link".into(),
                        json!(format!("/not-offered?{}", search.query())),
                    );
                }
                if offers.is_empty() {
                    let after = to.unwrap_or(
                        now + Duration::days(hubbook_service::slots::DEFAULT_SEARCH_DAYS),
                    );
                    find.from = Some(after);
                    find.to = Some(after + Duration::days(NEXT_FREE_DAYS));
                    // The next free one is the earliest: time alone, no distance.
                    find.minutes_per_km = Some(0.0);
                    let next = c.hubbook.search_slots(&who, find, None, 1).await;
                    let searched = match day {
                        Some(d) => format!("on {}", d.format("%A %-d %B %Y")),
                        None => format!(
                            "up to {}",
                            local.long_date((after - Duration::seconds(1)).naive_utc())
                        ),
                    };
                    let nothing = match next.ok().and_then(|p| p.items.into_iter().next()) {
                        Some(o) => format!(
                            "Nothing free {searched}. The next free slot is on {} at {} ({}).",
                            local.when(o.slot.starts_at),
                            o.site.name,
                            clinical_role_label(o.service.clinical_role.as_str())
                        ),
                        None => format!(
                            "Nothing free up to {} with these choices. Try other filters, or ask the cluster manager about more sessions.",
                            local.long_date((after + Duration::days(NEXT_FREE_DAYS)).naive_utc())
                        ),
                    };
                    ctx.insert("nothing".into(), json!(nothing));
                }
                ctx.insert("offers".into(), json!(offers));
            }
            Err(e) => errors.push(refusal(e).error),
        }
    }
    let mut roles: Vec<String> = choices
        .services
        .iter()
        .map(|s| s.clinical_role.as_str().to_owned())
        .collect();
    roles.sort();
    roles.dedup();
    let deliveries: Vec<Value> = ["face_to_face", "telephone", "video"]
        .iter()
        .map(|d| json!({"value": d, "label": delivery_label(d)}))
        .collect();
    ctx.insert(
        "choices".into(),
        json!({
            "sites": choices.sites.iter().map(|s| json!({"value": s.id, "label": s.name})).collect::<Vec<_>>(),
            "services": choices.services.iter().map(|s| json!({"value": s.id, "label": s.name})).collect::<Vec<_>>(),
            "roles": roles.iter().map(|r| json!({"value": r, "label": clinical_role_label(r)})).collect::<Vec<_>>(),
            "deliveries": deliveries,
        }),
    );
    ctx.insert("search".into(), json!(search));
    ctx.insert("searched".into(), json!(nhs.is_some()));
    ctx.insert("errors".into(), json!(errors));
    c.templates.page(status, "find.html", Value::Object(ctx))
}

// ---------------------------------------------------------------------------------------------
// Hold and book.

async fn hold(c: web::Data<Console>, posted: Posted) -> HttpResponse {
    let Posted {
        form,
        session: s,
        user,
    } = posted;
    let search = Search::from_params(&form);
    match c
        .hubbook
        .hold_slot(&user.caller(), form.get("slot_id").to_owned())
        .await
    {
        Ok(hold) => {
            let query = serde_urlencoded::to_string([("nhs", &search.nhs)]).unwrap_or_default();
            see_other(&format!("/holds/{}?{query}", urlencode(&hold.id)))
        }
        Err(e) => {
            let r = refusal(e);
            search_refused(&c, &s, &user, &search, r).await
        }
    }
}

/// The search page answering a refused hold or booking (the slot taken, say), with the next
/// free slots; the address bar names that search, so a reload shows it again.
async fn search_refused(
    c: &Console,
    s: &Session,
    user: &SignedIn,
    search: &Search,
    r: Refusal,
) -> HttpResponse {
    let query = serde_urlencoded::to_string(search).unwrap_or_default();
    let page = find_page(c, s, user, search, Some(r.error), r.status).await;
    shown_at(page, &format!("/?{query}"))
}

/// The patient form's values, as typed (re-shown when a step is refused).
#[derive(Debug, Default, Clone, Serialize)]
struct PatientForm {
    nhs_number: String,
    name: String,
    birth_day: String,
    birth_month: String,
    birth_year: String,
    phone: String,
    email: String,
    adjustments: String,
    reason: String,
    requester_ods: String,
    requester_reference: String,
    idempotency_key: String,
    slot_id: String,
}

impl PatientForm {
    fn from_params(p: &Params) -> Self {
        Self {
            nhs_number: p.get("nhs_number").to_owned(),
            name: p.get("name").to_owned(),
            birth_day: p.get("birth_day").to_owned(),
            birth_month: p.get("birth_month").to_owned(),
            birth_year: p.get("birth_year").to_owned(),
            phone: p.get("phone").to_owned(),
            email: p.get("email").to_owned(),
            adjustments: p.get("adjustments").to_owned(),
            reason: p.get("reason").to_owned(),
            requester_ods: p.get("requester_ods").to_owned(),
            requester_reference: p.get("requester_reference").to_owned(),
            idempotency_key: p.get("idempotency_key").to_owned(),
            slot_id: p.get("slot_id").to_owned(),
        }
    }

    /// A fresh form for a patient, prefilled from their latest appointment the caller may see.
    fn prefilled(nhs: &str, slot_id: &str, previous: Option<&Appointment>) -> Self {
        let mut form = Self {
            nhs_number: nhs.to_owned(),
            slot_id: slot_id.to_owned(),
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            ..Self::default()
        };
        if let Some(a) = previous {
            form.name = a.patient_name.clone();
            form.birth_day = a.patient_birth_date.day().to_string();
            form.birth_month = a.patient_birth_date.month().to_string();
            form.birth_year = a.patient_birth_date.year().to_string();
            form.phone = a.patient_phone.clone();
            form.email = a.patient_email.clone().unwrap_or_default();
            form.adjustments = a.adjustments.clone().unwrap_or_default();
        }
        form
    }

    /// The value when not empty.
    fn opt(v: &str) -> Option<&str> {
        Some(v).filter(|v| !v.is_empty())
    }

    /// The first required field still empty, for the cursor; `None` when the booking can go.
    fn first_empty(&self) -> Option<&'static str> {
        [
            ("name", &self.name),
            ("birth_date", &self.birth_day),
            ("birth_date", &self.birth_month),
            ("birth_date", &self.birth_year),
            ("phone", &self.phone),
        ]
        .into_iter()
        .find(|(_, v)| v.is_empty())
        .map(|(field, _)| field)
    }

    /// The booking command, or every problem with the form at once.
    fn command(&self, hold_id: &str) -> Result<BookAppointment, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.name.is_empty() {
            errors.push(FieldError::at("name", "Enter the patient's full name"));
        }
        let birth_date = match (
            self.birth_day.parse::<u32>(),
            self.birth_month.parse::<u32>(),
            self.birth_year.parse::<i32>(),
        ) {
            (Ok(d), Ok(m), Ok(y)) if y >= 1000 => NaiveDate::from_ymd_opt(y, m, d),
            _ => None,
        };
        if birth_date.is_none() {
            errors.push(FieldError::at(
                "birth_date",
                "Enter the patient's date of birth as a real date, like 15 3 1984",
            ));
        }
        if self.phone.is_empty() {
            errors.push(FieldError::at(
                "phone",
                "Enter a phone number to reach the patient",
            ));
        }
        if !self.nhs_number.is_empty() && NhsNumber::parse(&self.nhs_number).is_err() {
            errors.push(FieldError::at(
                "nhs_number",
                "Enter a valid NHS number: 10 digits whose last digit checks the others",
            ));
        }
        if self.requester_ods.is_empty() && !self.requester_reference.is_empty() {
            errors.push(FieldError::at(
                "requester_ods",
                "Enter the requesting organisation's ODS code, or leave its reference empty",
            ));
        }
        let Some(birth_date) = birth_date.filter(|_| errors.is_empty()) else {
            return Err(errors);
        };
        let field = |r: Refusal| vec![r.error];
        let patient = Patient::parse(
            Self::opt(&self.nhs_number),
            &self.name,
            birth_date,
            &self.phone,
            Self::opt(&self.email),
            Self::opt(&self.adjustments),
        )
        .map_err(|e| field(refusal(e.into())))?;
        let requester = Self::opt(&self.requester_ods)
            .map(|ods| Requester::parse(ods, Self::opt(&self.requester_reference)))
            .transpose()
            .map_err(|e| field(refusal(e.into())))?;
        let reason = validate_optional_name("reason", Self::opt(&self.reason), 500)
            .map_err(|e| field(refusal(e.into())))?;
        Ok(BookAppointment {
            slot_id: self.slot_id.clone(),
            hold_id: Some(hold_id.to_owned()),
            patient,
            registered_practice: None,
            reason,
            requester,
            allow_same_day: false,
            on_behalf_of: None,
            notes: None,
            requester_contact: None,
            triage_without_disposition: false,
            as_seen: None,
            further_slots: Vec::new(),
        })
    }
}

async fn hold_page(c: web::Data<Console>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let (s, user) = match signed_in(&c, &req).await {
        Ok(found) => found,
        Err(redirect) => return redirect,
    };
    let nhs = Params::parse(req.query_string()).get("nhs").to_owned();
    let who = user.caller();
    let held = match c.hubbook.held_slot(&who, id.into_inner()).await {
        Ok(held) => held,
        Err(e) => return hold_gone(&c, &s, &user, &nhs, refusal(e)),
    };
    let previous = match NhsNumber::parse(&nhs) {
        Ok(n) => c
            .hubbook
            .list_appointments(
                &who,
                AppointmentQuery {
                    nhs_number: Some(n),
                    ..AppointmentQuery::default()
                },
                None,
                50,
            )
            .await
            .ok()
            .and_then(|p| p.items.into_iter().max_by_key(|a| a.created_at)),
        Err(_) => None,
    };
    let form = PatientForm::prefilled(&nhs, &held.offer.slot.id, previous.as_ref());
    render_hold(
        &c,
        &s,
        &user,
        &held,
        &form,
        Vec::new(),
        StatusCode::OK,
        None,
    )
}

fn hold_gone(c: &Console, s: &Session, user: &SignedIn, nhs: &str, r: Refusal) -> HttpResponse {
    let mut ctx = base(Some((s, user)), "This hold has ended");
    let back = serde_urlencoded::to_string([("nhs", nhs)]).unwrap_or_default();
    ctx.insert("back".into(), json!(format!("/?{back}")));
    // This page has no form, so the message links to no field.
    let message = if r.kind == hubbook_api::ProblemType::NotFound {
        FieldError::page("This hold is not yours, or it has ended. Search again to choose a slot.")
    } else {
        FieldError::page(r.error.message)
    };
    ctx.insert("errors".into(), json!([message]));
    c.templates
        .page(r.status, "message.html", Value::Object(ctx))
}

#[allow(clippy::too_many_arguments)]
fn render_hold(
    c: &Console,
    s: &Session,
    user: &SignedIn,
    held: &HeldSlot,
    form: &PatientForm,
    errors: Vec<FieldError>,
    status: StatusCode,
    announce: Option<String>,
) -> HttpResponse {
    let mut ctx = base(Some((s, user)), "Check the slot and the patient's details");
    let now = c.hubbook.now();
    let expires = held.hold.expires_at;
    let seconds = (expires.and_utc() - now).num_seconds().max(0);
    let live = seconds > 0;
    ctx.insert("hold_id".into(), json!(held.hold.id));
    ctx.insert(
        "slot".into(),
        json!(OfferView::new(&held.offer, user.local())),
    );
    ctx.insert(
        "hold".into(),
        json!({
            "live": live,
            "until": user.local().clock_time(expires),
            "expires_at": expires.and_utc().to_rfc3339(),
            "seconds": seconds,
            "minutes": (seconds + 59) / 60,
        }),
    );
    let focus = if errors.is_empty() {
        form.first_empty().unwrap_or("book")
    } else {
        ""
    };
    ctx.insert("focus".into(), json!(focus));
    ctx.insert("form".into(), json!(form));
    ctx.insert("errors".into(), json!(errors));
    if let Some(announce) = announce {
        ctx.insert("announce".into(), json!(announce));
    }
    // Kept or refused, the page is this hold's (Keep holding makes a new one): a reload shows it.
    let query = serde_urlencoded::to_string([("nhs", &form.nhs_number)]).unwrap_or_default();
    shown_at(
        c.templates.page(status, "hold.html", Value::Object(ctx)),
        &format!("/holds/{}?{query}", urlencode(&held.hold.id)),
    )
}

async fn book(c: web::Data<Console>, id: web::Path<String>, posted: Posted) -> HttpResponse {
    let Posted {
        form: params,
        session: s,
        user,
    } = posted;
    let form = PatientForm::from_params(&params);
    let who = user.caller();
    let hold_id = id.into_inner();
    // The hold is gone once it has booked: a resent form still replays its booking below.
    let held = c.hubbook.held_slot(&who, hold_id.clone()).await;
    let refused = |errors: Vec<FieldError>, status: StatusCode| match &held {
        Ok(held) => render_hold(&c, &s, &user, held, &form, errors, status, None),
        Err(_) => {
            let error = errors.into_iter().next().unwrap_or_else(|| {
                FieldError::page(
                    "This hold is not yours, or it has ended. Search again to choose a slot.",
                )
            });
            hold_gone(
                &c,
                &s,
                &user,
                &form.nhs_number,
                Refusal {
                    kind: hubbook_api::ProblemType::HoldExpired,
                    status,
                    error,
                },
            )
        }
    };
    let command = match form.command(&hold_id) {
        Ok(command) => command,
        Err(errors) => return refused(errors, StatusCode::UNPROCESSABLE_ENTITY),
    };
    // The form's key and what it asks for: the same form sent twice books once.
    let mut request = form.clone();
    request.idempotency_key = String::new();
    let key_ok = (1..=100).contains(&form.idempotency_key.len())
        && form.idempotency_key.bytes().all(|b| b.is_ascii_graphic());
    if !key_ok {
        let error = FieldError::page(
            "This booking form was incomplete, so nothing was booked. Hold the slot again from the search and book from the new form.",
        );
        return refused(vec![error], StatusCode::UNPROCESSABLE_ENTITY);
    }
    let claim = match c.hubbook.claim(
        &who,
        form.idempotency_key.clone(),
        "console: book",
        &request,
    ) {
        Ok(claim) => claim,
        Err(e) => {
            let r = refusal(e);
            return refused(vec![r.error], r.status);
        }
    };
    match c.hubbook.book(&who, Some(claim), command).await {
        Ok(a) => see_other(&format!("/appointments/{}?booked=1", urlencode(&a.id))),
        Err(e) => {
            let r = refusal(e);
            if r.slot_gone() {
                let search = Search {
                    nhs: form.nhs_number.clone(),
                    ..Search::default()
                };
                search_refused(&c, &s, &user, &search, r).await
            } else {
                refused(vec![r.error], r.status)
            }
        }
    }
}

async fn keep_holding(
    c: web::Data<Console>,
    id: web::Path<String>,
    posted: Posted,
) -> HttpResponse {
    let Posted {
        form: params,
        session: s,
        user,
    } = posted;
    let form = PatientForm::from_params(&params);
    let who = user.caller();
    let held = match c.hubbook.held_slot(&who, id.into_inner()).await {
        Ok(held) => held,
        Err(e) => return hold_gone(&c, &s, &user, &form.nhs_number, refusal(e)),
    };
    match c
        .hubbook
        .hold_slot(&who, held.offer.slot.id.clone().into())
        .await
    {
        Ok(hold) => {
            let announce = format!(
                "The slot is held for you until {}.",
                user.local().clock_time(hold.expires_at)
            );
            let held = HeldSlot { hold, ..held };
            render_hold(
                &c,
                &s,
                &user,
                &held,
                &form,
                Vec::new(),
                StatusCode::OK,
                Some(announce),
            )
        }
        Err(e) => {
            let r = refusal(e);
            if r.slot_gone() {
                let search = Search {
                    nhs: form.nhs_number.clone(),
                    ..Search::default()
                };
                search_refused(&c, &s, &user, &search, r).await
            } else {
                render_hold(&c, &s, &user, &held, &form, vec![r.error], r.status, None)
            }
        }
    }
}

async fn release(c: web::Data<Console>, id: web::Path<String>, posted: Posted) -> HttpResponse {
    let Posted {
        form: params,
        session: _,
        user,
    } = posted;
    // A hold already ended needs no letting go: either way the search comes back.
    if let Err(e) = c
        .hubbook
        .release_hold(&user.caller(), id.into_inner())
        .await
    {
        tracing::debug!(error = %e, "letting a hold go");
    }
    let query =
        serde_urlencoded::to_string([("nhs", params.get("nhs_number"))]).unwrap_or_default();
    see_other(&format!("/?{query}"))
}

// ---------------------------------------------------------------------------------------------
// One appointment: the confirmation after booking, printable.

async fn appointment_page(
    c: web::Data<Console>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let (s, user) = match signed_in(&c, &req).await {
        Ok(found) => found,
        Err(redirect) => return redirect,
    };
    let params = Params::parse(req.query_string());
    let notice = ["booked", "cancelled", "moved", "notes"]
        .into_iter()
        .find(|n| params.get(n) == "1");
    render_appointment(
        &c,
        &s,
        &user,
        id.into_inner(),
        notice,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// One appointment's page: the confirmation panel after a booking or a move (`notice`), the
/// details (printable), and, while it is booked, moving and cancelling it.
pub(crate) async fn render_appointment(
    c: &Console,
    s: &Session,
    user: &SignedIn,
    id: String,
    notice: Option<&str>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let detail = match c.hubbook.appointment(&user.caller(), id, true).await {
        Ok(detail) => detail,
        Err(e) => {
            let r = refusal(e);
            let mut ctx = base(Some((s, user)), "Appointment not found");
            ctx.insert("back".into(), json!("/"));
            ctx.insert("errors".into(), json!([r.error]));
            return c
                .templates
                .page(r.status, "message.html", Value::Object(ctx));
        }
    };
    let a = &detail.appointment;
    let booked = a.status == AppointmentStatus::Booked;
    let notice = notice.filter(|n| *n == "cancelled" || *n == "notes" || booked);
    let title = match notice {
        Some("notes") => "Notes saved",
        Some("booked") => "Appointment booked",
        Some("moved") => "Appointment moved",
        Some("cancelled") => "Appointment cancelled",
        _ => "Appointment",
    };
    let mut ctx = base(Some((s, user)), title);
    let (site, address, service) = match &detail.place {
        Some((site, service, _)) => (
            site.name.clone(),
            format!("{}, {}", site.address, site.postcode),
            service.name.clone(),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    ctx.insert("notice".into(), json!(notice));
    ctx.insert(
        "may_cancel".into(),
        json!(booked && permit(user.role, Action::Cancel).is_ok()),
    );
    ctx.insert(
        "may_amend_notes".into(),
        json!(
            a.status != AppointmentStatus::Cancelled
                && permit(user.role, Action::AmendNotes).is_ok()
        ),
    );
    ctx.insert(
        "may_move".into(),
        json!(booked && permit(user.role, Action::Reschedule).is_ok()),
    );
    let nhs_query = a
        .nhs_number
        .as_deref()
        .map(|n| serde_urlencoded::to_string([("nhs", n)]).unwrap_or_default())
        .unwrap_or_default();
    ctx.insert(
        "move_link".into(),
        json!(format!("/?{nhs_query}&move={}", urlencode(&a.id))),
    );
    ctx.insert(
        "appointment".into(),
        json!({
            "id": a.id,
            "version": a.version,
            "status": status_label(a.status.as_str()),
            "when": user.local().when(a.starts_at),
            "ends": user.local().clock_time(a.ends_at),
            "site": site,
            "address": address,
            "service": service,
            "clinical_role": clinical_role_label(a.clinical_role.as_str()),
            "delivery": delivery_label(a.delivery.as_str()),
            "telephone": a.delivery == hubbook_core::rota::Delivery::Telephone,
            "patient": a.patient_name,
            "nhs_number": a.nhs_number.as_deref().and_then(|n| NhsNumber::parse(n).ok()).map(|n| n.spaced()),
            "birth_date": a.patient_birth_date.format("%-d %B %Y").to_string(),
            "phone": a.patient_phone,
            "email": a.patient_email,
            "adjustments": a.adjustments,
            "reason": a.reason,
            "cancel_reason": a.cancel_reason,
            "notes": a.notes,
            "requester": a.requester_ods,
            "requester_reference": a.requester_reference,
        }),
    );
    ctx.insert("back".into(), json!(format!("/?{nhs_query}")));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "appointment.html", Value::Object(ctx))
}

/// `POST /appointments/{id}/cancel`: cancels with the reason given; the slot is free at once.
async fn cancel(c: web::Data<Console>, id: web::Path<String>, posted: Posted) -> HttpResponse {
    let Posted {
        form,
        session: s,
        user,
    } = posted;
    let id = id.into_inner();
    let reason = form.get("cancel_reason");
    let refused = |error: FieldError, status: StatusCode| {
        let error = match error.field.as_deref() {
            Some("reason" | "name") => FieldError::at("cancel_reason", error.message),
            _ => error,
        };
        render_appointment(&c, &s, &user, id.clone(), None, vec![error], status)
    };
    if reason.is_empty() {
        return refused(
            FieldError::at("cancel_reason", "Enter why the appointment is cancelled"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let expected = form.get("version").parse::<i64>().ok();
    match c
        .hubbook
        .cancel(&user.caller(), id.clone(), expected, reason)
        .await
    {
        Ok(a) => see_other(&format!("/appointments/{}?cancelled=1", urlencode(&a.id))),
        Err(e) => {
            let r = refusal(e);
            let status = r.status;
            let error = r.unless_stale("Someone else changed this appointment a moment ago. Check it below, then try again.");
            refused(error, status).await
        }
    }
}

/// `POST /appointments/{id}/notes`: replaces the notes for the clinician (empty clears them),
/// guarded by the version the page showed; the booking itself is untouched.
async fn amend_notes(c: web::Data<Console>, id: web::Path<String>, posted: Posted) -> HttpResponse {
    let Posted {
        form,
        session: s,
        user,
    } = posted;
    let id = id.into_inner();
    let notes = Some(form.get("notes").trim()).filter(|n| !n.is_empty());
    let expected = form.get("version").parse::<i64>().ok();
    match c
        .hubbook
        .amend_notes(&user.caller(), id.clone(), expected, notes)
        .await
    {
        Ok(a) => see_other(&format!("/appointments/{}?notes=1", urlencode(&a.id))),
        Err(e) => {
            let r = refusal(e);
            let status = r.status;
            let error = r.unless_stale("Someone else changed this appointment a moment ago. Check it below, then try again.");
            render_appointment(&c, &s, &user, id, None, vec![error], status).await
        }
    }
}

/// `POST /appointments/{id}/move`: moves the appointment to the slot chosen on the find page, in
/// one step (the patient keeps the old one if the move fails).
async fn move_appointment(
    c: web::Data<Console>,
    id: web::Path<String>,
    posted: Posted,
) -> HttpResponse {
    let Posted {
        form,
        session: s,
        user,
    } = posted;
    let id = id.into_inner();
    let expected = form.get("version").parse::<i64>().ok();
    match c
        .hubbook
        .reschedule(
            &user.caller(),
            id,
            expected,
            form.get("slot_id").to_owned(),
            None,
        )
        .await
    {
        Ok(placed) => see_other(&format!("/appointments/{}?moved=1", urlencode(&placed.id))),
        Err(e) => {
            let r = refusal(e);
            let status = r.status;
            let error = r.unless_stale(
                "Someone else changed this appointment a moment ago. Choose the new slot again.",
            );
            let search = Search::from_params(&form);
            find_page(&c, &s, &user, &search, Some(error), status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clinical_roles_read_as_words() {
        assert_eq!(
            clinical_role_label("mental_health_nurse"),
            "Mental health nurse"
        );
    }

    #[test]
    fn malformed_forms_read_as_empty() {
        let p = Params::parse("a=1&a=2&b=%ZZ");
        assert!(p.0.is_empty() || p.get("a") == "1");
        assert_eq!(Params::parse("x=%20y%20&x=z").get("x"), "y");
    }
}

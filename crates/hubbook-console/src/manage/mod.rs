//! The cluster manager's console: the screens a manager publishes rotas, sets how capacity is
//! shared and reads the cluster's figures with. Every screen is for the cluster's manager only:
//! any other role is answered with the same "not found" page as the JSON API's 404, so a
//! receptionist cannot even learn which manager screens exist.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use hubbook_core::Role;
use hubbook_service::ServiceError;
use serde_json::{json, Map, Value};

use crate::errors::FieldError;
use crate::pages::{base, signed_in, Params, Posted};
use crate::session::{Session, SignedIn};
use crate::Console;

mod activity;
mod admin;
mod chart;
mod reports;
mod rotas;
mod setup;
mod setup_integrations;
mod setup_practices;
mod setup_sites;
mod setup_users;
mod sharing;
mod today;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/manage", web::get().to(today::page))
        .route("/manage/reports", web::get().to(reports::index))
        .route("/manage/reports/{name}", web::get().to(reports::report));
    rotas::routes(cfg);
    sharing::routes(cfg);
    activity::routes(cfg);
    setup::routes(cfg);
    admin::routes(cfg);
}

/// Who manages a cluster in this request: its cluster manager, or an administrator on an
/// `/admin/clusters/{code}/...` address (the set-up screens an admin shares with managers, such
/// as a cluster's users). Holds the session, who they are, the cluster's code (which the use
/// cases are addressed by) and the address of the cluster's set-up. As an extractor it answers
/// any other request with the sign-in redirect or the not-found page before the handler runs.
pub(crate) struct Manager {
    /// The session.
    pub session: Session,
    /// The manager (or administrator).
    pub user: SignedIn,
    /// The cluster's code.
    pub code: String,
    /// The cluster's set-up page: `/manage/setup`, or `/admin/clusters/{code}` for an admin.
    pub setup: String,
}

impl Manager {
    fn of(
        c: &Console,
        session: Session,
        user: SignedIn,
        req: &HttpRequest,
    ) -> Result<Self, actix_web::Error> {
        let on_admin_path = req.path().starts_with("/admin/clusters/");
        let path_code = req.match_info().get("code").map(str::to_owned);
        match (user.role, user.cluster_code.clone(), path_code) {
            (Role::ClusterManager, Some(code), None) if !on_admin_path => Ok(Self {
                session,
                user,
                code,
                setup: "/manage/setup".to_owned(),
            }),
            (Role::Admin, _, Some(code)) if on_admin_path => Ok(Self {
                setup: format!("/admin/clusters/{}", crate::pages::urlencode(&code)),
                session,
                user,
                code,
            }),
            _ => Err(refused(not_found(c, &session, &user))),
        }
    }

    /// The context every manager page starts from (title, session, user, CSRF token).
    pub fn base(&self, title: &str) -> Map<String, Value> {
        base(Some((&self.session, &self.user)), title)
    }

    /// A page that only says why something cannot be shown (a refusal of the use case that
    /// should have read it), with a link `back`.
    pub fn refused(&self, c: &Console, title: &str, e: ServiceError, back: &str) -> HttpResponse {
        let r = crate::errors::refusal(e);
        let mut ctx = self.base(title);
        ctx.insert("errors".into(), json!([r.error]));
        ctx.insert("back".into(), json!(back));
        ctx.insert("back_label".into(), json!("Go back"));
        c.templates
            .page(r.status, "message.html", Value::Object(ctx))
    }
}

/// A form posted by the cluster's manager: the fields, and who sent it.
pub(crate) struct ManagerPost {
    /// The form's fields.
    pub form: Params,
    /// Who sent it.
    pub manager: Manager,
}

fn refused(page: HttpResponse) -> actix_web::Error {
    actix_web::error::InternalError::from_response("refused", page).into()
}

fn console_of(req: &HttpRequest) -> Result<web::Data<Console>, actix_web::Error> {
    req.app_data::<web::Data<Console>>()
        .cloned()
        .ok_or_else(|| actix_web::error::ErrorInternalServerError("console missing"))
}

impl FromRequest for Manager {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let c = console_of(&req)?;
            let (session, user) = signed_in(&c, &req).await.map_err(refused)?;
            Manager::of(&c, session, user, &req)
        })
    }
}

impl FromRequest for ManagerPost {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let posted = Posted::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let Posted {
                form,
                session,
                user,
            } = posted.await?;
            let c = console_of(&req)?;
            let manager = Manager::of(&c, session, user, &req)?;
            Ok(ManagerPost { form, manager })
        })
    }
}

/// The page every manager screen answers other roles with: the same 404 as the API's.
pub(crate) fn not_found(c: &Console, s: &Session, user: &SignedIn) -> HttpResponse {
    let mut ctx = base(Some((s, user)), "Page not found");
    ctx.insert(
        "errors".into(),
        json!([FieldError::page(
            "There is nothing here that you may see. Check the address, or go back to the search."
        )]),
    );
    c.templates
        .page(StatusCode::NOT_FOUND, "message.html", Value::Object(ctx))
}

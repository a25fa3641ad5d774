//! The administrator's screens: the install's clusters, a new cluster, and each cluster's
//! managers and staff. An admin creates a cluster, then its cluster manager with a one-time
//! password, and can disable a manager or set them a new password; everything else about a
//! cluster is its manager's. The user pages are the set-up's own (`setup_users`), reached under
//! `/admin/clusters/{code}/users`, and the use cases decide what an admin may do.

use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use hubbook_api::ProblemType;
use hubbook_core::Role;
use hubbook_service::reference::CreateCluster;
use serde_json::{json, Map, Value};

use super::setup::{field, linked, notice, typed, FormField, SHOWN};
use super::setup_users::user_rows;
use super::{console_of, not_found, refused, Manager};
use crate::errors::{refusal, FieldError};
use crate::pages::{base, see_other, signed_in, urlencode, Params, Posted};
use crate::session::{Session, SignedIn};
use crate::Console;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(clusters))
        .route("/admin/clusters", web::get().to(to_clusters))
        .route("/admin/clusters", web::post().to(create_cluster))
        .route("/admin/clusters/{code}", web::get().to(cluster));
}

/// An administrator's request: their session and who they are. Any other role is answered with
/// the not-found page, as the manager's screens answer the desk.
pub(crate) struct Admin {
    session: Session,
    user: SignedIn,
}

impl Admin {
    fn of(c: &Console, session: Session, user: SignedIn) -> Result<Self, actix_web::Error> {
        if user.role == Role::Admin {
            Ok(Self { session, user })
        } else {
            Err(refused(not_found(c, &session, &user)))
        }
    }
}

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let c = console_of(&req)?;
            let (session, user) = signed_in(&c, &req).await.map_err(refused)?;
            Admin::of(&c, session, user)
        })
    }
}

const CLUSTER_FIELDS: [&str; 3] = ["code", "name", "time_zone"];

/// `GET /admin`: the clusters (a page of them at a time) and the form that adds one.
async fn clusters(c: web::Data<Console>, a: Admin, req: HttpRequest) -> HttpResponse {
    let mut form = Map::new();
    form.insert("time_zone".into(), json!("Europe/London"));
    render_clusters(&c, &a, &req, &form, Vec::new(), StatusCode::OK).await
}

async fn render_clusters(
    c: &Console,
    a: &Admin,
    req: &HttpRequest,
    form: &Map<String, Value>,
    mut errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let after = Params::parse(req.query_string()).get("after").to_owned();
    let after = (!after.is_empty()).then_some(after);
    let page = c
        .hubbook
        .list_clusters(&a.user.caller(), after.clone(), SHOWN)
        .await;
    let (rows, next) = match page {
        Ok(page) => (
            page.items
                .iter()
                .map(|cl| {
                    json!({
                        "code": cl.code,
                        "link": format!("/admin/clusters/{}", urlencode(&cl.code)),
                        "name": cl.name,
                        "time_zone": cl.time_zone.name(),
                    })
                })
                .collect(),
            page.next_after
                .map(|n| format!("/admin?after={}", urlencode(&n))),
        ),
        Err(e) => {
            errors.push(refusal(e).error);
            (Vec::<Value>::new(), None)
        }
    };
    let mut ctx = base(Some((&a.session, &a.user)), "Clusters");
    ctx.insert("clusters".into(), json!(rows));
    ctx.insert("next".into(), json!(next));
    ctx.insert("later_page".into(), json!(after.is_some()));
    ctx.insert("form".into(), Value::Object(form.clone()));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "admin_clusters.html", Value::Object(ctx))
}

/// A list's address read back (a reload after a refused add): the clusters.
async fn to_clusters(_a: Admin) -> HttpResponse {
    see_other("/admin")
}

/// `POST /admin/clusters`: creates a cluster, then shows its page to add its manager on.
async fn create_cluster(c: web::Data<Console>, posted: Posted, req: HttpRequest) -> HttpResponse {
    let Posted {
        form,
        session,
        user,
    } = posted;
    let a = match Admin::of(&c, session, user) {
        Ok(a) => a,
        Err(e) => return e.error_response(),
    };
    let typed = typed(&form, &CLUSTER_FIELDS);
    let zone = field(&typed, "time_zone").trim();
    let command = CreateCluster {
        code: field(&typed, "code").trim().to_owned(),
        name: field(&typed, "name").to_owned(),
        time_zone: (!zone.is_empty()).then(|| zone.to_owned()),
    };
    match c
        .hubbook
        .create_cluster(&a.user.caller(), None, command)
        .await
    {
        Ok(cluster) => see_other(&format!(
            "/admin/clusters/{}?saved=created",
            urlencode(&cluster.code)
        )),
        Err(e) => {
            let fields: [FormField; 3] = [
                (
                    ProblemType::InvalidClusterCode,
                    "code",
                    "Enter a code of 3 to 16 capital letters and digits, starting with a letter, like U12345",
                ),
                (
                    ProblemType::AlreadyExists,
                    "code",
                    "A cluster has this code already: choose another",
                ),
                (
                    ProblemType::InvalidTimeZone,
                    "time_zone",
                    "Enter a time zone by its IANA name, like Europe/London",
                ),
            ];
            let (status, error) = linked(refusal(e), &fields);
            render_clusters(&c, &a, &req, &typed, vec![error], status).await
        }
    }
}

/// `GET /admin/clusters/{code}`: the cluster, its managers and staff, and a link to add one.
async fn cluster(c: web::Data<Console>, m: Manager, req: HttpRequest) -> HttpResponse {
    let who = m.user.caller();
    let cluster = match c.hubbook.cluster(&who, m.code.clone()).await {
        Ok(cluster) => cluster,
        Err(e) => return m.refused(&c, "Cluster not found", e, "/admin"),
    };
    let mut errors = Vec::new();
    let practice_names: Vec<(String, String)> = match c
        .hubbook
        .list_practices(&who, m.code.clone(), None, SHOWN)
        .await
    {
        Ok(page) => page
            .items
            .into_iter()
            .map(|p| (p.id.into(), format!("{} ({})", p.name, p.ods_code)))
            .collect(),
        Err(e) => {
            errors.push(refusal(e).error);
            Vec::new()
        }
    };
    let mut users = match c
        .hubbook
        .list_users(&who, m.code.clone(), None, SHOWN)
        .await
    {
        Ok(page) => page.items,
        Err(e) => {
            errors.push(refusal(e).error);
            Vec::new()
        }
    };
    // Managers first: they are what an admin comes here for.
    users.sort_by_key(|u| u.role != Role::ClusterManager);
    let managers = users
        .iter()
        .filter(|u| u.role == Role::ClusterManager)
        .count();
    let mut ctx = m.base(&cluster.name);
    ctx.insert(
        "cluster".into(),
        json!({
            "code": cluster.code,
            "name": cluster.name,
            "time_zone": cluster.time_zone.name(),
            "created": m.user.local().when(cluster.created_at),
            "practices": practice_names.len(),
        }),
    );
    ctx.insert("users".into(), json!(user_rows(&users, &practice_names)));
    ctx.insert("managers".into(), json!(managers));
    ctx.insert("setup".into(), json!(m.setup));
    ctx.insert("notice".into(), json!(notice(&req)));
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(StatusCode::OK, "admin_cluster.html", Value::Object(ctx))
}

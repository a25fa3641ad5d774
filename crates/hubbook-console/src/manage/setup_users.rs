//! The cluster's staff users, for its manager: a receptionist of one of its practices or a
//! member of hub staff created with a one-time password, disabled and enabled, or given a new
//! one-time password. A password is shown once, on the page that answers the form that set it,
//! and never kept by the console: that page names its own address (htmx's `HX-Push-Url`) as the
//! user's page, which shows no password. The use case decides which roles a manager may create.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use hubbook_api::routes::users::UserPatch;
use hubbook_api::ProblemType;
use hubbook_service::users::{CreateUser, UpdateUser};
use hubbook_store::models::User;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::setup::{
    field, given, linked, missing, name_of, notice, stale_message, to_overview, typed,
    user_role_label, version_of, FormField, SHOWN,
};
use super::{Manager, ManagerPost};
use crate::errors::{api_refusal, refusal, FieldError};
use crate::pages::{see_other, shown_at, urlencode, Params};
use crate::Console;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    // The same screens for a cluster's manager and, on the cluster's admin page, an admin.
    for root in ["/manage/setup", "/admin/clusters/{code}"] {
        cfg.route(&format!("{root}/users/new"), web::get().to(new_user))
            .route(&format!("{root}/users"), web::get().to(to_overview))
            .route(&format!("{root}/users"), web::post().to(create_user))
            .route(&format!("{root}/users/{{id}}"), web::get().to(user_page))
            .route(
                &format!("{root}/users/{{id}}/active"),
                web::post().to(set_user_active),
            )
            .route(
                &format!("{root}/users/{{id}}/password"),
                web::post().to(new_password),
            )
            .route(
                &format!("{root}/users/{{id}}/{{action}}"),
                web::get().to(to_user),
            );
    }
}

/// The user an address names (its `{id}`).
fn user_id(req: &HttpRequest) -> String {
    req.match_info().query("id").to_owned()
}

/// An action's address read back: the record's page.
async fn to_user(m: Manager, req: HttpRequest) -> HttpResponse {
    see_other(&user_path(&m, &user_id(&req)))
}

/// Letters and digits a one-time password is made of: none read or heard as another (no 0 and
/// o, no 1, i and l).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh one-time password, four groups of four like `k7pm-x3qd-9trw-h2fn`: easy to read out
/// over the phone, and about 79 bits of chance.
fn one_time_password() -> String {
    let mut rng = rand::thread_rng();
    let group = |rng: &mut rand::rngs::ThreadRng| -> String {
        (0..4)
            .map(|_| char::from(PASSWORD_ALPHABET[rng.gen_range(0..PASSWORD_ALPHABET.len())]))
            .collect()
    };
    (0..4)
        .map(|_| group(&mut rng))
        .collect::<Vec<_>>()
        .join("-")
}

/// The rows of a cluster's users table (the set-up's and the admin's cluster page), each with
/// its role and practice in words.
pub(super) fn user_rows(users: &[User], practice_names: &[(String, String)]) -> Vec<Value> {
    users
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "username": u.username,
                "display_name": u.display_name,
                "role": user_role_label(u.role.as_str()),
                "practice": u.practice_id.as_ref().map(|id| name_of(practice_names, id.as_ref())),
                "active": u.active,
            })
        })
        .collect()
}

const USER_FIELDS: [&str; 4] = ["username", "display_name", "role", "practice"];

/// The cluster's practices as `(id, "name (ODS code)")`.
async fn practice_names(c: &Console, m: &Manager) -> Vec<(String, String)> {
    c.hubbook
        .list_practices(&m.user.caller(), m.code.clone(), None, SHOWN)
        .await
        .map(|p| {
            p.items
                .into_iter()
                .map(|p| (p.id.into(), format!("{} ({})", p.name, p.ods_code)))
                .collect()
        })
        .unwrap_or_default()
}

fn render_new_user(
    c: &Console,
    m: &Manager,
    form: &Map<String, Value>,
    practices: &[(String, String)],
    errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = m.base("Add a user");
    ctx.insert("form".into(), Value::Object(form.clone()));
    ctx.insert(
        "practices".into(),
        json!(practices
            .iter()
            .map(|(value, label)| json!({"value": value, "label": label}))
            .collect::<Vec<_>>()),
    );
    ctx.insert("errors".into(), json!(errors));
    ctx.insert("setup".into(), json!(m.setup));
    ctx.insert(
        "roles".into(),
        json!(offered_roles(m)
            .iter()
            .map(|(value, label)| json!({"value": value, "label": label}))
            .collect::<Vec<_>>()),
    );
    c.templates
        .page(status, "manage_setup_user_new.html", Value::Object(ctx))
}

async fn new_user(c: web::Data<Console>, m: Manager) -> HttpResponse {
    let mut form = Map::new();
    form.insert("role".into(), json!(offered_roles(&m)[0].0));
    let practices = practice_names(&c, &m).await;
    render_new_user(&c, &m, &form, &practices, Vec::new(), StatusCode::OK)
}

async fn create_user(c: web::Data<Console>, post: ManagerPost) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let typed = typed(&form, &USER_FIELDS);
    let password = given(form.get("password")).unwrap_or_else(one_time_password);
    let role = field(&typed, "role");
    let command = CreateUser::new(
        field(&typed, "username"),
        field(&typed, "display_name"),
        password.clone(),
        role,
        given(field(&typed, "practice")),
    );
    let created = match command {
        Ok(command) => {
            c.hubbook
                .create_user(&m.user.caller(), None, m.code.clone(), command)
                .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(user) => {
            let practices = practice_names(&c, &m).await;
            let page = render_user(
                &c,
                &m,
                &user,
                &practices,
                Password::Created(&password),
                None,
                Vec::new(),
                StatusCode::CREATED,
            );
            shown_at(page, &user_path(&m, &user.id))
        }
        Err(e) => {
            // A role the desk offers refused for its practice is about the practice.
            let role_field = if matches!(role, "receptionist" | "hub_staff") {
                (
                    ProblemType::InvalidRole,
                    "practice",
                    "Choose the receptionist's practice; hub staff have no practice",
                )
            } else {
                (ProblemType::InvalidRole, "role", "")
            };
            let fields: [FormField; 3] = [
                role_field,
                (
                    ProblemType::AlreadyExists,
                    "username",
                    "This username is taken: choose another",
                ),
                (
                    ProblemType::NotFound,
                    "practice",
                    "Choose one of the cluster's practices",
                ),
            ];
            let (status, error) = linked(refusal(e), &fields);
            let practices = practice_names(&c, &m).await;
            render_new_user(&c, &m, &typed, &practices, vec![error], status)
        }
    }
}

fn user_path(m: &Manager, id: &str) -> String {
    format!("{}/users/{}", m.setup, urlencode(id))
}

/// The roles the add-a-user form offers, as `(value, what they do)`: a manager adds the desk's
/// roles; an admin adds cluster managers too (the use case decides either way).
fn offered_roles(m: &Manager) -> Vec<(&'static str, &'static str)> {
    let mut roles = Vec::new();
    if m.user.role == hubbook_core::Role::Admin {
        roles.push((
            "cluster_manager",
            "Cluster manager: publishes rotas, sets sharing, adds the cluster's staff",
        ));
    }
    roles.push((
        "receptionist",
        "Receptionist: finds and books slots for their practice's patients",
    ));
    roles.push((
        "hub_staff",
        "Hub staff: sees the hub's day lists and records outcomes",
    ));
    roles
}

/// The password a user's page shows this once, if any.
enum Password<'a> {
    /// None: the page as it is read.
    Hidden,
    /// The first, of a user just created.
    Created(&'a str),
    /// A new one, just set.
    Reset(&'a str),
}

#[allow(clippy::too_many_arguments)]
fn render_user(
    c: &Console,
    m: &Manager,
    user: &User,
    practices: &[(String, String)],
    password: Password<'_>,
    notice: Option<String>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let (title, password) = match password {
        Password::Hidden => (user.display_name.clone(), None),
        Password::Created(p) => (format!("{} can now sign in", user.display_name), Some(p)),
        Password::Reset(p) => (format!("New password for {}", user.display_name), Some(p)),
    };
    let mut ctx = m.base(&title);
    ctx.insert(
        "record".into(),
        json!({
            "id": user.id,
            "version": user.version,
            "username": user.username,
            "display_name": user.display_name,
            "role": user_role_label(user.role.as_str()),
            "practice": user.practice_id.as_ref().map(|id| name_of(practices, id.as_str())),
            "active": user.active,
            "created": m.user.local().when(user.created_at),
            "is_me": user.id == m.user.sub,
        }),
    );
    ctx.insert("password".into(), json!(password));
    ctx.insert("notice".into(), json!(notice));
    ctx.insert("errors".into(), json!(errors));
    ctx.insert("setup".into(), json!(m.setup));
    ctx.insert("user_path".into(), json!(user_path(m, &user.id)));
    c.templates
        .page(status, "manage_setup_user.html", Value::Object(ctx))
}

async fn user_page(c: web::Data<Console>, m: Manager, req: HttpRequest) -> HttpResponse {
    match c
        .hubbook
        .user(&m.user.caller(), m.code.clone(), user_id(&req))
        .await
    {
        Ok(user) => {
            let practices = practice_names(&c, &m).await;
            render_user(
                &c,
                &m,
                &user,
                &practices,
                Password::Hidden,
                notice(&req),
                Vec::new(),
                StatusCode::OK,
            )
        }
        Err(e) => missing(&c, &m, "User not found", e),
    }
}

/// Changes a user as `change` says, against the version the page was drawn with: `Ok` with the
/// user changed, or the page to answer with (the user as now when it was stale, the refusal
/// otherwise).
async fn change_user(
    c: &Console,
    m: &Manager,
    id: String,
    form: &Params,
    change: UserPatch,
) -> Result<User, HttpResponse> {
    let who = m.user.caller();
    let refused = match (version_of(form), UpdateUser::try_from(change)) {
        (None, _) => None,
        (_, Err(e)) => Some(api_refusal(e)),
        (Some(expected), Ok(change)) => match c
            .hubbook
            .update_user(&who, m.code.clone(), id.clone(), Some(expected), change)
            .await
        {
            Ok(user) => return Ok(user),
            Err(e) if e.is_stale() => None,
            Err(e) => Some(refusal(e)),
        },
    };
    let now = match c.hubbook.user(&who, m.code.clone(), id).await {
        Ok(now) => now,
        Err(e) => return Err(missing(c, m, "User not found", e)),
    };
    let (error, status) = match refused {
        Some(r) => (r.error, r.status),
        None => (stale_message("user"), StatusCode::PRECONDITION_FAILED),
    };
    let practices = practice_names(c, m).await;
    Err(render_user(
        c,
        m,
        &now,
        &practices,
        Password::Hidden,
        None,
        vec![error],
        status,
    ))
}

async fn set_user_active(
    c: web::Data<Console>,
    post: ManagerPost,
    req: HttpRequest,
) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let active = form.get("active") == "true";
    let change = UserPatch {
        display_name: None,
        password: None,
        active: Some(active),
    };
    match change_user(&c, &m, user_id(&req), &form, change).await {
        Ok(user) => see_other(&format!(
            "{}?saved={}",
            user_path(&m, &user.id),
            if active { "enabled" } else { "disabled" }
        )),
        Err(page) => page,
    }
}

async fn new_password(c: web::Data<Console>, post: ManagerPost, req: HttpRequest) -> HttpResponse {
    let ManagerPost { form, manager: m } = post;
    let password = one_time_password();
    let change = UserPatch {
        display_name: None,
        password: Some(password.clone()),
        active: None,
    };
    match change_user(&c, &m, user_id(&req), &form, change).await {
        Ok(user) => {
            let practices = practice_names(&c, &m).await;
            let page = render_user(
                &c,
                &m,
                &user,
                &practices,
                Password::Reset(&password),
                None,
                Vec::new(),
                StatusCode::OK,
            );
            shown_at(page, &user_path(&m, &user.id))
        }
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_long_enough_unambiguous_and_fresh() {
        let a = one_time_password();
        let b = one_time_password();
        assert_ne!(a, b);
        assert_eq!(a.len(), 19);
        assert!(a.len() >= hubbook_service::users::MIN_PASSWORD_LEN);
        assert_eq!(a.split('-').count(), 4);
        assert!(a
            .chars()
            .all(|ch| ch == '-' || PASSWORD_ALPHABET.contains(&(ch as u8))));
        for ambiguous in ['0', 'o', '1', 'l', 'i'] {
            assert!(!PASSWORD_ALPHABET.contains(&(ambiguous as u8)));
        }
        assert!(CreateUser::new("jo.test", "Jo Test", a, "hub_staff", None).is_ok());
    }
}

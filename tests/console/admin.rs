//! The administrator's screens: the clusters listed and a new one added (a bad code or zone
//! named at its field, a taken code refused), its first cluster manager added with a one-time
//! password that signs in, disabled and signed out; and no admin screen for any other role, nor
//! a manager's screen for an admin.

use crate::both;
use crate::browser::{pairs, Browser, Page};
use crate::helpers::{TestApp, PASSWORD};
use crate::manage_rotas::manager;
use crate::manage_setup::text_of;

async fn admin(app: &TestApp) -> Browser {
    let mut b = Browser::new(app);
    let signed = b.sign_in("root", PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    b
}

fn cluster_form(page: &Page, code: &str, name: &str, zone: &str) -> Vec<(String, String)> {
    pairs(&[
        ("csrf_token", &page.field("/admin/clusters", "csrf_token")),
        ("code", code),
        ("name", name),
        ("time_zone", zone),
    ])
}

async fn an_admin_adds_a_cluster_and_its_manager_who_signs_in(app: TestApp) {
    let existing = app.cluster("U74001").await;
    let mut b = admin(&app).await;
    // The console's home is the clusters page.
    let home = b.get("/").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location(), "/admin");
    let clusters = b.get("/admin").await;
    assert_eq!(clusters.status, 200, "{}", clusters.body);
    clusters.assert_local();
    assert!(clusters.body.contains("U74001"));
    assert!(clusters.body.contains(&existing.code));

    // Bad values are named at their fields, and nothing is added.
    let before = app.count("clusters");
    let bad_code = b
        .post(
            "/admin/clusters",
            &cluster_form(&clusters, "u1", "Invented Valley PCN", ""),
        )
        .await;
    assert_eq!(bad_code.status, 422, "{}", bad_code.body);
    assert!(bad_code.body.contains("href=\"#code\""));
    assert!(bad_code.body.contains("Invented Valley PCN"), "typed kept");
    let bad_zone = b
        .post(
            "/admin/clusters",
            &cluster_form(&clusters, "U74002", "Invented Valley PCN", "Europe/Lundun"),
        )
        .await;
    assert_eq!(bad_zone.status, 422, "{}", bad_zone.body);
    assert!(bad_zone.body.contains("href=\"#time_zone\""));
    let taken = b
        .post(
            "/admin/clusters",
            &cluster_form(&clusters, "U74001", "Invented Valley PCN", "Europe/London"),
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(taken.body.contains("href=\"#code\""));
    assert_eq!(app.count("clusters"), before, "nothing added");

    let created = b
        .post(
            "/admin/clusters",
            &cluster_form(&clusters, "U74002", "Invented Valley PCN", "Europe/London"),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(created.location(), "/admin/clusters/U74002?saved=created");
    let page = b.get(created.location()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_local();
    assert!(page.body.contains("Invented Valley PCN"));
    assert_eq!(text_of(&page, "manager-count"), "0");
    assert_eq!(app.count("clusters"), before + 1);

    // Its first manager, with a one-time password shown once.
    let new = b.get("/admin/clusters/U74002/users/new").await;
    assert_eq!(new.status, 200, "{}", new.body);
    assert!(new.body.contains("value=\"cluster_manager\" checked"));
    let action = "/admin/clusters/U74002/users";
    let form = pairs(&[
        ("csrf_token", &new.field(action, "csrf_token")),
        ("display_name", "Sam Invented"),
        ("username", "sam.invented"),
        ("role", "cluster_manager"),
        ("practice", ""),
        ("password", ""),
    ]);
    let added = b.post(action, &form).await;
    assert_eq!(added.status, 201, "{}", added.body);
    let password = text_of(&added, "one-time-password");
    let address = added.headers["hx-push-url"].to_str().unwrap().to_owned();
    assert!(
        address.starts_with("/admin/clusters/U74002/users/"),
        "{address}"
    );
    let listed = b.get("/admin/clusters/U74002").await;
    assert_eq!(text_of(&listed, "manager-count"), "1");
    assert!(!listed.body.contains(&password));

    // The new manager signs in to their own cluster's screens, and not to the admin's.
    let mut sam = Browser::new(&app);
    assert_eq!(sam.sign_in("sam.invented", &password).await.status, 303);
    let today = sam.get("/manage/setup").await;
    assert_eq!(today.status, 200, "{}", today.body);
    assert!(today.body.contains("sam.invented"));
    assert_eq!(sam.get("/admin").await.status, 404);
    assert_eq!(sam.get("/admin/clusters/U74002").await.status, 404);
    assert_eq!(sam.get(&address).await.status, 404);
    assert_eq!(sam.get("/admin/clusters/U74001").await.status, 404);

    // The admin disables them: signed out at their next page, and they cannot sign in.
    let user_page = b.get(&address).await;
    assert_eq!(user_page.status, 200, "{}", user_page.body);
    let active = format!("{address}/active");
    let disabled = b.post(&active, &user_page.form(&active)).await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    assert_eq!(sam.get("/manage/setup").await.status, 303);
    assert_ne!(
        Browser::new(&app)
            .sign_in("sam.invented", &password)
            .await
            .status,
        303
    );
    // A second tab's stale form is refused, and the user left as they are.
    let stale = b.post(&active, &user_page.form(&active)).await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert!(stale.body.contains("Disabled: cannot sign in"));
}

async fn only_an_admin_sees_the_admin_screens_and_an_admin_no_managers(app: TestApp) {
    let c = app.cluster("U74003").await;
    let mut m = manager(&app, &c.code).await;
    for path in [
        "/admin",
        "/admin/clusters/U74003",
        "/admin/clusters/U74003/users/new",
    ] {
        assert_eq!(m.get(path).await.status, 404, "{path}");
    }
    let page = m.get("/manage/setup").await;
    let clusters = app.count("clusters");
    let refused = m
        .post(
            "/admin/clusters",
            &pairs(&[
                ("csrf_token", &page.field("/sign-out", "csrf_token")),
                ("code", "U74004"),
                ("name", "Not Allowed"),
                ("time_zone", "Europe/London"),
            ]),
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    let users = m
        .post(
            "/admin/clusters/U74003/users",
            &pairs(&[
                ("csrf_token", &page.field("/sign-out", "csrf_token")),
                ("display_name", "Not Allowed"),
                ("username", "not.allowed"),
                ("role", "cluster_manager"),
            ]),
        )
        .await;
    assert_eq!(users.status, 404, "{}", users.body);

    let mut desk = Browser::new(&app);
    assert_eq!(
        desk.sign_in(&format!("rec-{}", c.code.to_lowercase()), PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(desk.get("/admin").await.status, 404);

    // An admin does not use a manager's screens: those are the cluster's own.
    let mut b = admin(&app).await;
    assert_eq!(b.get("/manage").await.status, 404);
    assert_eq!(b.get("/manage/setup").await.status, 404);
    assert_eq!(b.get("/admin/clusters/NOPE1").await.status, 404);
    // The desk's pages are not an admin's either: refused with a page, never a failure, and
    // an admin has no worklist of patients.
    for path in ["/rebooking", "/hub/day", "/not-offered", "/?nhs=9990000018"] {
        let page = b.get(path).await;
        assert!(page.status < 500, "{path}: {} {}", page.status, page.body);
    }
    assert!(b
        .get("/rebooking")
        .await
        .body
        .contains("You are not in a cluster, so there is no worklist."));
    assert_eq!(app.count("clusters"), clusters, "nothing added");
}

both!(
    an_admin_adds_a_cluster_and_its_manager_who_signs_in,
    only_an_admin_sees_the_admin_screens_and_an_admin_no_managers,
);

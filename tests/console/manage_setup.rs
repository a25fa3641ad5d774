//! The cluster manager's set-up screens: practices, sites and services added and changed (a bad
//! value named at its field, a stale edit from a second tab refused with the other change
//! shown and nothing overwritten), staff users created with a one-time password shown once and
//! disabled, triage integrations' secrets shown once, rotated and revoked; and no set-up screen
//! for other roles.

use crate::both;
use crate::browser::{pairs, set, Browser, Page};
use crate::helpers::{TestApp, PASSWORD};
use crate::manage_rotas::manager;

/// The fields of the form posting to `action` on `page`, with `fields` set.
fn filled(page: &Page, action: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form = page.form(action);
    for (name, value) in fields {
        set(&mut form, name, value);
    }
    form
}

/// The text of the element with this id (up to its first tag).
pub(crate) fn text_of(page: &Page, id: &str) -> String {
    let key = format!("id=\"{id}\">");
    let start = page
        .body
        .find(&key)
        .unwrap_or_else(|| panic!("no #{id} in {}", page.body))
        + key.len();
    page.body[start..start + page.body[start..].find('<').unwrap()].to_owned()
}

fn header(page: &Page, name: &str) -> String {
    page.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

const NEW_PRACTICE: [(&str, &str); 5] = [
    ("ods_code", "B82005"),
    ("name", "Invented Green Surgery"),
    ("list_size", "7,250"),
    ("data_sharing_from", "2026-01-01"),
    ("data_sharing_to", ""),
];

async fn a_practice_is_added_and_listed_and_a_bad_value_is_named_at_its_field(app: TestApp) {
    let c = app.cluster("U73001").await;
    let mut b = manager(&app, &c.code).await;
    let overview = b.get("/manage/setup").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    overview.assert_local();
    for listed in [
        "B82001",
        "Hub North",
        "hub-u73001",
        "rec-u73001",
        "nhs111-u73001",
    ] {
        assert!(overview.body.contains(listed), "{listed} is listed");
    }
    assert!(overview.body.contains("href=\"/manage/setup\">Set-up</a>"));

    let blank = b.get("/manage/setup/practices/new").await;
    assert_eq!(blank.status, 200);
    let action = "/manage/setup/practices";
    let mut bad = NEW_PRACTICE.to_vec();
    bad[0] = ("ods_code", "B8200X");
    let refused = b.post(action, &filled(&blank, action, &bad)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("href=\"#ods_code\""));
    assert!(refused.body.contains("one letter followed by five digits"));
    assert!(
        refused.body.contains("value=\"Invented Green Surgery\""),
        "the typed form is kept"
    );
    let mut bad = NEW_PRACTICE.to_vec();
    bad[2] = ("list_size", "lots");
    let refused = b.post(action, &filled(&blank, action, &bad)).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("href=\"#list_size\""));
    let mut bad = NEW_PRACTICE.to_vec();
    bad[4] = ("data_sharing_to", "2025-12-31");
    let refused = b.post(action, &filled(&blank, action, &bad)).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("href=\"#data_sharing_to\""));

    let added = b.post(action, &filled(&blank, action, &NEW_PRACTICE)).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert!(added.location().starts_with("/manage/setup/practices/"));
    let shown = b.get(added.location()).await;
    assert!(shown.body.contains("The practice is saved"));
    assert!(shown.body.contains("value=\"7250\""));
    let overview = b.get("/manage/setup").await;
    assert!(overview.body.contains("B82005"));
    assert!(overview.body.contains("Invented Green Surgery"));
    assert!(overview.body.contains("From 1 January 2026"));

    let again = b.post(action, &filled(&blank, action, &NEW_PRACTICE)).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("href=\"#ods_code\""));
    assert!(again.body.contains("already in the cluster"));

    // A site with a postcode that is not one is refused at the postcode; nothing is added.
    let blank = b.get("/manage/setup/sites/new").await;
    let action = "/manage/setup/sites";
    let site = [
        ("name", "Invented Hub South"),
        ("kind", "hub"),
        ("address", "3 Test Road"),
        ("postcode", "LS1"),
        ("latitude", "53.79"),
        ("longitude", "-1.54"),
    ];
    let refused = b.post(action, &filled(&blank, action, &site)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("href=\"#postcode\""));
    let sites = app
        .get(&format!("/api/v1/clusters/{}/sites", c.code), &c.manager)
        .await;
    assert_eq!(sites.ok(200)["items"].as_array().unwrap().len(), 1);
}

async fn sites_and_services_change_with_the_version_they_were_drawn_with(app: TestApp) {
    let c = app.cluster("U73002").await;
    let mut b = manager(&app, &c.code).await;
    let path = format!("/manage/setup/sites/{}", c.site_id);
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_local();
    assert_eq!(page.field(&path, "version"), "1");
    let changed = b
        .post(
            &path,
            &filled(
                &page,
                &path,
                &[("name", "Hub North East"), ("postcode", "ls2 7ew")],
            ),
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(changed.location(), format!("{path}?saved=1"));
    let site = app
        .get(
            &format!("/api/v1/clusters/{}/sites/{}", c.code, c.site_id),
            &c.manager,
        )
        .await;
    let site = site.ok(200);
    assert_eq!(site["name"], "Hub North East");
    assert_eq!(site["postcode"], "LS2 7EW");
    assert_eq!(site["kind"], "hub");
    assert_eq!(site["version"], 2);

    // Coordinates outside the British Isles are the core's to refuse, at the latitude.
    let page = b.get(&path).await;
    let refused = b
        .post(&path, &filled(&page, &path, &[("latitude", "40.4")]))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("href=\"#latitude\""));
    assert_eq!(
        refused.field(&path, "version"),
        "2",
        "a refused form keeps the version it was drawn with"
    );

    // A service is added, then renamed.
    let blank = b.get("/manage/setup/services/new").await;
    let action = "/manage/setup/services";
    let bad = pairs(&[
        ("csrf_token", &blank.field(action, "csrf_token")),
        ("code", "Blood Tests"),
        ("name", "Blood tests"),
        ("clinical_role", "phlebotomist"),
    ]);
    let refused = b.post(action, &bad).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("href=\"#code\""));
    let mut good = bad.clone();
    set(&mut good, "code", "bloods");
    let added = b.post(action, &good).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let service_path = added.location().split('?').next().unwrap().to_owned();
    let page = b.get(&service_path).await;
    assert!(page.body.contains("bloods (it does not change)"));
    let mut renamed = filled(&page, &service_path, &[("name", "Phlebotomy clinic")]);
    renamed.push(("clinical_role".into(), "phlebotomist".into()));
    let saved = b.post(&service_path, &renamed).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let services = app
        .get(&format!("/api/v1/clusters/{}/services", c.code), &c.manager)
        .await;
    let services = services.ok(200)["items"].as_array().unwrap().clone();
    assert!(services
        .iter()
        .any(|s| s["code"] == "bloods" && s["name"] == "Phlebotomy clinic"));
}

async fn a_stale_edit_from_a_second_tab_is_refused_with_the_other_change_shown(app: TestApp) {
    let c = app.cluster("U73003").await;
    let mut first = manager(&app, &c.code).await;
    let mut second = manager(&app, &c.code).await;
    let path = format!("/manage/setup/practices/{}", c.practice_id);
    let tab_one = first.get(&path).await;
    let tab_two = second.get(&path).await;
    assert_eq!(
        tab_one.field(&path, "version"),
        tab_two.field(&path, "version")
    );
    let saved = first
        .post(&path, &filled(&tab_one, &path, &[("list_size", "9100")]))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    let stale = second
        .post(&path, &filled(&tab_two, &path, &[("name", "X")]))
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    stale.assert_local();
    assert!(stale
        .body
        .contains("Someone else changed this practice after you opened this page"));
    assert_eq!(text_of(&stale, "now-list_size"), "9100", "now saved");
    assert_eq!(text_of(&stale, "now-name"), "Test Surgery");
    assert!(stale.body.contains("value=\"X\""), "the typed form is kept");
    assert!(stale.body.contains("Differs"));
    let practice = app
        .get(
            &format!("/api/v1/clusters/{}/practices/{}", c.code, c.practice_id),
            &c.manager,
        )
        .await;
    let practice = practice.ok(200);
    assert_eq!(
        practice["name"], "Test Surgery",
        "nothing of the stale edit"
    );
    assert_eq!(practice["list_size"], 9100);

    // A form without the version it was drawn with is not saved either.
    let mut versionless = filled(&tab_two, &path, &[("name", "X")]);
    versionless.retain(|(n, _)| n != "version");
    assert_eq!(second.post(&path, &versionless).await.status, 412);

    // Saved again from the redrawn page (which carries the version now saved), it lands.
    let again = second.post(&path, &stale.form(&path)).await;
    assert_eq!(again.status, 303, "{}", again.body);
    let practice = app
        .get(
            &format!("/api/v1/clusters/{}/practices/{}", c.code, c.practice_id),
            &c.manager,
        )
        .await;
    assert_eq!(practice.ok(200)["name"], "X");
}

async fn a_new_hub_staff_member_signs_in_with_the_password_shown_once(app: TestApp) {
    let c = app.cluster("U73004").await;
    let mut b = manager(&app, &c.code).await;
    let blank = b.get("/manage/setup/users/new").await;
    assert_eq!(blank.status, 200, "{}", blank.body);
    let action = "/manage/setup/users";
    let user = |role: &str, username: &str, practice: &str| {
        pairs(&[
            ("csrf_token", &blank.field(action, "csrf_token")),
            ("display_name", "Jo Testperson"),
            ("username", username),
            ("role", role),
            ("practice", practice),
            ("password", ""),
        ])
    };
    let before = app.count("users");

    // The use case decides who a manager may add: not an admin; a receptionist has a practice.
    let admin = b.post(action, &user("admin", "jo.admin", "")).await;
    assert_eq!(admin.status, 422, "{}", admin.body);
    assert!(admin.body.contains("href=\"#role\""));
    let lost = b.post(action, &user("receptionist", "jo.rec", "")).await;
    assert_eq!(lost.status, 422);
    assert!(lost.body.contains("href=\"#practice\""));
    let taken = b.post(action, &user("hub_staff", "hub-u73004", "")).await;
    assert_eq!(taken.status, 409);
    assert!(taken.body.contains("href=\"#username\""));
    assert!(!taken.body.contains("one-time-password"));
    assert_eq!(app.count("users"), before, "nothing added");

    let created = b
        .post(action, &user("hub_staff", "Jo.Testperson", ""))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.assert_local();
    let password = text_of(&created, "one-time-password");
    assert!(password.len() >= 12, "{password}");
    assert_eq!(text_of(&created, "new-username"), "jo.testperson");
    let address = header(&created, "hx-push-url");
    assert!(address.starts_with("/manage/setup/users/"), "{address}");
    assert_eq!(app.count("users"), before + 1);

    // Its page, read again, never shows the password.
    let again = b.get(&address).await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("jo.testperson"));
    assert!(!again.body.contains(&password));
    assert!(!b.get("/manage/setup").await.body.contains(&password));

    let mut staff = Browser::new(&app);
    let signed = staff.sign_in("jo.testperson", &password).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(staff.get("/hub/day").await.status, 200);
    assert_eq!(staff.get("/manage/setup").await.status, 404);

    // A new password replaces the old one at once, and is shown once.
    let action = format!("{address}/password");
    let reset = b.post(&action, &again.form(&action)).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let new_password = text_of(&reset, "one-time-password");
    assert_ne!(new_password, password);
    assert_ne!(
        Browser::new(&app)
            .sign_in("jo.testperson", &password)
            .await
            .status,
        303
    );
    assert_eq!(
        Browser::new(&app)
            .sign_in("jo.testperson", &new_password)
            .await
            .status,
        303
    );
    assert!(!b.get(&address).await.body.contains(&new_password));
}

async fn a_disabled_user_can_no_longer_sign_in(app: TestApp) {
    let c = app.cluster("U73005").await;
    let users = app
        .get(&format!("/api/v1/clusters/{}/users", c.code), &c.manager)
        .await;
    let id = users.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "rec-u73005")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut desk = Browser::new(&app);
    assert_eq!(desk.sign_in("rec-u73005", PASSWORD).await.status, 303);

    let mut b = manager(&app, &c.code).await;
    let path = format!("/manage/setup/users/{id}");
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Test Surgery (B82001)"));
    let action = format!("{path}/active");
    let disabled = b.post(&action, &page.form(&action)).await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    assert_eq!(disabled.location(), format!("{path}?saved=disabled"));
    let shown = b.get(disabled.location()).await;
    assert!(shown.body.contains("can no longer sign in"));
    assert!(shown.body.contains("Disabled: cannot sign in"));

    assert_ne!(
        Browser::new(&app)
            .sign_in("rec-u73005", PASSWORD)
            .await
            .status,
        303
    );
    let signed_out = desk.get("/").await;
    assert_eq!(
        (signed_out.status, signed_out.location()),
        (303, "/sign-in"),
        "the open session ends at its next page"
    );

    // The same form again was drawn before the change: refused, the user shown as now.
    let stale = b.post(&action, &page.form(&action)).await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert!(stale.body.contains("Someone else changed this user"));
    assert!(stale.body.contains("Enable rec-u73005"));

    let enabled = b.post(&action, &stale.form(&action)).await;
    assert_eq!(enabled.status, 303, "{}", enabled.body);
    assert_eq!(
        Browser::new(&app)
            .sign_in("rec-u73005", PASSWORD)
            .await
            .status,
        303
    );

    // A manager's own page offers no way to lock themselves out.
    let me = users.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "manager-u73005")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = b.get(&format!("/manage/setup/users/{me}")).await;
    assert!(own.body.contains("This is your own account"));
    assert!(!own.body.contains("/active\""));
}

async fn an_integrations_secret_is_shown_once_rotated_and_revoked(app: TestApp) {
    let c = app.cluster("U73006").await;
    let mut b = manager(&app, &c.code).await;
    let blank = b.get("/manage/setup/integrations/new").await;
    assert_eq!(blank.status, 200, "{}", blank.body);
    let action = "/manage/setup/integrations";
    let created = b
        .post(
            action,
            &filled(&blank, action, &[("name", "NHS 111 Invented Region")]),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let client_id = text_of(&created, "new-client-id");
    let first = text_of(&created, "client-secret");
    let address = header(&created, "hx-push-url");
    assert!(address.starts_with("/manage/setup/integrations/"));
    assert_eq!(app.client_token(&client_id, &first).await.status, 200);
    let page = b.get(&address).await;
    assert!(!page.body.contains(&first), "shown once");
    assert!(page.body.contains(&client_id));

    let taken = b
        .post(
            action,
            &filled(
                &blank,
                action,
                &[("name", "Another"), ("client_id", &client_id)],
            ),
        )
        .await;
    assert_eq!(taken.status, 409);
    assert!(taken.body.contains("href=\"#client_id\""));

    // A new secret works at once; the old one still works through the changeover.
    let rotate = format!("{address}/rotate");
    let rotated = b.post(&rotate, &page.form(&rotate)).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = text_of(&rotated, "client-secret");
    assert_ne!(first, second);
    assert_eq!(app.client_token(&client_id, &second).await.status, 200);
    assert_eq!(app.client_token(&client_id, &first).await.status, 200);

    // Revoking the old one (listed second: newest first) stops it; the new one goes on.
    let page = b.get(&address).await;
    let revokes: Vec<&str> = page
        .body
        .match_indices(&format!("action=\"{address}/secrets/"))
        .map(|(i, _)| {
            let start = i + "action=\"".len();
            &page.body[start..start + page.body[start..].find('"').unwrap()]
        })
        .collect();
    assert_eq!(revokes.len(), 2, "both secrets work");
    let revoked = b.post(revokes[1], &page.form(revokes[1])).await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert_ne!(app.client_token(&client_id, &first).await.status, 200);
    assert_eq!(app.client_token(&client_id, &second).await.status, 200);

    // Disabled, it gets no token at all.
    let page = b.get(&address).await;
    let active = format!("{address}/active");
    let disabled = b.post(&active, &page.form(&active)).await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    assert_ne!(app.client_token(&client_id, &second).await.status, 200);
    let stale = b.post(&active, &page.form(&active)).await;
    assert_eq!(stale.status, 412, "{}", stale.body);
}

async fn other_roles_find_no_set_up_screens(app: TestApp) {
    let c = app.cluster("U73007").await;
    let users = app.count("users");
    for user in ["rec-u73007", "hub-u73007"] {
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in(user, PASSWORD).await.status, 303);
        for path in [
            "/manage/setup",
            "/manage/setup/practices/new",
            &format!("/manage/setup/practices/{}", c.practice_id),
            "/manage/setup/users/new",
        ] {
            let page = b.get(path).await;
            assert_eq!(page.status, 404, "{user} {path}");
            assert!(page.body.contains("There is nothing here that you may see"));
        }
        let home = b.get("/hub/day").await;
        let csrf = home.field("/sign-out", "csrf_token");
        let practice = pairs(&[
            ("csrf_token", &csrf),
            ("ods_code", "B82009"),
            ("name", "Sneaky Surgery"),
            ("list_size", "100"),
        ]);
        assert_eq!(
            b.post("/manage/setup/practices", &practice).await.status,
            404,
            "{user}"
        );
        let staff = pairs(&[
            ("csrf_token", &csrf),
            ("display_name", "Sneaky"),
            ("username", "sneaky"),
            ("role", "hub_staff"),
        ]);
        assert_eq!(
            b.post("/manage/setup/users", &staff).await.status,
            404,
            "{user}"
        );
        let renamed = pairs(&[("csrf_token", &csrf), ("version", "1"), ("name", "Sneaky")]);
        let path = format!("/manage/setup/practices/{}", c.practice_id);
        assert_eq!(b.post(&path, &renamed).await.status, 404, "{user}");
    }
    let practices = app
        .get(
            &format!("/api/v1/clusters/{}/practices", c.code),
            &c.manager,
        )
        .await;
    let practices = practices.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(practices.len(), 1, "nothing added");
    assert_eq!(practices[0]["name"], "Test Surgery", "nothing changed");
    assert_eq!(app.count("users"), users, "nobody added");
}

both!(
    a_practice_is_added_and_listed_and_a_bad_value_is_named_at_its_field,
    sites_and_services_change_with_the_version_they_were_drawn_with,
    a_stale_edit_from_a_second_tab_is_refused_with_the_other_change_shown,
    a_new_hub_staff_member_signs_in_with_the_password_shown_once,
    a_disabled_user_can_no_longer_sign_in,
    an_integrations_secret_is_shown_once_rotated_and_revoked,
    other_roles_find_no_set_up_screens,
);

//! The cluster manager's rota screens: create a rota, add sessions in the week grid (a wall time
//! the spring clock change skips is refused as it is saved), publish after a preview that names
//! the patients a change would move, a stale edit refused with the other change shown, and no
//! manager screen for other roles.

use serde_json::json;

use crate::both;
use crate::browser::{pairs, Browser, Page};
use crate::helpers::{nhs, Cluster, TestApp, PASSWORD};

/// A signed-in cluster manager.
pub async fn manager(app: &TestApp, code: &str) -> Browser {
    let mut b = Browser::new(app);
    let signed = b
        .sign_in(&format!("manager-{}", code.to_lowercase()), PASSWORD)
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    b
}

/// The CSRF token and rota version of the template form, with `fields` added.
fn template_form(page: &Page, rota: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let action = format!("/manage/rotas/{rota}/templates");
    let mut form = pairs(&[
        ("csrf_token", &page.field(&action, "csrf_token")),
        ("version", &page.field(&action, "version")),
        ("original_key", &page.field(&action, "original_key")),
    ]);
    form.extend(pairs(fields));
    form
}

/// A weekday-evening session at the cluster's hub.
fn evening<'a>(c: &'a Cluster, start: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("key", "weekday-evening"),
        ("site", &c.site_id),
        ("service", &c.service_id),
        ("start", start),
        ("end", "20:00"),
        ("slot_minutes", "10"),
        ("capacity", "1"),
        ("delivery", "face_to_face"),
        ("day_mon", "on"),
        ("day_tue", "on"),
        ("day_wed", "on"),
        ("day_thu", "on"),
        ("day_fri", "on"),
        ("pattern", "every_week"),
        ("valid_from", "2026-12-01"),
    ]
}

/// Previews (or, with `confirm`, applies) publishing the rota over 7-11 December 2026.
async fn publish(b: &mut Browser, rota: &str, page: &Page) -> Page {
    let preview = b
        .post(
            &format!("/manage/rotas/{rota}/preview"),
            &pairs(&[
                (
                    "csrf_token",
                    &page.field(&format!("/manage/rotas/{rota}/preview"), "csrf_token"),
                ),
                ("action", "publish"),
                ("from", "2026-12-07"),
                ("to", "2026-12-11"),
            ]),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    preview.assert_local();
    preview
}

async fn confirm(b: &mut Browser, rota: &str, preview: &Page) -> Page {
    let action = format!("/manage/rotas/{rota}/apply");
    let done = b.post(&action, &preview.form(&action)).await;
    assert_eq!(done.status, 200, "{}", done.body);
    done
}

fn figure(page: &Page, id: &str) -> String {
    let start = page
        .body
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no {id} in {}", page.body));
    let rest = &page.body[start + id.len() + 6..];
    rest[..rest.find('<').unwrap()].to_owned()
}

async fn slots_on_monday(app: &TestApp, c: &Cluster) -> Vec<serde_json::Value> {
    let reply = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z&limit=100",
            &c.receptionist,
        )
        .await;
    reply.ok(200)["items"].as_array().unwrap().clone()
}

async fn a_rota_is_drawn_previewed_and_published(app: TestApp) {
    let c = app.cluster("U71001").await;
    app.send(
        reqwest::Method::PUT,
        &format!("/api/v1/clusters/{}/sharing", c.code),
        Some(&c.manager),
        Some(json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    app.clock.set(crate::helpers::at("2026-12-01T08:00:00Z"));
    let mut b = manager(&app, &c.code).await;
    let list = b.get("/manage/rotas").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.assert_local();
    assert!(list.body.contains("The cluster has no rotas yet"));

    // An empty name is refused, linked to its field.
    let form = list.form("/manage/rotas");
    let mut unnamed = form.clone();
    unnamed.retain(|(n, _)| n == "csrf_token");
    unnamed.push(("name".into(), " ".into()));
    let refused = b.post("/manage/rotas", &unnamed).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("href=\"#name\""));

    let mut named = form;
    named.retain(|(n, _)| n == "csrf_token");
    named.push(("name".into(), "Evenings".into()));
    let created = b.post("/manage/rotas", &named).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let rota_path = created.location().to_owned();
    let rota = rota_path.rsplit('/').next().unwrap().to_owned();
    let page = b.get(&rota_path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No sessions yet"));

    // A Sunday 01:30 start does not exist on 28 March 2027 in London: refused as it is saved.
    let night = template_form(
        &page,
        &rota,
        &[
            ("key", "sunday-night"),
            ("site", &c.site_id),
            ("service", &c.service_id),
            ("start", "01:30"),
            ("end", "03:00"),
            ("slot_minutes", "10"),
            ("capacity", "1"),
            ("delivery", "telephone"),
            ("day_sun", "on"),
            ("pattern", "every_week"),
            ("valid_from", "2027-03-01"),
        ],
    );
    let gap = b
        .post(&format!("/manage/rotas/{rota}/templates"), &night)
        .await;
    assert_eq!(gap.status, 422, "{}", gap.body);
    assert!(
        gap.body.contains("01:30:00 does not exist on 2027-03-28"),
        "{}",
        gap.body
    );
    assert!(gap.body.contains("href=\"#start\""));
    assert!(
        gap.body.contains("value=\"sunday-night\""),
        "the form keeps what was typed"
    );
    // A time that does not parse is named as such.
    let mut garbled = template_form(&page, &rota, &evening(&c, "6pm"));
    garbled.retain(|(n, _)| n != "day_mon");
    let bad = b
        .post(&format!("/manage/rotas/{rota}/templates"), &garbled)
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Enter the start time as a 24-hour time"));

    // Christmas and Boxing Day (moved to Monday 28th) offered as dates to skip; one is ticked.
    assert!(page.body.contains("Boxing Day, Monday 28 December 2026"));
    let mut first = template_form(&page, &rota, &evening(&c, "18:00"));
    first.push(("bh_2026-12-25".into(), "on".into()));
    first.push(("skip_dates".into(), "2026-12-24".into()));
    let saved = b
        .post(&format!("/manage/rotas/{rota}/templates"), &first)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = b.get(saved.location()).await;
    assert!(
        page.body.contains("Session weekday-evening is saved"),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("18:00–20:00").count(), 5, "one a weekday");
    assert!(!page.body.contains("id=\"advice\""), "nothing to check yet");
    let reply = app
        .get(
            &format!("/api/v1/clusters/{}/rotas/{rota}", c.code),
            &c.manager,
        )
        .await;
    assert_eq!(
        reply.ok(200)["templates"][0]["skip_dates"],
        json!(["2026-12-24", "2026-12-25"])
    );
    let edit = b.get(&format!("{rota_path}?edit=weekday-evening")).await;
    assert!(edit.body.contains(
        "id=\"bh_2026-12-25\" name=\"bh_2026-12-25\" type=\"checkbox\" value=\"on\" checked"
    ));
    assert!(
        edit.body
            .contains("id=\"skip_dates\" name=\"skip_dates\" type=\"text\" value=\"2026-12-24\""),
        "{}",
        edit.body
    );

    // The preview writes nothing and says what publishing would do.
    let preview = publish(&mut b, &rota, &page).await;
    assert_eq!(figure(&preview, "sessions-created"), "5");
    assert_eq!(figure(&preview, "slots-created"), "60");
    assert!(preview.body.contains("id=\"moved-none\""));
    assert!(
        slots_on_monday(&app, &c).await.is_empty(),
        "a preview writes nothing"
    );
    let done = confirm(&mut b, &rota, &preview).await;
    assert!(done.body.contains("The rota is published"));
    let monday = slots_on_monday(&app, &c).await;
    assert_eq!(monday.len(), 12);

    // A patient booked at 18:00; the session moves to 19:00, so the preview names them.
    let first = monday[0]["slot_id"].as_str().unwrap();
    app.book_directly(&c.code, first, &c.practice_id).unwrap();
    let page = b.get(&format!("{rota_path}?edit=weekday-evening")).await;
    assert!(page.body.contains("Change session weekday-evening"));
    let moved = b
        .post(
            &format!("/manage/rotas/{rota}/templates"),
            &template_form(&page, &rota, &evening(&c, "19:00")),
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let page = b.get(&rota_path).await;
    assert_eq!(page.body.matches("19:00–20:00").count(), 5);
    // A second session at the same place and time, 25 minutes long: both are pointed out.
    let mut overlap = evening(&c, "19:30");
    overlap[0] = ("key", "late-extra");
    overlap[4] = ("end", "19:55");
    let also = b
        .post(
            &format!("/manage/rotas/{rota}/templates"),
            &template_form(&page, &rota, &overlap),
        )
        .await;
    assert_eq!(
        also.status, 303,
        "advice never blocks a save: {}",
        also.body
    );
    let page = b.get(&rota_path).await;
    assert!(page.body.contains("id=\"advice\""));
    assert!(page
        .body
        .contains("Sessions &#x27;weekday-evening&#x27; and &#x27;late-extra&#x27; offer the same service"), "{}", page.body);
    assert!(page
        .body
        .contains("its last 5 minutes are shorter than a slot"));
    let remove = b
        .post(
            &format!("/manage/rotas/{rota}/templates/remove"),
            &pairs(&[
                (
                    "csrf_token",
                    &page.field(&format!("/manage/rotas/{rota}/templates"), "csrf_token"),
                ),
                (
                    "version",
                    &page.field(&format!("/manage/rotas/{rota}/templates"), "version"),
                ),
                ("key", "late-extra"),
            ]),
        )
        .await;
    assert_eq!(remove.status, 303, "{}", remove.body);
    let page = b.get(&rota_path).await;
    assert!(!page.body.contains("late-extra"));
    assert_eq!(
        page.body.matches("18:00–20:00").count(),
        0,
        "changed, not added"
    );
    let preview = publish(&mut b, &rota, &page).await;
    assert!(preview.body.contains("Ada Testpatient"), "{}", preview.body);
    assert!(preview.body.contains("Monday 7 December 2026 at 6pm"));
    assert!(preview.body.contains("NHS number 999 000 0018"));
    let done = confirm(&mut b, &rota, &preview).await;
    assert!(
        done.body.contains("1 patient is on the rebooking list"),
        "{}",
        done.body
    );
    let worklist = b.get("/rebooking").await;
    assert!(worklist.body.contains("Ada Testpatient"));
    let _ = nhs(1);
}

async fn a_stale_edit_is_refused_and_shows_the_other_change(app: TestApp) {
    let c = app.cluster("U71002").await;
    app.clock.set(crate::helpers::at("2026-12-01T08:00:00Z"));
    let mut first = manager(&app, &c.code).await;
    let mut second = manager(&app, &c.code).await;
    let list = first.get("/manage/rotas").await;
    let mut named = list.form("/manage/rotas");
    named.retain(|(n, _)| n == "csrf_token");
    named.push(("name".into(), "Weekends".into()));
    let created = first.post("/manage/rotas", &named).await;
    let rota_path = created.location().to_owned();
    let rota = rota_path.rsplit('/').next().unwrap().to_owned();
    // Both tabs draw the rota at version 1.
    let tab_one = first.get(&rota_path).await;
    let tab_two = second.get(&rota_path).await;
    let saved = first
        .post(
            &format!("/manage/rotas/{rota}/templates"),
            &template_form(&tab_one, &rota, &evening(&c, "18:00")),
        )
        .await;
    assert_eq!(saved.status, 303);
    let mut other = evening(&c, "17:00");
    other[0] = ("key", "early-evening");
    let stale = second
        .post(
            &format!("/manage/rotas/{rota}/templates"),
            &template_form(&tab_two, &rota, &other),
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert!(stale.body.contains("Someone else changed this rota"));
    assert!(
        stale.body.contains("18:00–20:00"),
        "the other change is shown"
    );
    assert!(
        stale.body.contains("value=\"early-evening\""),
        "the typed form is kept"
    );
    let reply = app
        .get(
            &format!("/api/v1/clusters/{}/rotas/{rota}", c.code),
            &c.manager,
        )
        .await;
    let templates = reply.ok(200)["templates"].as_array().unwrap().clone();
    assert_eq!(templates.len(), 1, "nothing overwritten");
    // Saved again from the redrawn page, it lands.
    let again = second
        .post(
            &format!("/manage/rotas/{rota}/templates"),
            &template_form(&stale, &rota, &other),
        )
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
}

async fn other_roles_find_no_manager_screens(app: TestApp) {
    let c = app.cluster("U71003").await;
    for user in ["rec-u71003", "hub-u71003"] {
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in(user, PASSWORD).await.status, 303);
        for path in ["/manage/rotas", "/manage/rotas/anything"] {
            let page = b.get(path).await;
            assert_eq!(page.status, 404, "{user} {path}");
            assert!(page.body.contains("There is nothing here that you may see"));
        }
        let home = b.get("/hub/day").await;
        let csrf = home.field("/sign-out", "csrf_token");
        let post = b
            .post(
                "/manage/rotas",
                &pairs(&[("csrf_token", &csrf), ("name", "Sneaky")]),
            )
            .await;
        assert_eq!(post.status, 404, "{user}");
    }
    let reply = app
        .get(&format!("/api/v1/clusters/{}/rotas", c.code), &c.manager)
        .await;
    assert!(reply.ok(200)["items"].as_array().unwrap().is_empty());
}

both!(
    a_rota_is_drawn_previewed_and_published,
    a_stale_edit_is_refused_and_shows_the_other_change,
    other_roles_find_no_manager_screens,
);

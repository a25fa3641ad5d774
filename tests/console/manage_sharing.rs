//! The cluster manager's sharing screen: the rules in force, a preview of what new rules would
//! give each practice over the next four weeks, which then matches the fair-share report once
//! the rota is published under them, and a stale save refused with the rules in force shown.

use serde_json::json;

use crate::both;
use crate::browser::{pairs, Page};
use crate::helpers::{at, TestApp};
use crate::manage_rotas::manager;

/// The numbers of the preview table's row for a practice: list size, fair share, reserved.
fn preview_row(page: &Page, ods: &str) -> Vec<String> {
    let start = page
        .body
        .find(&format!(
            "<th scope=\"row\" class=\"nhsuk-table__cell\">{ods}</th>"
        ))
        .unwrap_or_else(|| panic!("no row for {ods} in {}", page.body));
    let row = &page.body[start..start + page.body[start..].find("</tr>").unwrap()];
    row.split("nhsuk-table__cell--numeric\">")
        .skip(1)
        .map(|cell| cell[..cell.find('<').unwrap()].to_owned())
        .collect()
}

fn number(page: &Page, id: &str) -> i64 {
    let start = page.body.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
    page.body[start..start + page.body[start..].find('<').unwrap()]
        .parse()
        .unwrap()
}

fn sharing_form(page: &Page, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form = pairs(&[
        ("csrf_token", &page.field("/manage/sharing", "csrf_token")),
        ("version", &page.field("/manage/sharing", "version")),
    ]);
    form.extend(pairs(fields));
    form
}

const PER_DAY_TWO: [(&str, &str); 5] = [
    ("triage_kind", "per_day"),
    ("triage_slots", "2"),
    ("practice_release_hours", "48"),
    ("triage_release_hours", "4"),
    ("apportionment", "yes"),
];

async fn the_preview_matches_the_fair_share_report_after_publishing(app: TestApp) {
    let c = app.cluster("U72001").await;
    app.post(
        &format!("/api/v1/clusters/{}/practices", c.code),
        &c.manager,
        json!({"ods_code": "B82002", "name": "Second Surgery", "list_size": 3000, "data_sharing_from": "2026-01-01"}),
    )
    .await
    .ok(201);
    let template = json!({"key": "gp", "site_id": c.site_id, "service_id": c.service_id, "start": "09:00", "end": "12:00",
        "slot_minutes": 10, "capacity": 1, "delivery": "face_to_face", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "valid_from": "2026-01-01"});
    let rota = app
        .post(
            &format!("/api/v1/clusters/{}/rotas", c.code),
            &c.manager,
            json!({"name": "Mornings", "templates": [template]}),
        )
        .await;
    let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
    app.clock.set(at("2026-12-01T08:00:00Z"));

    let mut b = manager(&app, &c.code).await;
    let page = b.get("/manage/sharing").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_local();
    assert!(page.body.contains("Version 0"));

    // A percentage over 100 is refused with the rule's own words; a word is not a number.
    let mut bad = sharing_form(&page, &PER_DAY_TWO);
    bad.retain(|(n, _)| n != "triage_slots");
    bad.push(("triage_slots".into(), "two".into()));
    let refused = b.post("/manage/sharing", &bad).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("href=\"#triage_slots\""));

    let mut fields = PER_DAY_TWO.to_vec();
    fields.push(("intent", "preview"));
    let preview = b
        .post("/manage/sharing", &sharing_form(&page, &fields))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    // 20 weekdays from 1 to 28 December, 18 slots each; two a day kept for 111.
    assert_eq!(number(&preview, "preview-slots"), 360);
    assert_eq!(number(&preview, "preview-triage"), 40);
    let big = preview_row(&preview, "B82001");
    let small = preview_row(&preview, "B82002");
    assert_eq!((big[0].as_str(), small[0].as_str()), ("9000", "3000"));
    let unchanged = b.get("/manage/sharing").await;
    assert!(
        unchanged.body.contains("Version 0"),
        "a preview saves nothing"
    );

    let mut fields = PER_DAY_TWO.to_vec();
    fields.push(("intent", "save"));
    let saved = b
        .post("/manage/sharing", &sharing_form(&page, &fields))
        .await;
    assert_eq!(
        (saved.status, saved.location()),
        (303, "/manage/sharing?saved=1")
    );
    let after = b.get("/manage/sharing?saved=1").await;
    assert!(after.body.contains("The sharing rules are saved"));
    assert!(after.body.contains("Version 1"));
    assert!(after.body.contains("2 slots a day for 111"));

    // Published under the rules, the fair-share report shows what the preview said.
    app.post(
        &format!("/api/v1/clusters/{}/rotas/{rota}/publish", c.code),
        &c.manager,
        json!({"from": "2026-12-01", "to": "2026-12-28"}),
    )
    .await
    .ok(200);
    let report = app
        .get(
            &format!(
                "/api/v1/clusters/{}/reports/fair-share?from=2026-12-01&to=2026-12-28",
                c.code
            ),
            &c.manager,
        )
        .await;
    let report = report.ok(200).clone();
    assert_eq!(
        report["apportioned"],
        number(&preview, "preview-apportioned")
    );
    for line in report["practices"].as_array().unwrap() {
        let row = preview_row(&preview, line["ods_code"].as_str().unwrap());
        assert_eq!(
            format!("{:.2}", line["exact_quota"].as_f64().unwrap()),
            row[1],
            "{line}"
        );
        assert_eq!(line["reserved"].to_string(), row[2], "{line}");
    }

    // A save from a page drawn before that change is refused, the rules in force shown.
    let mut fields = PER_DAY_TWO.to_vec();
    fields[1] = ("triage_slots", "5");
    fields.push(("intent", "save"));
    let stale = b
        .post("/manage/sharing", &sharing_form(&page, &fields))
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert!(stale
        .body
        .contains("Someone else changed the sharing rules"));
    assert!(stale.body.contains("2 slots a day for 111"));
    assert!(
        stale.body.contains("value=\"5\""),
        "the typed value is kept"
    );
}

async fn other_roles_cannot_open_the_sharing_screen(app: TestApp) {
    let c = app.cluster("U72002").await;
    let mut b = crate::browser::Browser::new(&app);
    assert_eq!(
        b.sign_in("rec-u72002", crate::helpers::PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(b.get("/manage/sharing").await.status, 404);
    let home = b.get("/").await;
    let csrf = home.field("/sign-out", "csrf_token");
    let mut form = pairs(&[("csrf_token", &csrf), ("version", "0"), ("intent", "save")]);
    form.extend(pairs(&PER_DAY_TWO));
    assert_eq!(b.post("/manage/sharing", &form).await.status, 404);
    let rules = app
        .get(&format!("/api/v1/clusters/{}/sharing", c.code), &c.manager)
        .await;
    assert_eq!(rules.etag(), "\"0\"", "nothing saved");
}

both!(
    the_preview_matches_the_fair_share_report_after_publishing,
    other_roles_cannot_open_the_sharing_screen,
);

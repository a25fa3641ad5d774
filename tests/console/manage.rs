//! The cluster manager's Today and Reports screens, server side: the dashboard's figures from a
//! week set up by hand, each report's table, the CSV download equal to the API's JSON for the
//! same query, bad periods and groupings refused on the page, and every other role not found.

use serde_json::Value;

use crate::both;
use crate::browser::{Browser, Page};
use crate::helpers::{at, Cluster, TestApp, PASSWORD};

/// Every report the console offers, by its path name.
const REPORTS: [&str; 7] = [
    "utilisation",
    "capacity",
    "dna",
    "bookings",
    "activity",
    "enhanced-access",
    "fair-share",
];

/// The week of the scenario (Monday to Sunday), as a report's query.
const WEEK: &str = "from=2026-12-07&to=2026-12-13";

/// The cluster's slots: start (UTC, RFC 3339), channel and id, earliest first.
fn slots(app: &TestApp, code: &str) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    use hubbook_store::schema::slots;
    let cluster_id = app.cluster_id(code);
    let mut conn = app.pool.get().unwrap();
    let mut rows: Vec<(chrono::NaiveDateTime, String, String)> = slots::table
        .filter(slots::cluster_id.eq(cluster_id))
        .select((slots::starts_at, slots::channel, slots::id))
        .load(&mut *conn)
        .unwrap();
    rows.sort();
    rows.into_iter()
        .map(|(t, channel, id)| (t.and_utc().to_rfc3339(), channel, id))
        .collect()
}

/// The id of the slot starting at `starts` (UTC, e.g. `2026-12-07T09:00:00+00:00`).
fn slot_at(all: &[(String, String, String)], starts: &str) -> String {
    all.iter()
        .find(|(t, _, _)| t == starts)
        .unwrap_or_else(|| panic!("no slot at {starts}"))
        .2
        .clone()
}

/// Records an outcome straight in the store (the outcome use case is tested elsewhere).
fn set_status(app: &TestApp, id: &str, status: &str) {
    use diesel::prelude::*;
    use hubbook_store::schema::appointments;
    let mut conn = app.pool.get().unwrap();
    let updated = diesel::update(appointments::table.filter(appointments::id.eq(id)))
        .set(appointments::status.eq(status))
        .execute(&mut *conn)
        .unwrap();
    assert_eq!(updated, 1);
}

/// A week of 90 GP slots (7 to 11 December 2026, 09:00-12:00 every ten minutes, two a day
/// kept for NHS 111) with, on Monday, three patients seen and one who did not attend, and on
/// Thursday two practice bookings and one in a slot kept for 111; the clock on Wednesday 9
/// December at 10:05 (London is on UTC in December). Returns the cluster and the starts of the
/// week's 111 slots.
async fn week(app: &TestApp, code: &str) -> (Cluster, Vec<String>) {
    let c = app.cluster(code).await;
    app.publish_week(
        &c,
        serde_json::json!({"triage": {"kind": "per_day", "slots": 2}, "apportionment": false}),
    )
    .await;
    let all = slots(app, code);
    assert_eq!(all.len(), 90);
    let book = |starts: &str| {
        app.book_directly(code, &slot_at(&all, starts), &c.practice_id)
            .unwrap()
    };
    let triage: Vec<String> = all
        .iter()
        .filter(|(_, channel, _)| channel == "111")
        .map(|(t, _, _)| t.clone())
        .collect();
    assert_eq!(triage.len(), 10, "two slots a day kept for 111");
    // Monday's first four slots that are not kept for 111.
    let monday: Vec<&str> = all
        .iter()
        .filter(|(t, channel, _)| t.starts_with("2026-12-07") && channel != "111")
        .map(|(t, _, _)| t.as_str())
        .take(4)
        .collect();
    for (starts, status) in monday
        .into_iter()
        .zip(["seen", "seen", "did_not_attend", "arrived"])
    {
        let id = book(starts);
        set_status(app, &id, status);
    }
    let thursday: Vec<&(String, String, String)> = all
        .iter()
        .filter(|(t, _, _)| t.starts_with("2026-12-10"))
        .collect();
    let practice: Vec<&str> = thursday
        .iter()
        .filter(|(_, channel, _)| channel != "111")
        .map(|(t, _, _)| t.as_str())
        .take(2)
        .collect();
    for starts in practice {
        book(starts);
    }
    let first_111 = thursday
        .iter()
        .find(|(_, channel, _)| channel == "111")
        .unwrap();
    book(&first_111.0);
    app.clock.set(at("2026-12-09T10:05:00Z"));
    (c, triage)
}

/// A browser signed in as the cluster's manager.
async fn manager(app: &TestApp, code: &str) -> Browser {
    let mut b = Browser::new(app);
    let signed = b
        .sign_in(&format!("manager-{}", code.to_lowercase()), PASSWORD)
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    b
}

/// The text of an element's inside, tags removed and white space collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A page's HTML with the slashes MiniJinja escapes in attributes read back as slashes.
fn html(page: &Page) -> String {
    page.body.replace("&#x2f;", "/")
}

/// The part of a page from the element with `id` to the end of that card (its `</li>`).
fn card(page: &Page, id: &str) -> String {
    let body = html(page);
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} on {body}"));
    let rest = &body[start..];
    rest[..rest.find("</li>").unwrap()].to_owned()
}

/// The cells of each body row of the page's first table with `class`.
fn table_rows(page: &Page, class: &str) -> Vec<Vec<String>> {
    let start = page
        .body
        .find(&format!("class=\"nhsuk-table {class}\""))
        .unwrap_or_else(|| panic!("no table {class} on {}", page.body));
    let table = &page.body[start..];
    let table = &table[..table.find("</table>").unwrap()];
    let body = &table[table.find("<tbody").unwrap()..];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<t")
                .skip(1)
                .filter(|cell| cell.starts_with('d') || cell.starts_with("h "))
                .map(|cell| text(&format!("<t{cell}")))
                .collect()
        })
        .collect()
}

/// The column headers of the page's report table, in words.
fn table_headers(page: &Page) -> Vec<String> {
    let start = page
        .body
        .find("class=\"nhsuk-table console-report\"")
        .unwrap();
    let head = &page.body[start..];
    let head = &head[..head.find("</thead>").unwrap()];
    head.split("<th ")
        .skip(1)
        .map(|th| {
            let th = &th[..th.find("</th>").unwrap()];
            // The visible words, before the visually hidden sorting hint.
            let visible = th.split("<span").next().unwrap();
            text(&format!("<th {visible}"))
        })
        .collect()
}

/// An RFC 4180 document's records (CRLF line ends, quoted fields).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if quoted {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(ch),
            }
            continue;
        }
        match ch {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(ch),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last record ends with CRLF"
    );
    rows
}

/// Checks that CSV records hold exactly the JSON rows, in order: the header names each row's
/// fields, each cell its field's value (numbers equal, null empty).
#[track_caller]
fn same_rows(csv: &[Vec<String>], rows: &[Value]) {
    let header = &csv[0];
    assert_eq!(csv.len() - 1, rows.len(), "rows of {header:?}");
    for (record, row) in csv[1..].iter().zip(rows) {
        assert_eq!(row.as_object().unwrap().len(), header.len(), "{row}");
        for (name, cell) in header.iter().zip(record) {
            let value = &row[name.as_str()];
            let ok = match value {
                Value::Null => cell.is_empty(),
                Value::String(s) => cell == s,
                Value::Bool(b) => cell == &b.to_string(),
                Value::Number(n) if n.is_i64() => cell == &n.to_string(),
                Value::Number(n) => cell
                    .parse::<f64>()
                    .is_ok_and(|c| (c - n.as_f64().unwrap()).abs() < 1e-9),
                _ => false,
            };
            assert!(ok, "column {name}: CSV {cell:?}, JSON {value}");
        }
    }
}

async fn today_shows_the_weeks_figures(app: TestApp) {
    let (c, triage) = week(&app, "U70101").await;
    let mut m = manager(&app, &c.code).await;
    let home = m.get("/").await;
    assert_eq!((home.status, home.location()), (303, "/manage"));
    let today = m.get("/manage").await;
    assert_eq!(today.status, 200, "{}", today.body);
    today.assert_local();
    assert!(text(&today.body)
        .contains("Today : this week, Monday 7 December to Sunday 13 December 2026"));

    // Seven of the 90 slots are booked: 7.8% (the report's 0.0778 to one place); Monday's 14
    // others, Tuesday's 18 and Wednesday's 7 before 10:05 went unused.
    let utilisation = text(&card(&today, "utilisation"));
    assert!(utilisation.contains("7.8%"), "{utilisation}");
    assert!(
        utilisation.contains("7 of 90 slots booked; 44 still free and 39 unused."),
        "{utilisation}"
    );
    assert!(card(&today, "utilisation").contains(
        "href=\"/manage/reports/utilisation?from=2026-12-07&amp;to=2026-12-13&amp;group_by=day\""
    ));

    // The 111 share: one of its ten slots booked; those that started unbooked are unused.
    let started = triage
        .iter()
        .filter(|t| t.as_str() < "2026-12-09T10:05:00+00:00")
        .count();
    let share = text(&card(&today, "triage"));
    assert!(share.contains("1 used of 10"), "{share}");
    assert!(
        share.contains(&format!(
            "1 booked (10.0%), {started} unused and {} still free.",
            9 - started
        )),
        "{share}"
    );
    assert!(card(&today, "triage").contains("group_by=channel"));

    // One of the four Monday patients with an outcome did not attend; Thursday's have none.
    let dna = text(&card(&today, "dna"));
    assert!(dna.contains("25.0%"), "{dna}");
    assert!(
        dna.contains("1 of 4 appointments with an outcome did not attend; 3 still without one."),
        "{dna}"
    );
    assert!(card(&today, "dna").contains("/manage/reports/dna?from=2026-12-07"));

    // 90 ten-minute slots for 9,000 patients: 900 minutes, 100 per 1,000 against 540 required.
    let access = text(&card(&today, "enhanced-access"));
    assert!(
        access.contains("100.0 minutes per 1,000 patients"),
        "{access}"
    );
    assert!(
        access.contains(
            "900 minutes offered against 540 required (60 per 1,000 of 9000 registered patients)."
        ),
        "{access}"
    );
    assert!(access.contains("Meets the requirement"));
    assert!(card(&today, "enhanced-access").contains(
        "/manage/reports/enhanced-access?from=2026-12-07&amp;to=2026-12-13&amp;group_by=week"
    ));

    // Free in the next 48 hours (Wednesday 10:05 to Friday 10:05): 11 on Wednesday, 18 on
    // Thursday less its three bookings, 7 on Friday.
    let free = table_rows(&today, "console-free");
    assert_eq!(free, [["Hub North", "GP", "33"]]);
    assert!(text(&today.body).contains("Until Friday 11 December 2026 at 10:05am: 33 free slots."));
    assert!(html(&today).contains(
        "href=\"/manage/reports/utilisation?from=2026-12-09&amp;to=2026-12-11&amp;group_by=site\""
    ));

    // The figures are the reports': the API says the same of the same week.
    let api = app
        .get(
            &format!(
                "/api/v1/clusters/{}/reports/utilisation?{WEEK}&group_by=channel",
                c.code
            ),
            &c.manager,
        )
        .await;
    let api = api.ok(200);
    assert_eq!(api["totals"]["booked"], 7);
    assert_eq!(api["totals"]["unused"], 39);
}

async fn reports_show_their_tables_and_download_what_the_api_says(app: TestApp) {
    let (c, _) = week(&app, "U70102").await;
    let mut m = manager(&app, &c.code).await;
    let index = m.get("/manage/reports").await;
    assert_eq!(index.status, 200);
    for name in REPORTS {
        assert!(
            html(&index).contains(&format!("href=\"/manage/reports/{name}\"")),
            "{name} is listed"
        );
    }
    // Each report's page: a chart named as an image, its table, and the CSV link; the CSV
    // holds exactly the rows the API's JSON has for the same query.
    for (name, query, rows_key) in [
        ("utilisation", format!("{WEEK}&group_by=day"), "rows"),
        ("utilisation", WEEK.to_owned(), "rows"),
        ("capacity", format!("{WEEK}&group_by=site"), "rows"),
        ("dna", WEEK.to_owned(), "rows"),
        ("dna", format!("{WEEK}&group_by=lead_time"), "rows"),
        ("bookings", WEEK.to_owned(), "rows"),
        ("bookings", format!("{WEEK}&group_by=channel"), "rows"),
        ("activity", WEEK.to_owned(), "rows"),
        ("activity", format!("{WEEK}&detail=true"), "rows"),
        ("enhanced-access", WEEK.to_owned(), "rows"),
        ("fair-share", WEEK.to_owned(), "practices"),
    ] {
        let page = m.get(&format!("/manage/reports/{name}?{query}")).await;
        assert_eq!(page.status, 200, "{name}?{query}: {}", page.body);
        page.assert_local();
        assert_eq!(page.body.matches("<h1").count(), 1);
        let csv_href = format!("/manage/reports/{name}.csv?{}", query.replace('&', "&amp;"));
        assert!(html(&page).contains(&csv_href), "{name}: {csv_href}");
        let download = m.get(&format!("/manage/reports/{name}.csv?{query}")).await;
        assert_eq!(
            download.status, 200,
            "{name}.csv?{query}: {}",
            download.body
        );
        assert_eq!(download.headers["content-type"], "text/csv; charset=utf-8");
        assert!(download.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("{}-{name}-2026-12-07-2026-12-13.csv", c.code)));
        let csv = parse_csv(&download.body);
        let api = app
            .get(
                &format!("/api/v1/clusters/{}/reports/{name}?{query}", c.code),
                &c.manager,
            )
            .await;
        let json = api.ok(200);
        same_rows(&csv, json[rows_key].as_array().unwrap());
        // The API's own CSV is the same document, byte for byte.
        let api_csv = app
            .client
            .get(format!(
                "{}/api/v1/clusters/{}/reports/{name}?{query}",
                app.base, c.code
            ))
            .bearer_auth(&c.manager)
            .header("Accept", "text/csv")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(download.body, api_csv, "{name}?{query}");
        // The page's table has the CSV's rows (less the ids people do not read).
        let shown = table_rows(&page, "console-report");
        assert_eq!(shown.len(), csv.len() - 1, "{name}?{query}");
        let is_detail = query.contains("detail");
        if !is_detail {
            assert!(page
                .body
                .contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            assert!(page
                .body
                .contains("role=\"img\" aria-labelledby=\"report-chart-title report-chart-desc\""));
        }
    }

    // The rows a manager relies on, as the page shows them.
    let by_day = m
        .get(&format!("/manage/reports/utilisation?{WEEK}&group_by=day"))
        .await;
    let rows = table_rows(&by_day, "console-report");
    let days: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        days,
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    );
    assert_eq!(
        table_headers(&by_day)[..4],
        ["Day", "Date", "Offered", "Booked"]
    );
    assert_eq!(rows[0][1..4], ["2026-12-07", "18", "4"]);
    assert_eq!(rows[0].last().unwrap(), "22.22%", "4 of 18 as a percentage");
    assert_eq!(rows[3][3], "3", "Thursday's three bookings");
    let week_row = &table_rows(
        &m.get(&format!("/manage/reports/utilisation?{WEEK}")).await,
        "console-report",
    )[0];
    assert_eq!(week_row[..4], ["2026-W50", "2026-12-07", "90", "7"]);
    let dna = m.get(&format!("/manage/reports/dna?{WEEK}")).await;
    assert_eq!(
        table_rows(&dna, "console-report"),
        [["Test Surgery", "B82001", "7", "3", "1", "3", "25.00%"]]
    );
    let access = m
        .get(&format!("/manage/reports/enhanced-access?{WEEK}"))
        .await;
    assert_eq!(
        table_rows(&access, "console-report"),
        [[
            "2026-W50",
            "2026-12-07",
            "7",
            "9000",
            "900",
            "0",
            "100.00",
            "0.00%",
            "540.00",
            "Yes"
        ]]
    );
    let fees = m
        .get(&format!("/manage/reports/activity?{WEEK}&detail=true"))
        .await;
    let lines = table_rows(&fees, "console-report");
    assert_eq!(lines.len(), 7, "one fee line per appointment");
    assert!(fees.body.contains("There is no chart of this table"));

    // Sorted by a column: the header says so, the rows follow, and the CSV is in that order.
    let sorted_query = format!("{WEEK}&group_by=day&sort=booked&dir=desc");
    let sorted = m
        .get(&format!("/manage/reports/utilisation?{sorted_query}"))
        .await;
    assert!(sorted.body.contains("aria-sort=\"descending\""));
    assert_eq!(sorted.body.matches("aria-sort=").count(), 1);
    let order: Vec<String> = table_rows(&sorted, "console-report")
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        order,
        ["Monday", "Thursday", "Tuesday", "Wednesday", "Friday"]
    );
    let sorted_csv = parse_csv(
        &m.get(&format!("/manage/reports/utilisation.csv?{sorted_query}"))
            .await
            .body,
    );
    let csv_order: Vec<&str> = sorted_csv[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        csv_order,
        ["Monday", "Thursday", "Tuesday", "Wednesday", "Friday"]
    );
    // Its header links to the other order.
    assert!(html(&sorted).contains("group_by=day&amp;sort=booked&amp;dir=asc"));
}

async fn bad_report_requests_say_what_to_fix(app: TestApp) {
    let (c, _) = week(&app, "U70103").await;
    let mut m = manager(&app, &c.code).await;
    for (path, field, words) in [
        (
            "/manage/reports/utilisation?from=2026-12-13&to=2026-12-07",
            "to",
            "The last day must be the same as or after the first day",
        ),
        (
            "/manage/reports/fair-share?from=2026-12-13&to=2026-12-07",
            "to",
            "The last day must be the same as or after the first day",
        ),
        (
            "/manage/reports/dna?from=2025-01-01&to=2026-12-07",
            "to",
            "The last day must be the same as or after the first day, and a report covers at most 400 days",
        ),
        (
            "/manage/reports/dna?from=7+December&to=2026-12-07",
            "from",
            "Enter the first day of the report as a date",
        ),
        (
            "/manage/reports/capacity?from=2026-12-07&to=2026-12-13&group_by=hour",
            "group_by",
            "Choose how to group the report from the list",
        ),
        (
            "/manage/reports/capacity.csv?from=2026-12-07&to=2026-12-13&group_by=nonsense",
            "group_by",
            "Choose how to group the report from the list",
        ),
    ] {
        let page = m.get(path).await;
        assert_eq!(page.status, 422, "{path}: {}", page.body);
        page.assert_local();
        assert!(page.body.contains("nhsuk-error-summary"), "{path}");
        assert!(
            page.body.contains(&format!("<a href=\"#{field}\">{words}")),
            "{path}: {}",
            page.body
        );
        assert!(page.body.contains(&format!("id=\"{field}\"")), "the field is there");
        assert!(page.body.contains("<title>Error: "));
    }
    for path in ["/manage/reports/nope", "/manage/reports/nope.csv"] {
        let page = m.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page
            .body
            .contains("There is no report of that name. Choose one of the reports below."));
        assert!(html(&page).contains("href=\"/manage/reports/utilisation\""));
    }
}

async fn only_the_manager_sees_the_manager_screens(app: TestApp) {
    let (c, _) = week(&app, "U70104").await;
    let lower = c.code.to_lowercase();
    for username in [format!("rec-{lower}"), format!("hub-{lower}")] {
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in(&username, PASSWORD).await.status, 303);
        for path in [
            "/manage",
            "/manage/reports",
            "/manage/reports/utilisation",
            &format!("/manage/reports/utilisation.csv?{WEEK}"),
        ] {
            let page = b.get(path).await;
            assert_eq!(page.status, 404, "{username} {path}");
            assert!(page.body.contains("Page not found"), "{username} {path}");
            assert!(
                !page.body.contains("text/csv") && !page.body.contains("Utilisation this week")
            );
        }
    }
    // Signed out, the screens ask for a sign-in.
    let mut anonymous = Browser::new(&app);
    let page = anonymous.get("/manage/reports/utilisation").await;
    assert_eq!((page.status, page.location()), (303, "/sign-in"));
    // Another cluster's manager sees their own figures, not these.
    let other = app.cluster("U70105").await;
    let mut theirs = manager(&app, &other.code).await;
    let today = theirs.get("/manage").await;
    assert_eq!(today.status, 200);
    assert!(text(&card(&today, "utilisation")).contains("0 of 0 slots booked"));
}

both!(
    today_shows_the_weeks_figures,
    reports_show_their_tables_and_download_what_the_api_says,
    bad_report_requests_say_what_to_fix,
    only_the_manager_sees_the_manager_screens,
);

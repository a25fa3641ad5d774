//! Benchmark of rota expansion: one realistic cluster rota expanded over a year (365 days).
//!
//! The cluster has two hubs, each with weekday evening GP (10-minute) and nurse (15-minute)
//! sessions 18:30-20:00, Saturday GP and nurse sessions 09:00-17:00 with a lunch break, and
//! weekday phlebotomy mornings 07:30-10:00 with two chairs; one hub adds a physiotherapy clinic.
//! England's 2026 bank holidays are skipped.

use std::hint::black_box;

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use criterion::Criterion;
use hubbook_core::rota::{expand, Break, Delivery, Rota, SessionTemplate, WeekPattern};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

const WEEKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

#[allow(clippy::too_many_arguments)]
fn session(
    key: String,
    site: &str,
    service: &str,
    (start, end): (NaiveTime, NaiveTime),
    slot_minutes: u32,
    capacity: u32,
    weekdays: &[Weekday],
    breaks: Vec<Break>,
) -> SessionTemplate {
    SessionTemplate {
        key,
        site_id: site.to_owned(),
        service_id: service.to_owned(),
        start,
        end,
        slot_minutes,
        capacity,
        delivery: Delivery::FaceToFace,
        breaks,
        weekdays: weekdays.to_vec(),
        pattern: WeekPattern::EveryWeek,
        valid_from: date(2026, 1, 1),
        valid_to: None,
        skip_dates: [
            (1, 1),
            (4, 3),
            (4, 6),
            (5, 4),
            (5, 25),
            (8, 31),
            (12, 25),
            (12, 28),
        ]
        .into_iter()
        .map(|(m, d)| date(2026, m, d))
        .collect(),
    }
}

/// The one-cluster rota of the module documentation: 12 templates.
fn cluster_rota() -> Rota {
    let mut templates = Vec::new();
    let lunch = vec![Break {
        start: time(13, 0),
        end: time(13, 30),
    }];
    for hub in ["hub-north", "hub-south"] {
        let evening = (time(18, 30), time(20, 0));
        let saturday = (time(9, 0), time(17, 0));
        for (service, slot) in [("gp", 10), ("nurse", 15)] {
            templates.push(session(
                format!("{hub}-{service}-evening"),
                hub,
                service,
                evening,
                slot,
                1,
                &WEEKDAYS,
                vec![],
            ));
            templates.push(session(
                format!("{hub}-{service}-saturday"),
                hub,
                service,
                saturday,
                slot,
                1,
                &[Weekday::Sat],
                lunch.clone(),
            ));
        }
        templates.push(session(
            format!("{hub}-phlebotomy"),
            hub,
            "phlebotomy",
            (time(7, 30), time(10, 0)),
            10,
            2,
            &WEEKDAYS,
            vec![],
        ));
    }
    let physio = (time(8, 0), time(12, 0));
    templates.push(session(
        "hub-north-physio".into(),
        "hub-north",
        "physio",
        physio,
        20,
        1,
        &[Weekday::Tue, Weekday::Thu],
        vec![],
    ));
    let mut fortnightly = session(
        "hub-south-physio".into(),
        "hub-south",
        "physio",
        (time(13, 0), time(17, 0)),
        30,
        1,
        &[Weekday::Wed],
        vec![],
    );
    fortnightly.pattern = WeekPattern::EveryNthWeek {
        n: 2,
        anchor: date(2026, 1, 5),
    };
    templates.push(fortnightly);
    Rota {
        name: "Cluster U00001 extended access".into(),
        templates,
    }
}

fn one_cluster_year(c: &mut Criterion) {
    let rota = cluster_rota();
    let (from, to) = (date(2026, 1, 1), date(2026, 12, 31));
    match expand(&rota, from, to, Tz::Europe__London) {
        Ok(expansion) => {
            println!(
                "one cluster-year: {} sessions, {} slots",
                expansion.sessions.len(),
                expansion.slot_count()
            )
        }
        Err(error) => panic!("the benchmark rota does not expand: {error}"),
    }
    c.bench_function("expand one cluster-year (365 days)", |b| {
        b.iter(|| {
            expand(
                black_box(&rota),
                black_box(from),
                black_box(to),
                Tz::Europe__London,
            )
        })
    });
}

// What `criterion_group!` and `criterion_main!` expand to, without their undocumented public fn.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    one_cluster_year(&mut criterion);
    criterion.final_summary();
}

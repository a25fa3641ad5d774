//! Reports over one cluster-year: the reference rota published for 2027 with the default sharing
//! rules (about 24,000 slots), about 80% of them booked with about 7% of those not attending,
//! and a few cancellations, then each report read for the whole year grouped by week (and a few
//! other groupings), on SQLite and on PostgreSQL.
//!
//! Run with `cargo bench -p hubbook-store --features test-db --bench reports`; set
//! `HUBBOOK_BENCH_SQLITE_ONLY=1` to skip PostgreSQL (`HUBBOOK_TEST_PG_URL`, default the local
//! server), `HUBBOOK_BENCH_SCALE=n` for a measured cluster running `n` copies of the reference
//! rota (a federation `n` times a PCN's size), and `HUBBOOK_BENCH_CLUSTERS=n` for `n - 1` other
//! cluster-years in the same database beside it.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, Utc};
use criterion::Criterion;
use diesel::prelude::*;
use hubbook_core::rota::expand;
use hubbook_core::rota::sample::{enhanced_access, SampleSites};
use hubbook_core::ClusterTimeZone;
use hubbook_store::models::{Appointment, Slot};
use hubbook_store::repo::reports::{self, GroupBy, Window};
use hubbook_store::repo::sessions::{publish, PublishTarget};
use hubbook_store::repo::{clusters, practices, rotas, services, sharing, sites, Change};
use hubbook_store::schema::{appointments, slots};
use hubbook_store::test_db::TestDb;
use hubbook_store::{Backend, DbConn, DbPool};

struct Year {
    _db: TestDb,
    pool: DbPool,
    cluster_id: String,
    window: Window,
}

fn from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()
}

fn to() -> NaiveDate {
    from() + chrono::Duration::days(364)
}

/// A deterministic pseudo-random number in `[0, 1)` for a slot and a purpose.
fn draw(slot: usize, purpose: u64) -> f64 {
    let mut x = (slot as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ purpose.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// How many clusters the database holds (the first is measured) and how many copies of the
/// reference rota the measured cluster runs, from `HUBBOOK_BENCH_CLUSTERS` and
/// `HUBBOOK_BENCH_SCALE` (both 1 unless set).
fn knob(name: &str) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn set_up(db: TestDb) -> Year {
    let started = Instant::now();
    let pool = db.pool().unwrap();
    let mut conn = pool.get().unwrap();
    let c: &mut DbConn = &mut conn;
    let (cluster_id, slots, appointments) = populate(c, "U00001", knob("HUBBOOK_BENCH_SCALE"));
    let mut others = (0, 0);
    for n in 2..=knob("HUBBOOK_BENCH_CLUSTERS") {
        let (_, s, a) = populate(c, &format!("U{n:05}"), 1);
        others = (others.0 + s, others.1 + a);
    }
    if c.backend() == Backend::Postgres {
        diesel::sql_query("ANALYZE").execute(c).unwrap();
    }
    eprintln!(
        "{:?}: measured cluster {slots} slots, {appointments} appointments; other clusters {} slots, {} appointments; set up in {:.1?}",
        c.backend(),
        others.0,
        others.1,
        started.elapsed()
    );
    drop(conn);
    let now = (to() + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap();
    Year {
        _db: db,
        pool,
        cluster_id,
        window: Window::new(ClusterTimeZone::DEFAULT, from(), to(), now),
    }
}

/// A cluster-year: the cluster, its sites, services and practices, `copies` rotas of the
/// reference pattern published for the year, and the appointments; returns the cluster's id
/// and how many slots and appointments it has.
fn populate(c: &mut DbConn, code: &str, copies: usize) -> (String, usize, usize) {
    let change = Change {
        actor: "system:bench".into(),
        at: Utc::now().naive_utc(),
    };
    let cluster = clusters::create_cluster(
        c,
        &change,
        clusters::NewCluster {
            code: code.into(),
            name: "Bench".into(),
            time_zone: hubbook_core::ClusterTimeZone::DEFAULT,
        },
    )
    .unwrap();
    let site = |c: &mut DbConn, name: &str| {
        sites::create_site(
            c,
            &change,
            &cluster.id,
            sites::NewSite {
                name: name.into(),
                kind: "hub".parse().unwrap(),
                address: "A".into(),
                postcode: "LS1 4AP".into(),
                latitude: 53.8,
                longitude: -1.5,
            },
        )
        .unwrap()
        .id
    };
    let (north, south, surgery) = (site(c, "North"), site(c, "South"), site(c, "Surgery"));
    let service = |c: &mut DbConn, code: &str, role: &str| {
        services::create_service(
            c,
            &change,
            &cluster.id,
            services::NewService {
                code: code.into(),
                name: code.into(),
                clinical_role: role.parse().unwrap(),
            },
        )
        .unwrap()
        .id
    };
    let (gp, nurse, bloods, physio) = (
        service(c, "gp", "gp"),
        service(c, "nurse", "nurse"),
        service(c, "bloods", "phlebotomist"),
        service(c, "physio", "physiotherapist"),
    );
    let mut members = Vec::new();
    for (i, list) in [14_200, 11_800, 9_600, 7_400, 6_100, 4_300]
        .into_iter()
        .enumerate()
    {
        let p = practices::create_practice(
            c,
            &change,
            &cluster.id,
            practices::NewPractice {
                ods_code: format!("B8{:04}", 2001 + i),
                name: format!("Practice {i}"),
                list_size: list,
                site_id: None,
                dsa_from: NaiveDate::from_ymd_opt(2026, 1, 1),
                dsa_to: None,
            },
        )
        .unwrap();
        members.push(p.id);
    }
    let at = SampleSites {
        hub_north: &north,
        hub_south: &south,
        surgery: &surgery,
        gp: &gp,
        nurse: &nurse,
        phlebotomy: &bloods,
        physio: &physio,
    };
    let rota = enhanced_access(&at, from());
    let expansion = expand(&rota, from(), to(), chrono_tz::Europe::London).unwrap();
    let slot_minutes: HashMap<String, u32> = rota.slot_minutes();
    for copy in 0..copies {
        let stored = rotas::create_rota(
            c,
            &change,
            &cluster.id,
            format!("{} {copy}", rota.name),
            serde_json::to_string(&rota.templates).unwrap(),
        )
        .unwrap();
        let target = PublishTarget {
            cluster_id: &cluster.id,
            rota_id: &stored.id,
            from: from(),
            to: to(),
            slot_minutes: slot_minutes.clone(),
            sharing: Some(sharing::current(c, &cluster.id).unwrap()),
        };
        publish(c, &change, &target, &expansion, false).unwrap();
    }

    let all: Vec<Slot> = slots::table
        .filter(slots::cluster_id.eq(&cluster.id))
        .order(slots::starts_at.asc())
        .select(Slot::as_select())
        .load(c)
        .unwrap();
    let roles: HashMap<&str, &str> = [
        (gp.as_str(), "gp"),
        (nurse.as_str(), "nurse"),
        (bloods.as_str(), "phlebotomist"),
        (physio.as_str(), "physiotherapist"),
    ]
    .into_iter()
    .collect();
    let mut rows = Vec::new();
    for (i, slot) in all.iter().enumerate() {
        let practice = slot
            .channel_practice_id
            .clone()
            .unwrap_or_else(|| members[i % members.len()].clone());
        let appointment = |status: &str, created: NaiveDateTime, n: u64| {
            let (channel, booking) = match slot.channel.as_str() {
                "111" => ("111", None),
                "practice" => ("practice", Some(practice.clone())),
                _ => ("open", Some(practice.clone())),
            };
            let cancelled =
                (status == "cancelled").then_some(slot.starts_at - chrono::Duration::hours(6));
            Appointment {
                cluster_id: cluster.id.clone(),
                id: (hubbook_store::new_id()).into(),
                slot_id: slot.id.clone(),
                session_id: slot.session_id.clone(),
                status: status.parse().unwrap(),
                nhs_number: Some(format!("999{:07}", (i as u64) * 3 + n)),
                patient_name: "Bench Patient".into(),
                patient_birth_date: NaiveDate::from_ymd_opt(1960, 1, 1).unwrap(),
                patient_phone: "0113 496 0000".into(),
                patient_email: None,
                adjustments: None,
                registered_practice_id: Some(practice.clone()),
                booking_practice_id: booking,
                booked_by: "user:bench".into(),
                channel: channel.parse().unwrap(),
                reason: None,
                requester_ods: (slot.service_id == bloods).then(|| "RR8".to_owned()),
                requester_reference: (slot.service_id == bloods).then(|| format!("BLOODS-{i}")),
                starts_at: slot.starts_at,
                ends_at: slot.ends_at,
                site_id: slot.site_id.clone(),
                service_id: slot.service_id.clone(),
                clinical_role: roles[slot.service_id.as_str()].parse().unwrap(),
                delivery: slot.delivery,
                version: 1,
                created_at: created,
                updated_at: created,
                cancel_reason: cancelled.map(|_| "bench".to_owned()),
                cancelled_at: cancelled,
                outcome_at: None,
                notes: None,
                part_of: None,
            }
        };
        let lead = chrono::Duration::minutes((draw(i, 2) * 21.0 * 24.0 * 60.0) as i64);
        if draw(i, 3) < 0.05 {
            rows.push(appointment(
                "cancelled",
                slot.starts_at - lead - chrono::Duration::days(1),
                0,
            ));
        }
        if draw(i, 1) < 0.80 {
            let status = match draw(i, 4) {
                x if x < 0.07 => "did_not_attend",
                x if x < 0.10 => "arrived",
                _ => "seen",
            };
            rows.push(appointment(status, slot.starts_at - lead, 1));
        }
    }
    for chunk in rows.chunks(500) {
        match c {
            DbConn::Pg(pg) => diesel::insert_into(appointments::table)
                .values(chunk.to_vec())
                .execute(pg)
                .unwrap(),
            DbConn::Sqlite(lite) => diesel::insert_into(appointments::table)
                .values(chunk.to_vec())
                .execute(lite)
                .unwrap(),
        };
    }
    (cluster.id.into(), all.len(), rows.len())
}

fn bench(criterion: &mut Criterion, name: &str, year: &Year) {
    let mut group = criterion.benchmark_group(name);
    let mut conn = year.pool.get().unwrap();
    let c: &mut DbConn = &mut conn;
    let (id, w) = (
        hubbook_store::ClusterId::from(year.cluster_id.as_str()),
        &year.window,
    );
    group.bench_function("utilisation_by_week", |b| {
        b.iter(|| reports::utilisation(c, &id, w, GroupBy::Week, 24).unwrap())
    });
    group.bench_function("utilisation_by_hour", |b| {
        b.iter(|| reports::utilisation(c, &id, w, GroupBy::Hour, 24).unwrap())
    });
    group.bench_function("capacity_by_week", |b| {
        b.iter(|| reports::capacity(c, &id, w, GroupBy::Week, 24).unwrap())
    });
    group.bench_function("dna_by_week", |b| {
        b.iter(|| reports::dna(c, &id, w, GroupBy::Week).unwrap())
    });
    group.bench_function("dna_by_lead_time", |b| {
        b.iter(|| reports::dna(c, &id, w, GroupBy::LeadTime).unwrap())
    });
    group.bench_function("bookings_by_practice", |b| {
        b.iter(|| reports::bookings(c, &id, w, GroupBy::Practice).unwrap())
    });
    group.bench_function("activity_by_practice", |b| {
        b.iter(|| reports::activity(c, &id, w, GroupBy::Practice).unwrap())
    });
    group.bench_function("enhanced_access_by_week", |b| {
        b.iter(|| reports::enhanced_access(c, &id, w).unwrap())
    });
    group.finish();
    let weeks = reports::utilisation(c, &id, w, GroupBy::Week, 24).unwrap();
    let offered: i64 = weeks.iter().map(|r| r.offered).sum();
    let booked: i64 = weeks.iter().map(|r| r.booked).sum();
    eprintln!(
        "{name}: {} weeks, {offered} offered, {booked} booked",
        weeks.len()
    );
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let year = set_up(TestDb::sqlite());
    bench(&mut criterion, "reports_cluster_year_sqlite", &year);
    drop(year);
    if std::env::var_os("HUBBOOK_BENCH_SQLITE_ONLY").is_none() {
        let year = set_up(TestDb::postgres());
        bench(&mut criterion, "reports_cluster_year_postgres", &year);
    }
    criterion.final_summary();
}

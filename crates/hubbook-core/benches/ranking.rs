//! Benchmark of search ranking: ordering a cluster's offers for a receptionist (soonest near the
//! practice) and for a 111 booking (nearest, then soonest).
//!
//! The offers are a cluster's unbooked slots over a window: a page of 21 (what one search
//! ranks), a week of 600 (a large cluster's evening and weekend week) and a year of 30,000, at
//! four hub sites and one site without coordinates, starting every ten minutes in evening and
//! Saturday sessions. Comparing the three shows how the cost grows with the window.

use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput};
use hubbook_core::ranking::{rank, Candidate, Weighting};
use hubbook_core::site::Coordinates;
use hubbook_core::triage::order;

/// Four hubs about 2-15 km apart in one town, and one site whose place is not known.
const HUBS: [Option<(f64, f64)>; 5] = [
    Some((53.801, -1.549)),
    Some((53.845, -1.622)),
    Some((53.742, -1.601)),
    Some((53.790, -1.420)),
    None,
];

/// When an offer starts and where its site is.
type Place = (DateTime<Utc>, Option<Coordinates>);

fn at(s: &str) -> DateTime<Utc> {
    s.parse()
        .unwrap_or_else(|_| Utc.timestamp_opt(0, 0).unwrap())
}

/// `n` offers: ten-minute slots over evenings (18:30-20:00) and Saturdays, spread round the sites.
fn offers(n: usize) -> (Vec<String>, Vec<Place>) {
    let monday = at("2026-11-30T18:30:00Z");
    let mut ids = Vec::with_capacity(n);
    let mut rest = Vec::with_capacity(n);
    for k in 0..n {
        // 9 evening slots on each of five weekdays and 45 on Saturday: 90 a week per site lane.
        let week = (k / 450) as i64;
        let within = k % 450 / 5;
        let start = if within < 45 {
            monday
                + Duration::days((within / 9) as i64)
                + Duration::minutes(10 * (within % 9) as i64)
        } else {
            monday + Duration::days(5) - Duration::minutes(570)
                + Duration::minutes(10 * (within - 45) as i64)
        } + Duration::weeks(week);
        let site = HUBS[k % HUBS.len()].and_then(|(lat, lon)| Coordinates::new(lat, lon).ok());
        ids.push(format!("0193{k:012x}-seed-slot"));
        rest.push((start, site));
    }
    (ids, rest)
}

fn candidates<'a>(ids: &'a [String], rest: &[Place]) -> Vec<Candidate<'a>> {
    ids.iter()
        .zip(rest)
        .map(|(id, &(starts_at, site))| Candidate {
            slot_id: id,
            starts_at,
            site,
        })
        .collect()
}

fn ranking(c: &mut Criterion) {
    let practice = Coordinates::new(53.812, -1.571).ok();
    let now = at("2026-11-30T09:00:00Z");
    let weighting = Weighting::default();
    let mut group = c.benchmark_group("rank offers");
    for n in [21, 600, 30_000] {
        let (ids, rest) = offers(n);
        let offered = candidates(&ids, &rest);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("receptionist", n), &offered, |b, o| {
            b.iter(|| rank(black_box(o), black_box(practice), now, &weighting))
        });
        group.bench_with_input(
            BenchmarkId::new("receptionist, no origin", n),
            &offered,
            |b, o| b.iter(|| rank(black_box(o), None, now, &weighting)),
        );
        group.bench_with_input(BenchmarkId::new("111 booking", n), &offered, |b, o| {
            b.iter(|| order(black_box(o), black_box(practice)))
        });
    }
    group.finish();
}

// What `criterion_group!` and `criterion_main!` expand to, without their undocumented public fn.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    ranking(&mut criterion);
    criterion.final_summary();
}

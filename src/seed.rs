//! The national-scale data set: `hubbook seed --clusters N --weeks W [--seed S]`.
//!
//! Each cluster gets 4-12 practices with list sizes drawn from a log-normal distribution (mean
//! about 9,000, a long tail clamped at 40,000), 1-4 hub sites, four services, a rota at the
//! national enhanced-access rate (60 minutes per 1,000 patients per week, GP and nurse in the
//! network standard hours) plus phlebotomy mornings and a Saturday physiotherapy clinic, its
//! sharing rules (10% of each session for 111), the rota published for `W` weeks from this week
//! and for the history weeks before it, and appointments: about 80% of past slots booked (5-10%
//! of those not attending, a few cancelled), future slots booked less the further off they are.
//!
//! Rows come from the same core functions a publish uses (expansion, channel assignment) and
//! are written by [`hubbook_store::repo::bulk`]: `COPY` on PostgreSQL, batched prepared inserts
//! on SQLite, all in one transaction. Names are predictable so that the load generator can sign
//! in: cluster `c` (from 1) is `N{c:05}`, its practices' receptionists `rcp-{c:05}-{p}` (p from
//! 1), its manager `mgr-{c:05}`; the 111 client `seed-111` may book in every cluster. The same
//! seed, start date and sizes give the same data, identifiers included.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use hubbook_core::allocation::{ChannelKind, TriageRule};
use hubbook_core::appointment::AppointmentStatus;
use hubbook_core::practice::DataSharingAgreement;
use hubbook_core::rota::sample::{time, Weekly, SERVICES, WEEKDAYS};
use hubbook_core::rota::{expand, Break, Rota};
use hubbook_core::sharing::{PracticeShare, SharingRules};
use hubbook_core::{ClinicalRole, Role, SiteKind};
use hubbook_store::models::{self, Appointment, TriageBooking};
use hubbook_store::repo::bulk::{self, Rows, SharingRulesRow};
use hubbook_store::repo::sessions::{fresh_rows, PublishTarget};
use hubbook_store::repo::sharing::Sharing;
use hubbook_store::repo::{clusters, integrations, Change};
use hubbook_store::ClusterId;
use hubbook_store::{write_tx, DbConn, StoreError};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    /// How many clusters (1 to [`MAX_CLUSTERS`]).
    pub clusters: u32,
    /// Weeks published from `start` on.
    pub weeks: u32,
    /// Weeks of booked history published before `start`.
    pub history_weeks: u32,
    /// The random seed.
    pub seed: u64,
    /// The Monday of the first week ahead (normally this week's).
    pub start: NaiveDate,
    /// The instant treated as now: what is before it is history.
    pub now: NaiveDateTime,
    /// The password of every seeded user and the secret of the seeded 111 client.
    pub password_hash: String,
}

/// The most clusters one seed makes (ODS and cluster codes stay unique below it).
pub const MAX_CLUSTERS: u32 = 8_000;

/// The seeded 111 client's id.
pub const SEED_CLIENT: &str = "seed-111";

/// What a seed wrote and how fast.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    /// Clusters.
    pub clusters: usize,
    /// Practices.
    pub practices: usize,
    /// Patients on the practices' lists.
    pub patients: u64,
    /// Sessions.
    pub sessions: usize,
    /// Slots.
    pub slots: usize,
    /// Appointments (cancelled ones included).
    pub appointments: usize,
    /// Rows written in all tables.
    pub rows: usize,
    /// Seconds from start to commit.
    pub seconds: f64,
    /// Seconds spent after the commit refreshing the planner's statistics.
    pub analyse_seconds: f64,
}

impl SeedReport {
    /// Rows written per second.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }
}

/// A small deterministic generator (SplitMix64): the same seed gives the same stream everywhere.
#[derive(Debug, Clone)]
pub struct Random {
    state: u64,
    ids: i64,
}

impl Random {
    /// A stream for a seed and a purpose (a cluster number, say).
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut r = Self {
            state: seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03),
            ids: 0,
        };
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A whole number in `low..=high`.
    pub fn between(&mut self, low: u32, high: u32) -> u32 {
        low + (self.next_u64() % u64::from(high - low + 1)) as u32
    }

    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A UUIDv7-shaped id with random bits from this stream, its time `at` plus a millisecond for
    /// every id drawn before: ids repeat with the seed and, like the server's, sort in the order
    /// they were made (so index inserts append, as they do in service).
    pub fn id(&mut self, at: NaiveDateTime) -> String {
        self.ids += 1;
        let millis = u64::try_from(at.and_utc().timestamp_millis() + self.ids).unwrap_or(0);
        let bits = self.next_u64().to_le_bytes();
        let more = self.next_u64().to_le_bytes();
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&bits);
        random[8..].copy_from_slice(&more[..2]);
        uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .to_string()
    }
}

/// A practice's registered list: log-normal with a median of about 7,500 and a mean of about
/// 9,000, clamped to 1,500-40,000.
pub fn list_size(rng: &mut Random) -> u32 {
    let mu = 9_000f64.ln() - 0.6f64.powi(2) / 2.0;
    ((mu + 0.6 * rng.normal()).exp().round() as u32).clamp(1_500, 40_000)
}

/// Weekly minutes a lane (one clinician) gives in the network standard hours: weekday evenings
/// 18:30-20:00 and Saturday 09:00-17:00 less a half-hour lunch.
const LANE_MINUTES_PER_WEEK: u32 = 5 * 90 + 450;

/// GP and nurse lanes for a cluster's patients at 60 minutes per 1,000 patients per week,
/// 70% GP and 30% nurse, at least one of each.
pub fn lanes(patients: u64) -> (u32, u32) {
    let minutes = patients as f64 * 60.0 / 1_000.0;
    let lane = f64::from(LANE_MINUTES_PER_WEEK);
    let gp = (minutes * 0.7 / lane).round().max(1.0) as u32;
    let nurse = (minutes * 0.3 / lane).round().max(1.0) as u32;
    (gp, nurse)
}

/// A part of the network standard hours: its name, hours, days and breaks.
type StandardHours<'a> = (&'a str, (NaiveTime, NaiveTime), &'a [Weekday], &'a [Break]);

/// The cluster's rota: GP and nurse lanes spread over the hubs in the standard hours,
/// phlebotomy weekday mornings (two chairs) and a Saturday physiotherapy clinic at the first hub.
pub fn cluster_rota(
    hubs: &[String],
    services: &HashMap<&'static str, String>,
    (gp_lanes, nurse_lanes): (u32, u32),
    valid_from: NaiveDate,
) -> Rota {
    let lunch = [Break {
        start: time(12, 30),
        end: time(13, 0),
    }];
    // The network standard hours: weekday evenings, and Saturdays less lunch.
    let standard_hours: [StandardHours<'_>; 2] = [
        ("evening", (time(18, 30), time(20, 0)), &WEEKDAYS, &[]),
        (
            "saturday",
            (time(9, 0), time(17, 0)),
            &[Weekday::Sat],
            &lunch,
        ),
    ];
    let service = |code: &str| services.get(code).map(String::as_str).unwrap_or_default();
    let mut templates = Vec::new();
    for (code, lanes, slot_minutes) in [("gp", gp_lanes, 10), ("nurse", nurse_lanes, 15)] {
        for (h, hub) in hubs.iter().enumerate() {
            // Lanes go round the hubs: hub h takes every len-th lane from h.
            let here = (lanes + (hubs.len() as u32) - 1 - h as u32) / hubs.len() as u32;
            if here == 0 {
                continue;
            }
            for (when, hours, days, breaks) in standard_hours {
                let weekly = Weekly {
                    key: format!("{code}-{when}-{}", h + 1),
                    site: hub,
                    service: service(code),
                    hours,
                    slot_minutes,
                    capacity: here,
                    days,
                    breaks,
                };
                templates.push(weekly.template(valid_from));
            }
        }
    }
    let first = hubs.first().map(String::as_str).unwrap_or_default();
    let phlebotomy = Weekly {
        key: "phlebotomy-morning".into(),
        site: first,
        service: service("phlebotomy"),
        hours: (time(7, 30), time(9, 30)),
        slot_minutes: 10,
        capacity: 2,
        days: &WEEKDAYS,
        breaks: &[],
    };
    let physio = Weekly {
        key: "physio-saturday".into(),
        site: first,
        service: service("physio"),
        hours: (time(9, 0), time(13, 0)),
        slot_minutes: 30,
        capacity: 1,
        days: &[Weekday::Sat],
        breaks: &[],
    };
    templates.push(phlebotomy.template(valid_from));
    templates.push(physio.template(valid_from));
    Rota {
        name: "Enhanced access".into(),
        templates,
    }
}

/// A valid NHS number from the 999 test range for the `n`th patient (below ten million).
pub fn test_nhs_number(n: u64) -> String {
    (0..10u64)
        .map(|k| format!("999{:06}", (n * 10 + k) % 1_000_000))
        .find_map(|nine| {
            let digits: Vec<u32> = nine.bytes().map(|b| u32::from(b - b'0')).collect();
            hubbook_core::nhs_number::check_digit(&digits).map(|c| format!("{nine}{c}"))
        })
        .unwrap_or_else(|| "9990000018".to_owned())
}

/// The `c`th cluster's code (from 1).
pub fn cluster_code(c: u32) -> String {
    format!("N{c:05}")
}

/// A receptionist's username: practice `p` (from 1) of cluster `c` (from 1).
pub fn receptionist(c: u32, p: u32) -> String {
    format!("rcp-{c:05}-{p}")
}

/// Everything generated for one cluster, appended to `rows`; returns the cluster's id and its
/// patients.
fn cluster(plan: &SeedPlan, c: u32, rows: &mut Rows) -> anyhow::Result<(String, u64)> {
    let mut rng = Random::new(plan.seed, u64::from(c));
    // Clusters were made one a minute, a year before the first published week.
    let created =
        plan.start.and_time(NaiveTime::MIN) - Duration::weeks(52) + Duration::minutes(i64::from(c));
    let cluster_id = rng.id(created);
    let (version, created_at, updated_at) = (1, created, created);
    rows.clusters.push(models::Cluster {
        id: cluster_id.clone().into(),
        code: cluster_code(c),
        name: format!("Seeded Network {c}"),
        time_zone: hubbook_core::ClusterTimeZone::DEFAULT,
        version,
        created_at,
        updated_at,
    });
    // Somewhere in England: 50.6-54.9 N, 3.0 W-0.3 E.
    let (lat, lon) = (50.6 + rng.unit() * 4.3, -3.0 + rng.unit() * 3.3);
    let count = rng.between(4, 12);
    let lists: Vec<u32> = (0..count).map(|_| list_size(&mut rng)).collect();
    let patients: u64 = lists.iter().map(|&l| u64::from(l)).sum();
    let hub_count = (1 + patients / 40_000).min(4) as usize;
    let mut hubs = Vec::new();
    for h in 0..hub_count {
        let id = rng.id(created);
        rows.sites.push(models::Site {
            cluster_id: cluster_id.clone().into(),
            id: id.clone().into(),
            name: format!("Hub {}", h + 1),
            kind: SiteKind::Hub,
            address: format!("{} Seed Street, Network {c}", h + 1),
            postcode: "LS1 4AP".into(),
            latitude: lat + (rng.unit() - 0.5) * 0.1,
            longitude: lon + (rng.unit() - 0.5) * 0.1,
            version,
            created_at,
            updated_at,
        });
        hubs.push(id);
    }
    let mut services = HashMap::new();
    let mut roles = HashMap::new();
    for (code, name, role) in SERVICES {
        let id = rng.id(created);
        rows.services.push(models::Service {
            cluster_id: cluster_id.clone().into(),
            id: id.clone(),
            code: code.into(),
            name: name.into(),
            clinical_role: role,
            version,
            created_at,
            updated_at,
        });
        roles.insert(id.clone(), role);
        services.insert(code, id);
    }
    let agreed = NaiveDate::from_ymd_opt(2026, 4, 1);
    let mut practice_ids = Vec::new();
    let mut receptionists = HashMap::new();
    for (p, &list) in (1..).zip(&lists) {
        let id = rng.id(created);
        rows.practices.push(models::Practice {
            cluster_id: cluster_id.clone().into(),
            id: id.clone().into(),
            ods_code: format!("Y{:05}", c * 12 + p),
            name: format!("Seeded Surgery {c}-{p}"),
            list_size: i64::from(list),
            site_id: None,
            dsa_from: agreed,
            dsa_to: None,
            version,
            created_at,
            updated_at,
        });
        let user = rng.id(created);
        rows.users.push(models::User {
            id: user.clone(),
            username: receptionist(c, p),
            display_name: format!("Reception {c}-{p}"),
            password_hash: plan.password_hash.clone(),
            role: Role::Receptionist,
            cluster_id: Some(cluster_id.clone().into()),
            practice_id: Some(id.clone().into()),
            active: true,
            version,
            created_at,
            updated_at,
        });
        receptionists.insert(id.clone(), format!("user:{user}"));
        practice_ids.push(id);
    }
    rows.users.push(models::User {
        id: rng.id(created),
        username: format!("mgr-{c:05}"),
        display_name: format!("Manager {c}"),
        password_hash: plan.password_hash.clone(),
        role: Role::ClusterManager,
        cluster_id: Some(cluster_id.clone().into()),
        practice_id: None,
        active: true,
        version,
        created_at,
        updated_at,
    });
    let rules = SharingRules {
        triage: TriageRule::PercentOfSession { percent: 10 },
        triage_may_book_open: true,
        ..SharingRules::default()
    };
    rows.sharing_rules.push(SharingRulesRow {
        cluster_id: cluster_id.clone(),
        version: 1,
        rules_json: serde_json::to_string(&rules)?,
        created_at,
        created_by: "system:seed".into(),
    });
    let from = plan.start - Duration::weeks(i64::from(plan.history_weeks));
    let to = plan.start + Duration::weeks(i64::from(plan.weeks)) - Duration::days(1);
    let rota = cluster_rota(&hubs, &services, lanes(patients), from);
    rota.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let rota_id = rng.id(created);
    rows.rotas.push(models::Rota {
        cluster_id: cluster_id.clone().into(),
        id: rota_id.clone(),
        name: rota.name.clone(),
        templates_json: serde_json::to_string(&rota.templates)?,
        version,
        created_at,
        updated_at,
    });
    let expansion = expand(&rota, from, to, chrono_tz::Europe::London)?;
    let target = PublishTarget {
        cluster_id: &ClusterId::from(&cluster_id),
        rota_id: &rota_id,
        from,
        to,
        slot_minutes: rota.slot_minutes(),
        sharing: Some(Sharing {
            version: 1,
            rules,
            practices: practice_ids
                .iter()
                .zip(&lists)
                .map(|(id, &list)| PracticeShare {
                    practice_id: id.clone(),
                    list_size: list,
                    agreement: DataSharingAgreement {
                        from: agreed,
                        to: None,
                    },
                })
                .collect(),
        }),
    };
    // Identifiers from the seed, not the clock, so the data set repeats.
    let (mut sessions, mut slots) =
        fresh_rows(&target, &expansion, created, &mut || rng.id(created))
            .map_err(|e: StoreError| anyhow::anyhow!("{e}"))?;
    for slot in &mut slots {
        // Releases already past are history, not news (as the events migration does).
        if slot.released_at.is_some_and(|t| t <= plan.now) {
            slot.release_announced_at = slot.released_at;
        }
    }
    book(
        plan,
        c,
        &mut rng,
        &slots,
        &practice_ids,
        &receptionists,
        &roles,
        rows,
    );
    rows.sessions.append(&mut sessions);
    rows.slots.append(&mut slots);
    Ok((cluster_id, patients))
}

/// Books the cluster's slots: about 80% of past ones (5-10% of those not attending, 3% with an
/// earlier cancelled booking), future ones at 80% falling by half every week ahead.
#[allow(clippy::too_many_arguments)]
fn book(
    plan: &SeedPlan,
    c: u32,
    rng: &mut Random,
    slots: &[models::Slot],
    practices: &[String],
    receptionists: &HashMap<String, String>,
    roles: &HashMap<String, ClinicalRole>,
    rows: &mut Rows,
) {
    let dna_rate = 0.05 + rng.unit() * 0.05;
    let client = format!("client:{SEED_CLIENT}");
    let mut serial = u64::from(c) * 1_000_003;
    for slot in slots {
        let past = slot.ends_at <= plan.now;
        let chance = if past {
            0.80
        } else {
            let days = (slot.starts_at - plan.now).num_minutes() as f64 / 1_440.0;
            0.80 * 0.5f64.powf(days / 7.0)
        };
        let cancelled_first = past && rng.unit() < 0.03;
        let booked = rng.unit() < chance;
        if !booked && !cancelled_first {
            continue;
        }
        let lead = Duration::minutes(i64::from(rng.between(30, 14 * 1_440)));
        let made = (slot.starts_at - lead).min(plan.now);
        let by_111 = slot.channel == ChannelKind::Triage;
        let practice = match &slot.channel_practice_id {
            Some(p) => p.clone(),
            None => practices[rng.between(0, practices.len() as u32 - 1) as usize]
                .as_str()
                .into(),
        };
        let mut appointment = |status: AppointmentStatus, rng: &mut Random| {
            serial += 1;
            let id = rng.id(slot.created_at);
            let (booked_by, channel) = if by_111 {
                (client.clone(), ChannelKind::Triage)
            } else if slot.channel == ChannelKind::Practice {
                (
                    receptionists[practice.as_str()].clone(),
                    ChannelKind::Practice,
                )
            } else {
                (receptionists[practice.as_str()].clone(), ChannelKind::Open)
            };
            let triage = by_111.then(|| TriageBooking {
                cluster_id: slot.cluster_id.clone(),
                appointment_id: id.clone().into(),
                disposition_code: "Dx75".into(),
                triaged_at: made,
                due_by: made + Duration::hours(24).max(slot.ends_at - made),
                case_reference: Some(format!("SEED-{serial}")),
            });
            let born = NaiveDate::from_ymd_opt(1935, 1, 1).unwrap_or_default()
                + Duration::days(i64::from(rng.between(0, 85 * 365)));
            let cancelled = status == AppointmentStatus::Cancelled;
            let outcome = matches!(
                status,
                AppointmentStatus::Seen | AppointmentStatus::DidNotAttend
            );
            let row = Appointment {
                cluster_id: slot.cluster_id.clone(),
                id: id.into(),
                slot_id: slot.id.clone(),
                session_id: slot.session_id.clone(),
                status,
                nhs_number: Some(test_nhs_number(serial % 10_000_000)),
                patient_name: format!("Seed Patient {serial}"),
                patient_birth_date: born,
                patient_phone: "0113 496 0000".into(),
                patient_email: None,
                adjustments: None,
                registered_practice_id: (!by_111).then(|| practice.clone()),
                booking_practice_id: (!by_111).then(|| practice.clone()),
                booked_by,
                channel,
                reason: None,
                requester_ods: None,
                requester_reference: None,
                starts_at: slot.starts_at,
                ends_at: slot.ends_at,
                site_id: slot.site_id.clone(),
                service_id: slot.service_id.clone(),
                clinical_role: roles
                    .get(&slot.service_id)
                    .copied()
                    .unwrap_or(ClinicalRole::Gp),
                delivery: slot.delivery,
                version: if cancelled || outcome { 2 } else { 1 },
                created_at: made,
                updated_at: made,
                cancel_reason: cancelled.then(|| "Patient cancelled".to_owned()),
                cancelled_at: cancelled.then_some(made),
                outcome_at: outcome.then_some(slot.ends_at),
                notes: None,
                part_of: None,
            };
            (row, triage)
        };
        let mut keep = |(row, triage): (Appointment, Option<TriageBooking>)| {
            rows.appointments.push(row);
            rows.triage_bookings.extend(triage);
        };
        if cancelled_first {
            keep(appointment(AppointmentStatus::Cancelled, rng));
        }
        if booked {
            let status = if !past {
                AppointmentStatus::Booked
            } else if rng.unit() < dna_rate {
                AppointmentStatus::DidNotAttend
            } else {
                AppointmentStatus::Seen
            };
            keep(appointment(status, rng));
        }
    }
}

/// How far a seeding has gone, reported after each batch is written.
#[derive(Debug, Clone, Copy)]
pub struct SeedProgress {
    /// Clusters written so far.
    pub clusters: u32,
    /// Clusters to write in all.
    pub of: u32,
    /// Rows written so far.
    pub rows: usize,
    /// Seconds since the seeding began.
    pub seconds: f64,
}

impl SeedProgress {
    /// Rows written a second, on average so far.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }
}

impl std::fmt::Display for SeedProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} clusters, {} rows, {:.0} rows/s",
            self.clusters,
            self.of,
            self.rows,
            self.rows_per_second()
        )
    }
}

/// Rows held in memory before they are written.
const FLUSH_ROWS: usize = 250_000;

/// Generates and writes the data set in one transaction; refuses a database that already has
/// the first seeded cluster.
pub fn seed(
    conn: &mut DbConn,
    plan: &SeedPlan,
    progress: &dyn Fn(&SeedProgress),
) -> anyhow::Result<SeedReport> {
    anyhow::ensure!(
        (1..=MAX_CLUSTERS).contains(&plan.clusters),
        "--clusters must be 1 to {MAX_CLUSTERS}"
    );
    anyhow::ensure!((1..=104).contains(&plan.weeks), "--weeks must be 1 to 104");
    match clusters::get_cluster_by_code(conn, &cluster_code(1)) {
        Ok(_) => anyhow::bail!(
            "this database is already seeded (cluster {} exists); seed an empty one",
            cluster_code(1)
        ),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let started = Instant::now();
    let (sender, receiver) =
        std::sync::mpsc::sync_channel::<anyhow::Result<(Rows, Vec<String>, u64)>>(2);
    let generator = {
        let plan = plan.clone();
        std::thread::spawn(move || {
            let mut rows = Rows::default();
            let mut ids = Vec::new();
            let mut patients = 0;
            for c in 1..=plan.clusters {
                match cluster(&plan, c, &mut rows) {
                    Ok((id, p)) => {
                        ids.push(id);
                        patients += p;
                    }
                    Err(e) => {
                        let _ = sender.send(Err(e));
                        return;
                    }
                }
                if rows.len() >= FLUSH_ROWS || c == plan.clusters {
                    let batch = (
                        std::mem::take(&mut rows),
                        std::mem::take(&mut ids),
                        patients,
                    );
                    patients = 0;
                    if sender.send(Ok(batch)).is_err() {
                        return;
                    }
                }
            }
        })
    };
    let mut report = SeedReport::default();
    let outcome = write_tx(conn, |c| -> anyhow::Result<()> {
        let mut cluster_ids = Vec::new();
        for batch in receiver.iter() {
            let (mut rows, ids, patients) = batch?;
            report.clusters += rows.clusters.len();
            report.practices += rows.practices.len();
            report.patients += patients;
            report.sessions += rows.sessions.len();
            report.slots += rows.slots.len();
            report.appointments += rows.appointments.len();
            report.rows += bulk::write(c, &mut rows).context("writing seeded rows")?;
            cluster_ids.extend(ids);
            progress(&SeedProgress {
                clusters: u32::try_from(report.clusters).unwrap_or(u32::MAX),
                of: plan.clusters,
                rows: report.rows,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        anyhow::ensure!(
            report.clusters == plan.clusters as usize,
            "the generator stopped after {} clusters",
            report.clusters
        );
        report.rows += cluster_ids.len() + 2;
        integrations::create_integration(
            c,
            &Change {
                actor: "system:seed".into(),
                at: plan.now,
            },
            integrations::NewIntegration {
                client_id: SEED_CLIENT.into(),
                name: "Seeded NHS 111 service".into(),
                secret_hash: plan.password_hash.clone(),
                cluster_ids: cluster_ids.into_iter().map(ClusterId::from).collect(),
                practice_id: None,
            },
        )?;
        Ok(())
    });
    drop(receiver);
    let _ = generator.join();
    outcome?;
    report.seconds = started.elapsed().as_secs_f64();
    // Fresh statistics (and on PostgreSQL the visibility map, for index-only scans) so that the
    // first searches are planned as they will be in service, not from an empty table's guesses.
    let analysed = Instant::now();
    conn.refresh_statistics()
        .context("refreshing the planner's statistics")?;
    report.analyse_seconds = analysed.elapsed().as_secs_f64();
    Ok(report)
}

/// The Monday of the week holding `day`.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_sizes_have_the_national_shape() {
        let mut rng = Random::new(7, 1);
        let mut sizes: Vec<u32> = (0..20_000).map(|_| list_size(&mut rng)).collect();
        let mean = sizes.iter().map(|&s| f64::from(s)).sum::<f64>() / sizes.len() as f64;
        sizes.sort_unstable();
        assert!((8_500.0..9_500.0).contains(&mean), "mean {mean}");
        assert!(
            sizes[sizes.len() / 2] < 8_000,
            "median {}",
            sizes[sizes.len() / 2]
        );
        assert!(*sizes.last().unwrap_or(&0) > 30_000, "no long tail");
        assert!(sizes.iter().all(|&s| (1_500..=40_000).contains(&s)));
    }

    #[test]
    fn lanes_follow_the_enhanced_access_rate() {
        // 72,000 patients: 4,320 minutes a week, 70% GP (3.36 lanes), 30% nurse (1.44 lanes).
        assert_eq!(lanes(72_000), (3, 1));
        assert_eq!(lanes(150_000), (7, 3));
        assert_eq!(lanes(1_000), (1, 1));
    }

    #[test]
    fn the_same_seed_gives_the_same_stream_and_ids() {
        let at = NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap_or_default()
            .and_time(NaiveTime::MIN);
        let (mut a, mut b, mut other) = (Random::new(1, 5), Random::new(1, 5), Random::new(2, 5));
        let ids: Vec<String> = (0..3).map(|_| a.id(at)).collect();
        assert_eq!(ids, (0..3).map(|_| b.id(at)).collect::<Vec<_>>());
        assert_ne!(ids[0], other.id(at));
        assert!(uuid::Uuid::parse_str(&ids[0]).is_ok_and(|u| u.get_version_num() == 7));
    }

    fn plan(seed: u64) -> SeedPlan {
        let start = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default();
        SeedPlan {
            clusters: 3,
            weeks: 2,
            history_weeks: 1,
            seed,
            start,
            now: start.and_time(time(12, 0)),
            password_hash: "not-a-real-hash".into(),
        }
    }

    /// The fingerprint of a cluster's rows: every slot's and appointment's id and what matters.
    fn generate(plan: &SeedPlan, c: u32) -> Vec<String> {
        let mut rows = Rows::default();
        let (id, patients) = cluster(plan, c, &mut rows).unwrap_or_default();
        let mut out = vec![format!("{id} {patients}")];
        out.extend(
            rows.practices
                .iter()
                .map(|p| format!("{} {}", p.id, p.list_size)),
        );
        out.extend(
            rows.slots
                .iter()
                .map(|s| format!("{} {} {}", s.id, s.starts_at, s.channel)),
        );
        out.extend(
            rows.appointments
                .iter()
                .map(|a| format!("{} {} {}", a.id, a.slot_id, a.status)),
        );
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_data_set() {
        let once = generate(&plan(1), 2);
        assert!(once.len() > 500, "{} rows", once.len());
        assert_eq!(once, generate(&plan(1), 2));
        assert_ne!(
            once,
            generate(&plan(2), 2),
            "another seed, another data set"
        );
        assert_ne!(once, generate(&plan(1), 3), "another cluster, other data");
    }

    #[test]
    fn test_nhs_numbers_are_valid_and_in_the_test_range() {
        for n in [0, 1, 77, 999_999, 9_999_999] {
            let number = test_nhs_number(n);
            assert!(number.starts_with("999") && number.len() == 10, "{number}");
            assert!(
                hubbook_core::nhs_number::NhsNumber::parse(&number).is_ok(),
                "{number}"
            );
        }
    }
}

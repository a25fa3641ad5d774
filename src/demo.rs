//! The demo data set: a cluster `U00001` with six practices, two hubs and a surgery, four
//! services, and one user of every role, so a newcomer can click and curl at once.

use std::collections::HashMap;

use chrono::Datelike;
use hubbook_api::auth::hash_secret;
use hubbook_core::rota::expand;
use hubbook_core::rota::sample::{enhanced_access, SampleSites, SERVICES};
use hubbook_core::{Role, SiteKind};
use hubbook_store::repo::sessions::{self, PublishTarget};
use hubbook_store::repo::{
    clusters, integrations, practices, rotas, services, sites, users, Change,
};
use hubbook_store::{write_tx, DbConn, StoreError};
use hubbook_store::{ClusterId, PracticeId};

/// The demo cluster's code.
pub const DEMO_CLUSTER: &str = "U00001";
/// The demo triage client's id.
pub const DEMO_CLIENT: &str = "demo-111";

/// The demo's member practices: ODS code, name, registered list size.
pub const DEMO_PRACTICES: [(&str, &str, i64); 6] = [
    ("X00001", "Riverside Medical Practice", 14_200),
    ("X00002", "Hilltop Surgery", 6_300),
    ("X00003", "Canal Street Health Centre", 11_800),
    ("X00004", "Meadow Lane Surgery", 4_100),
    ("X00005", "Oakfield Family Practice", 9_400),
    ("X00006", "Station Road Medical Centre", 7_700),
];

/// What seeding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seeded {
    /// The demo cluster was created now.
    Created,
    /// The demo cluster already existed; nothing was changed.
    Reused,
}

/// The usernames the demo creates, in the order it prints them.
pub fn demo_usernames() -> Vec<String> {
    let mut names = vec![
        "admin".to_owned(),
        "manager".to_owned(),
        "hubstaff".to_owned(),
    ];
    names.extend(
        DEMO_PRACTICES
            .iter()
            .map(|(ods, _, _)| format!("reception-{}", ods.to_lowercase())),
    );
    names
}

/// How many weeks ahead the demo publishes its rota.
pub const DEMO_WEEKS_AHEAD: i64 = 4;

/// Seeds the demo data set unless the demo cluster already exists; all of it in one transaction.
pub fn seed_demo(
    conn: &mut DbConn,
    password: &str,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<Seeded> {
    match clusters::get_cluster_by_code(conn, DEMO_CLUSTER) {
        Ok(_) => return Ok(Seeded::Reused),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let hash = hash_secret(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let change = Change {
        actor: "system".into(),
        at: now,
    };
    write_tx(conn, |c| -> anyhow::Result<Seeded> {
        let cluster = clusters::create_cluster(
            c,
            &change,
            clusters::NewCluster {
                code: DEMO_CLUSTER.into(),
                name: "Demo Valley PCN".into(),
                time_zone: hubbook_core::ClusterTimeZone::DEFAULT,
            },
        )?;
        let site =
            |name: &str, kind: SiteKind, address: &str, postcode: &str, lat: f64, lon: f64| {
                sites::NewSite {
                    name: name.into(),
                    kind,
                    address: address.into(),
                    postcode: postcode.into(),
                    latitude: lat,
                    longitude: lon,
                }
            };
        let north = sites::create_site(
            c,
            &change,
            &cluster.id,
            site(
                "Hub North",
                SiteKind::Hub,
                "1 Demo Road North, Leeds",
                "LS7 3AA",
                53.8261,
                -1.5380,
            ),
        )?;
        let south = sites::create_site(
            c,
            &change,
            &cluster.id,
            site(
                "Hub South",
                SiteKind::Hub,
                "2 Demo Road South, Leeds",
                "LS11 5AA",
                53.7796,
                -1.5528,
            ),
        )?;
        let riverside = sites::create_site(
            c,
            &change,
            &cluster.id,
            site(
                "Riverside Surgery",
                SiteKind::Surgery,
                "3 River View, Leeds",
                "LS10 1AA",
                53.7890,
                -1.5330,
            ),
        )?;
        let mut service_ids = HashMap::new();
        for (code, name, role) in SERVICES {
            let created = services::create_service(
                c,
                &change,
                &cluster.id,
                services::NewService {
                    code: code.into(),
                    name: name.into(),
                    clinical_role: role,
                },
            )?;
            service_ids.insert(code, created.id);
        }
        let agreed = chrono::NaiveDate::from_ymd_opt(2026, 4, 1);
        let mut practice_ids = Vec::new();
        for (i, (ods, name, list_size)) in DEMO_PRACTICES.iter().enumerate() {
            let p = practices::create_practice(
                c,
                &change,
                &cluster.id,
                practices::NewPractice {
                    ods_code: (*ods).into(),
                    name: (*name).into(),
                    list_size: *list_size,
                    site_id: ((i == 0).then(|| riverside.id.clone())).map(Into::into),
                    dsa_from: agreed,
                    dsa_to: None,
                },
            )?;
            practice_ids.push((ods.to_lowercase(), p.id));
        }
        let user = |username: &str,
                    display: &str,
                    role: Role,
                    cluster_id: Option<String>,
                    practice_id: Option<String>| users::NewUser {
            username: username.into(),
            display_name: display.into(),
            password_hash: hash.clone(),
            role,
            cluster_id,
            practice_id,
        };
        users::create_user(
            c,
            &change,
            user("admin", "Demo Admin", Role::Admin, None, None),
        )?;
        users::create_user(
            c,
            &change,
            user(
                "manager",
                "Demo Cluster Manager",
                Role::ClusterManager,
                Some(cluster.id.clone().into()),
                None,
            ),
        )?;
        users::create_user(
            c,
            &change,
            user(
                "hubstaff",
                "Demo Hub Staff",
                Role::HubStaff,
                Some(cluster.id.clone().into()),
                None,
            ),
        )?;
        for (ods, practice_id) in &practice_ids {
            users::create_user(
                c,
                &change,
                user(
                    &format!("reception-{ods}"),
                    &format!("Reception {}", ods.to_uppercase()),
                    Role::Receptionist,
                    Some(cluster.id.clone().into()),
                    Some(practice_id.clone().into()),
                ),
            )?;
        }
        integrations::create_integration(
            c,
            &change,
            integrations::NewIntegration {
                client_id: DEMO_CLIENT.into(),
                name: "Demo NHS 111 service".into(),
                secret_hash: hash.clone(),
                cluster_ids: vec![cluster.id.clone()],
                practice_id: None,
            },
        )?;
        let today = now.date();
        let week_start =
            today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday()));
        let service = |code: &str| service_ids.get(code).cloned().unwrap_or_default();
        let (gp, nurse, phlebotomy, physio) = (
            service("gp"),
            service("nurse"),
            service("phlebotomy"),
            service("physio"),
        );
        let at = SampleSites {
            hub_north: &north.id,
            hub_south: &south.id,
            surgery: &riverside.id,
            gp: &gp,
            nurse: &nurse,
            phlebotomy: &phlebotomy,
            physio: &physio,
        };
        let rota = enhanced_access(&at, week_start);
        let stored = rotas::create_rota(
            c,
            &change,
            &cluster.id,
            rota.name.clone(),
            serde_json::to_string(&rota.templates)?,
        )?;
        let to = today + chrono::Duration::days(DEMO_WEEKS_AHEAD * 7 - 1);
        let expansion = expand(&rota, today, to, chrono_tz::Europe::London)?;
        let target = PublishTarget {
            cluster_id: &cluster.id,
            rota_id: &stored.id,
            from: today,
            to,
            slot_minutes: rota.slot_minutes(),
            sharing: Some(hubbook_store::repo::sharing::current(c, &cluster.id)?),
        };
        sessions::publish(c, &change, &target, &expansion, false)?;
        book_a_few(c, &change, &cluster.id, &practice_ids)?;
        Ok(Seeded::Created)
    })
}

/// Invented patients for the demo's first bookings (NHS numbers from the 999 test range).
const DEMO_PATIENTS: [(&str, &str, &str); 6] = [
    ("9990000018", "Ada Example", "1951-03-14"),
    ("9990000026", "Ben Sample", "1987-11-02"),
    ("9990000034", "Cara Testing", "1969-07-21"),
    ("9990000042", "Dev Placeholder", "2001-01-30"),
    ("9990000050", "Edie Specimen", "1944-09-09"),
    ("9990000069", "Finn Fictional", "2015-05-05"),
];

/// Books the first slots offered to the first three practices, two each, so that the demo shows
/// appointments, day lists and fair-share figures on day one.
fn book_a_few(
    c: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    practice_ids: &[(String, PracticeId)],
) -> anyhow::Result<()> {
    use hubbook_core::sharing::Viewer;
    use hubbook_store::repo::booking::{book, NewBooking};
    use hubbook_store::repo::sharing::{search_slots, SlotSearch};
    let now = change.at;
    let mut patients = DEMO_PATIENTS.iter();
    for (_, practice_id) in practice_ids.iter().take(3) {
        let viewer = Viewer::Practice {
            practice_id: practice_id.to_string(),
            agreement_in_force: true,
            own_site: None,
        };
        let search = SlotSearch {
            cluster_ids: vec![cluster_id.clone()],
            viewer: viewer.clone(),
            holder: change.actor.clone(),
            now,
            from: now,
            to: now + chrono::Duration::days(14),
            service_id: None,
            clinical_role: None,
            site_id: None,
            delivery: None,
            service_codes: None,
            deliveries: None,
        };
        for slot in search_slots(c, &search, None, 2)?.items {
            let Some((nhs, name, born)) = patients.next() else {
                return Ok(());
            };
            let day_start = slot
                .starts_at
                .date()
                .and_hms_opt(0, 0, 0)
                .unwrap_or(slot.starts_at);
            let new = NewBooking {
                slot_id: slot.id.clone(),
                hold_id: None,
                nhs_number: Some((*nhs).to_owned()),
                patient_name: (*name).to_owned(),
                patient_birth_date: born.parse()?,
                patient_phone: "0113 496 0000".into(),
                patient_email: None,
                adjustments: None,
                registered_practice_id: Some(practice_id.clone()),
                booking_practice_id: Some(practice_id.clone()),
                reason: Some("Demo booking".into()),
                requester_ods: None,
                requester_reference: None,
                requester_contact: None,
                notes: None,
                part_of: None,
                allow_same_day: true,
                own_holds_block: false,
            };
            book(
                c,
                change,
                cluster_id,
                &viewer,
                &new,
                (day_start, day_start + chrono::Duration::days(1)),
            )?;
        }
    }
    Ok(())
}

//! Publishing one cluster-year of the reference rota: expansion plus the writes, into a fresh
//! SQLite database (first publish, about 24,000 slots), and republishing it unchanged.
//!
//! Run with `cargo bench -p hubbook-store --features test-db --bench publish`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use criterion::{BatchSize, Criterion};
use hubbook_core::rota::sample::{enhanced_access, SampleSites};
use hubbook_core::rota::{expand, Rota};
use hubbook_store::repo::sessions::{publish, PublishTarget};
use hubbook_store::repo::{clusters, rotas, services, sites, Change};
use hubbook_store::test_db::TestDb;
use hubbook_store::DbPool;

struct Year {
    _db: TestDb,
    pool: DbPool,
    cluster_id: String,
    rota_id: String,
    rota: Rota,
}

fn from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()
}

fn set_up() -> Year {
    let db = TestDb::sqlite();
    let pool = db.pool().unwrap();
    let mut c = pool.get().unwrap();
    let change = Change {
        actor: "system:bench".into(),
        at: Utc::now().naive_utc(),
    };
    let cluster = clusters::create_cluster(
        &mut c,
        &change,
        clusters::NewCluster {
            code: "U00001".into(),
            name: "Bench".into(),
            time_zone: hubbook_core::ClusterTimeZone::DEFAULT,
        },
    )
    .unwrap();
    let site = |c: &mut _, name: &str| {
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
    let (north, south, surgery) = (
        site(&mut c, "North"),
        site(&mut c, "South"),
        site(&mut c, "Surgery"),
    );
    let service = |c: &mut _, code: &str, role: &str| {
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
        service(&mut c, "gp", "gp"),
        service(&mut c, "nurse", "nurse"),
        service(&mut c, "bloods", "phlebotomist"),
        service(&mut c, "physio", "physiotherapist"),
    );
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
    let stored = rotas::create_rota(
        &mut c,
        &change,
        &cluster.id,
        rota.name.clone(),
        serde_json::to_string(&rota.templates).unwrap(),
    )
    .unwrap();
    drop(c);
    Year {
        _db: db,
        pool,
        cluster_id: cluster.id.into(),
        rota_id: stored.id,
        rota,
    }
}

fn publish_year(year: &Year) -> usize {
    let to = from() + chrono::Duration::days(364);
    let expansion = expand(&year.rota, from(), to, chrono_tz::Europe::London).unwrap();
    let slot_minutes: HashMap<String, u32> = year.rota.slot_minutes();
    let target = PublishTarget {
        cluster_id: &hubbook_store::ClusterId::from(&year.cluster_id),
        rota_id: &year.rota_id,
        from: from(),
        to,
        slot_minutes,
        sharing: None,
    };
    let change = Change {
        actor: "system:bench".into(),
        at: Utc::now().naive_utc(),
    };
    let report = publish(
        &mut year.pool.get().unwrap(),
        &change,
        &target,
        &expansion,
        false,
    )
    .unwrap();
    report.slots_created + report.slots_unchanged
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .configure_from_args();
    let mut group = criterion.benchmark_group("publish_cluster_year_sqlite");
    group.bench_function("first_publish", |b| {
        b.iter_batched(
            set_up,
            |year| {
                assert!(publish_year(&year) > 20_000);
                year
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("republish_unchanged", |b| {
        b.iter_batched(
            || {
                let year = set_up();
                publish_year(&year);
                year
            },
            |year| {
                publish_year(&year);
                year
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    criterion.final_summary();
}

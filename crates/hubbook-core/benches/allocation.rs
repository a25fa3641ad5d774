//! Benchmark of capacity sharing: one cluster's year of sessions given their channels.
//!
//! The year has 52 weeks of five weekday sessions (9, 12, 17, 24 and 30 slots), eight Saturday
//! sessions (12 to 34 slots) and three Sunday sessions (9, 12 and 17 slots): 1,872 sessions and
//! 34,736 slots, 18.6 a session. Each day's 111 share follows the GP contract rule, spread
//! over the day's sessions; the rest is apportioned among 6 or 12 member practices of realistic
//! list sizes, one of which has no data-sharing agreement.

use std::hint::black_box;

use criterion::Criterion;
use hubbook_core::allocation::{
    allocate_period, exact_quotas, Channel, Member, SessionShare, TriageRule,
};

const WEEKDAY: [u32; 5] = [9, 12, 17, 24, 30];
const SATURDAY: [u32; 8] = [12, 12, 17, 17, 24, 24, 30, 34];
const SUNDAY: [u32; 3] = [9, 12, 17];

const LIST_SIZES: [u32; 12] = [
    14_200, 6_300, 4_100, 9_800, 11_999, 2_900, 17_450, 7_300, 5_050, 12_600, 8_800, 3_400,
];

fn members(n: usize) -> Vec<Member> {
    LIST_SIZES
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, &size)| Member::new(format!("P{:05}", 81_001 + i), size, i != 2))
        .collect()
}

/// Each day's sessions, by slot count, for 52 weeks.
fn days() -> Vec<&'static [u32]> {
    let mut days: Vec<&'static [u32]> = Vec::new();
    for _week in 0..52 {
        for _ in 0..5 {
            days.push(&WEEKDAY);
        }
        days.push(&SATURDAY);
        days.push(&SUNDAY);
    }
    days
}

/// A year's channels: the 111 share of each day spread over its sessions, then the apportionment.
fn share_year(days: &[&[u32]], members: &[Member]) -> Vec<Vec<Channel>> {
    let lists: Vec<u32> = members.iter().map(|m| m.list_size).collect();
    let mut sessions = Vec::new();
    for (day, slots) in days.iter().enumerate() {
        let triage = TriageRule::GpContract.day_reservations(&lists, slots, day);
        for (&slots, triage) in slots.iter().zip(triage) {
            sessions.push(SessionShare {
                slots,
                triage,
                members,
                apportion: true,
            });
        }
    }
    allocate_period(&sessions).unwrap_or_default()
}

fn report(days: &[&[u32]], members: &[Member]) {
    let year = share_year(days, members);
    let channels: Vec<&Channel> = year.iter().flatten().collect();
    let shared = channels
        .iter()
        .filter(|c| matches!(c, Channel::Practice(_)))
        .count();
    println!(
        "{} practices: {} sessions, {} slots, {} for 111, {} shared",
        members.len(),
        year.len(),
        channels.len(),
        channels.iter().filter(|c| ***c == Channel::Triage).count(),
        shared
    );
    for (member, quota) in members.iter().zip(exact_quotas(shared as u64, members)) {
        let given = channels
            .iter()
            .filter(|c| c.practice_id() == Some(&member.practice_id))
            .count();
        println!(
            "  {} list {:>6}: {given:>5} slots, exact quota {quota:>9.2}",
            member.practice_id, member.list_size
        );
    }
}

fn one_cluster_year(c: &mut Criterion) {
    let days = days();
    for n in [6, 12] {
        let members = members(n);
        report(&days, &members);
        c.bench_function(
            &format!("share one cluster-year (1,872 sessions, {n} practices)"),
            |b| b.iter(|| share_year(black_box(&days), black_box(&members))),
        );
    }
}

// What `criterion_group!` and `criterion_main!` expand to, without their undocumented public fn.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    one_cluster_year(&mut criterion);
    criterion.final_summary();
}

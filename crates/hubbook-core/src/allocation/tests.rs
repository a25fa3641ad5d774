//! Unit tests of capacity sharing: worked examples of the 111 rules and of the apportionment.

use super::*;

fn member(id: &str, list_size: u32) -> Member {
    Member::new(id, list_size, true)
}

fn three() -> Vec<Member> {
    vec![
        member("A81001", 14_200),
        member("B82002", 6_300),
        member("C83003", 4_100),
    ]
}

fn session(slots: u32, triage: u32, members: &[Member]) -> SessionShare<'_> {
    SessionShare {
        slots,
        triage,
        members,
        apportion: true,
    }
}

fn count(channels: &[Channel], wanted: &Channel) -> usize {
    channels.iter().filter(|c| *c == wanted).count()
}

fn practice(id: &str) -> Channel {
    Channel::Practice(id.to_owned())
}

/// Short names of channels for readable assertions: the practice id's letter, `T` or `O`.
fn letters(channels: &[Channel]) -> String {
    channels
        .iter()
        .map(|c| match c {
            Channel::Triage => 'T',
            Channel::Open => 'O',
            Channel::Practice(id) => id.chars().next().unwrap_or('?'),
        })
        .collect()
}

#[test]
fn three_practices_share_nine_slots_by_largest_remainder() {
    // Quotas 5.195, 2.305 and 1.5: the largest remainder (0.5) takes the ninth slot.
    let members = three();
    let channels = Apportioner::new()
        .allocate(&session(9, 0, &members))
        .unwrap();
    assert_eq!(letters(&channels), "ABACABAAC");
    assert_eq!(count(&channels, &practice("A81001")), 5);
    assert_eq!(count(&channels, &practice("B82002")), 2);
    assert_eq!(count(&channels, &practice("C83003")), 2);
}

#[test]
fn exact_quotas_of_the_worked_example() {
    let members = three();
    let quotas = exact_quotas(9, &members);
    let expected = [5.195_121_951, 2.304_878_048, 1.5];
    for (q, e) in quotas.iter().zip(expected) {
        assert!((q - e).abs() < 1e-6, "{q} vs {e}");
    }
    let mut with_others = members.clone();
    with_others.push(Member::new("D84004", 9_000, false));
    with_others.push(Member::new("E85005", 0, true));
    let quotas = exact_quotas(9, &with_others);
    assert_eq!(&quotas[3..], &[0.0, 0.0]);
    assert!((quotas.iter().sum::<f64>() - 9.0).abs() < 1e-9);
}

#[test]
fn the_111_slots_are_spread_through_the_session() {
    // 17 slots, 2 for 111 at floor(17/4) = 4 and floor(51/4) = 12.
    let members = three();
    let channels = Apportioner::new()
        .allocate(&session(17, 2, &members))
        .unwrap();
    assert_eq!(channels.len(), 17);
    assert_eq!(channels[4], Channel::Triage);
    assert_eq!(channels[12], Channel::Triage);
    assert_eq!(count(&channels, &Channel::Triage), 2);
    // 15 shared slots: quotas 8.66, 3.84 and 2.5.
    let a = count(&channels, &practice("A81001"));
    let b = count(&channels, &practice("B82002"));
    let c = count(&channels, &practice("C83003"));
    assert!((8..=9).contains(&a) && (3..=4).contains(&b) && (2..=3).contains(&c));
    assert_eq!(a + b + c, 15);
}

#[test]
fn one_slot_sessions_rotate_where_a_per_session_split_would_not() {
    // 7,000 and 3,000 patients, one shared slot a session: after ten sessions 7 and 3, and
    // within one of the exact quota after every session.
    let members = [member("A81001", 7_000), member("B82002", 3_000)];
    let mut apportioner = Apportioner::new();
    let mut a = 0;
    let mut all = String::new();
    for k in 1..=10 {
        let channels = apportioner.allocate(&session(1, 0, &members)).unwrap();
        a += count(&channels, &practice("A81001"));
        all.push_str(&letters(&channels));
        assert!((a as f64 - 0.7 * f64::from(k)).abs() < 1.0, "{all}");
    }
    assert_eq!(a, 7);
    assert_eq!(all, "ABAABAAABA");
}

#[test]
fn equal_list_sizes_take_turns() {
    let members = [
        member("A81001", 5_000),
        member("B82002", 5_000),
        member("C83003", 5_000),
    ];
    let channels = allocate_period(&[
        session(2, 0, &members),
        session(2, 0, &members),
        session(2, 0, &members),
    ])
    .unwrap();
    let all: String = channels.iter().map(|c| letters(c)).collect();
    assert_eq!(all, "ABCABC");
}

#[test]
fn practices_without_an_agreement_or_patients_get_nothing() {
    let members = [
        member("A81001", 14_200),
        Member::new("B82002", 6_300, false),
        Member::new("C83003", 0, true),
        member("D84004", 4_100),
    ];
    let channels = allocate_period(&[session(17, 1, &members), session(17, 1, &members)])
        .unwrap()
        .concat();
    assert_eq!(count(&channels, &practice("B82002")), 0);
    assert_eq!(count(&channels, &practice("C83003")), 0);
    // 32 shared slots: quotas 24.83 and 7.17.
    let a = count(&channels, &practice("A81001"));
    assert!((24..=25).contains(&a));
    assert_eq!(a + count(&channels, &practice("D84004")), 32);
}

#[test]
fn without_apportionment_or_eligible_practices_the_rest_is_open() {
    let members = three();
    let off = SessionShare {
        apportion: false,
        ..session(6, 2, &members)
    };
    let channels = Apportioner::new().allocate(&off).unwrap();
    assert_eq!(letters(&channels), "OTOOTO");

    let nobody = [Member::new("A81001", 9_000, false)];
    let channels = Apportioner::new()
        .allocate(&session(3, 0, &nobody))
        .unwrap();
    assert_eq!(letters(&channels), "OOO");
}

#[test]
fn the_111_share_is_capped_by_the_session() {
    let members = three();
    let channels = Apportioner::new()
        .allocate(&session(5, 20, &members))
        .unwrap();
    assert_eq!(letters(&channels), "TTTTT");
    assert!(Apportioner::new()
        .allocate(&session(0, 3, &members))
        .unwrap()
        .is_empty());
}

#[test]
fn member_order_does_not_matter() {
    let members = three();
    let mut reversed = members.clone();
    reversed.reverse();
    let sessions = |m: &[Member]| {
        let shares: Vec<SessionShare<'_>> = (0..20).map(|k| session(5 + k % 7, k % 3, m)).collect();
        allocate_period(&shares).unwrap()
    };
    assert_eq!(sessions(&members), sessions(&reversed));
}

#[test]
fn a_change_of_members_starts_a_new_segment() {
    let members = three();
    let without_c = [
        member("A81001", 14_200),
        member("B82002", 6_300),
        Member::new("C83003", 4_100, false),
    ];
    let mut apportioner = Apportioner::new();
    apportioner.allocate(&session(5, 0, &members)).unwrap();
    let after_change = apportioner.allocate(&session(5, 0, &without_c)).unwrap();
    let fresh = Apportioner::new()
        .allocate(&session(5, 0, &without_c))
        .unwrap();
    assert_eq!(after_change, fresh);

    // A session with nothing to share, or nobody to share with, leaves the stream alone.
    let mut a = Apportioner::new();
    let mut b = Apportioner::new();
    a.allocate(&session(4, 0, &members)).unwrap();
    b.allocate(&session(4, 0, &members)).unwrap();
    b.allocate(&session(2, 2, &members)).unwrap();
    b.allocate(&session(3, 0, &[Member::new("A81001", 14_200, false)]))
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.allocate(&session(4, 0, &members)).unwrap(),
        b.allocate(&session(4, 0, &members)).unwrap()
    );
}

#[test]
fn duplicate_practices_are_refused() {
    let members = [member("A81001", 1_000), Member::new("A81001", 2_000, false)];
    let error = Apportioner::new()
        .allocate(&session(3, 0, &members))
        .unwrap_err();
    assert_eq!(
        error,
        AllocationError::DuplicatePractice {
            practice_id: "A81001".into()
        }
    );
    assert_eq!(error.code(), "duplicate-practice");
}

#[test]
fn channels_round_trip_through_storage() {
    for channel in [Channel::Triage, practice("A81001"), Channel::Open] {
        let back = Channel::from_stored(channel.kind(), channel.practice_id()).unwrap();
        assert_eq!(back, channel);
    }
    assert_eq!(Channel::Triage.as_str(), "111");
    assert_eq!(practice("A81001").as_str(), "practice");
    assert_eq!(practice("A81001").to_string(), "practice A81001");
    assert_eq!(Channel::Open.to_string(), "open");
    for (kind, id) in [
        ("practice", None),
        ("practice", Some("")),
        ("open", Some("A81001")),
        ("111", Some("A81001")),
    ] {
        let kind: ChannelKind = kind.parse().unwrap();
        let error = Channel::from_stored(kind, id).unwrap_err();
        assert_eq!(error.code(), "invalid-channel");
    }
    assert!("triage".parse::<ChannelKind>().is_err());
}

#[test]
fn gp_contract_rule_for_a_six_practice_cluster() {
    // floor(list / 3,000) with at least one each: 4 + 2 + 1 + 1 + 3 + 3.
    let lists = [14_200, 6_300, 4_100, 2_900, 9_000, 11_999];
    assert_eq!(gp_contract_daily_slots(&lists), 14);
    assert_eq!(gp_contract_daily_slots(&[]), 0);
    assert_eq!(gp_contract_daily_slots(&[0, 1]), 1);
}

#[test]
fn daily_reservations_are_spread_by_session_size() {
    // 14 over 17 + 17 + 32 slots: quotas 3.61, 3.61 and 6.79.
    assert_eq!(spread_daily_reservation(14, &[17, 17, 32], 0), [4, 3, 7]);
    assert_eq!(spread_daily_reservation(14, &[17, 17, 32], 1), [3, 4, 7]);
    assert_eq!(spread_daily_reservation(14, &[17, 17, 32], 2), [4, 3, 7]);
    assert_eq!(spread_daily_reservation(3, &[1, 1, 0], 0), [1, 1, 0]);
    assert_eq!(spread_daily_reservation(0, &[5, 5], 0), [0, 0]);
    assert!(spread_daily_reservation(4, &[], 3).is_empty());
}

#[test]
fn triage_rules_give_each_days_sessions_their_share() {
    let lists = [14_200, 6_300, 4_100, 2_900, 9_000, 11_999];
    let sessions = [17, 17, 32];
    assert_eq!(
        TriageRule::GpContract.day_reservations(&lists, &sessions, 0),
        [4, 3, 7]
    );
    assert_eq!(
        TriageRule::PerDay { slots: 6 }.day_reservations(&lists, &sessions, 0),
        [2, 1, 3]
    );
    assert_eq!(
        TriageRule::PercentOfSession { percent: 10 }.day_reservations(&lists, &sessions, 0),
        [1, 1, 3]
    );
    assert_eq!(percent_of_session(100, 17), 17);
    assert_eq!(percent_of_session(250, 17), 17);
    assert_eq!(percent_of_session(0, 17), 0);
    assert!(TriageRule::PercentOfSession { percent: 100 }
        .validate()
        .is_ok());
    let error = TriageRule::PercentOfSession { percent: 101 }
        .validate()
        .unwrap_err();
    assert_eq!(error.code(), "invalid-triage-percentage");
    assert_eq!(TriageRule::default(), TriageRule::GpContract);
}

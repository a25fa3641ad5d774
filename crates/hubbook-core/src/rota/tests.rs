//! Unit tests of rota validation and expansion, with the 2026 Europe/London clock changes.

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::*;

const LONDON: Tz = Tz::Europe__London;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn utc(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, h, min, 0).unwrap()
}

/// A weekly GP template 09:00-12:00, 10-minute slots, every day of the week.
fn template(key: &str) -> SessionTemplate {
    SessionTemplate {
        key: key.to_owned(),
        site_id: "hub-north".to_owned(),
        service_id: "gp".to_owned(),
        start: t(9, 0),
        end: t(12, 0),
        slot_minutes: 10,
        capacity: 1,
        delivery: Delivery::FaceToFace,
        breaks: vec![],
        weekdays: WEEK.to_vec(),
        pattern: WeekPattern::EveryWeek,
        valid_from: d(2020, 1, 1),
        valid_to: None,
        skip_dates: vec![],
    }
}

fn night(key: &str, start: NaiveTime, end: NaiveTime) -> SessionTemplate {
    SessionTemplate {
        start,
        end,
        ..template(key)
    }
}

fn dates(expansion: &Expansion) -> Vec<NaiveDate> {
    expansion.sessions.iter().map(|s| s.date).collect()
}

fn one_day(template: &SessionTemplate, date: NaiveDate) -> Result<Expansion, RotaError> {
    expand_template(template, date, date, LONDON)
}

#[test]
fn spring_forward_session_lasts_one_hour() {
    let tpl = night("gp-night", t(0, 30), t(2, 30));
    let exp = one_day(&tpl, d(2026, 3, 29)).unwrap();
    let s = &exp.sessions[0];
    assert_eq!(s.start, utc(2026, 3, 29, 0, 30));
    assert_eq!(s.end, utc(2026, 3, 29, 1, 30));
    assert_eq!((s.end - s.start).num_minutes(), 60);
    assert_eq!(s.slots.len(), 6);
    assert!(!s.ambiguous);
    assert!(exp.warnings.is_empty());
    // The day before, the same template lasts two hours.
    let before = one_day(&tpl, d(2026, 3, 28)).unwrap();
    assert_eq!(before.sessions[0].slots.len(), 12);
}

#[test]
fn autumn_session_lasts_three_hours() {
    let tpl = night("gp-night", t(0, 30), t(2, 30));
    let exp = one_day(&tpl, d(2026, 10, 25)).unwrap();
    let s = &exp.sessions[0];
    assert_eq!(s.start, utc(2026, 10, 24, 23, 30));
    assert_eq!(s.end, utc(2026, 10, 25, 2, 30));
    assert_eq!(s.slots.len(), 18);
    assert!(!s.ambiguous, "00:30 and 02:30 exist once each");
    // Slots tile the UTC timeline: consecutive, 10 minutes each.
    for pair in s.slots.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
    }
    assert_eq!(s.slots.last().unwrap().end, s.end);
}

#[test]
fn nonexistent_wall_time_is_an_error_naming_template_and_date() {
    for tpl in [
        night("gp-gap-start", t(1, 30), t(3, 0)),
        night("gp-gap-end", t(0, 0), t(1, 30)),
        SessionTemplate {
            breaks: vec![Break {
                start: t(1, 0),
                end: t(2, 30),
            }],
            ..night("gp-gap-break", t(0, 0), t(3, 0))
        },
    ] {
        let err = expand_template(&tpl, d(2026, 3, 20), d(2026, 4, 5), LONDON).unwrap_err();
        assert_eq!(err.code(), "nonexistent-local-time");
        assert_eq!(err.template(), Some(tpl.key.as_str()));
        let RotaError::NonexistentTime {
            date, time, zone, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*date, d(2026, 3, 29));
        assert!([t(1, 0), t(1, 30)].contains(time));
        assert_eq!(*zone, "Europe/London");
        let message = err.to_string();
        assert!(
            message.contains(&tpl.key) && message.contains("2026-03-29"),
            "{message}"
        );
    }
    // A whole rota fails if one template fails.
    let rota = Rota {
        name: "Nights".into(),
        templates: vec![template("ok"), night("bad", t(1, 15), t(4, 0))],
    };
    assert_eq!(
        expand(&rota, d(2026, 3, 1), d(2026, 4, 30), LONDON)
            .unwrap_err()
            .template(),
        Some("bad")
    );
    // The gap's end (02:00) exists.
    assert!(one_day(&night("edge", t(2, 0), t(3, 0)), d(2026, 3, 29)).is_ok());
}

#[test]
fn ambiguous_wall_time_takes_earlier_start_and_later_end_and_warns() {
    let tpl = night("gp-fold", t(1, 30), t(3, 0));
    let exp = one_day(&tpl, d(2026, 10, 25)).unwrap();
    let s = &exp.sessions[0];
    assert!(s.ambiguous);
    assert_eq!(
        s.start,
        utc(2026, 10, 25, 0, 30),
        "01:30 BST, the first occurrence"
    );
    assert_eq!(s.end, utc(2026, 10, 25, 3, 0));
    assert_eq!(s.slots.len(), 15);
    assert_eq!(
        exp.warnings,
        vec![ExpansionWarning::AmbiguousTime {
            template: "gp-fold".into(),
            date: d(2026, 10, 25),
            times: vec![t(1, 30)]
        }]
    );
    assert_eq!(exp.warnings[0].code(), "ambiguous-local-time");
    assert!(exp.warnings[0].to_string().contains("gp-fold"));

    // An ambiguous end takes the later instant, so the session covers the whole wall interval.
    let end_in_fold = one_day(&night("late-end", t(0, 0), t(1, 30)), d(2026, 10, 25)).unwrap();
    assert_eq!(
        end_in_fold.sessions[0].end,
        utc(2026, 10, 25, 1, 30),
        "01:30 GMT, the second occurrence"
    );
    assert!(end_in_fold.sessions[0].ambiguous);

    // A break in the fold covers both occurrences of its wall interval.
    let with_break = SessionTemplate {
        breaks: vec![Break {
            start: t(1, 0),
            end: t(1, 30),
        }],
        ..night("fold-break", t(0, 0), t(3, 0))
    };
    let exp = one_day(&with_break, d(2026, 10, 25)).unwrap();
    let s = &exp.sessions[0];
    assert!(s.ambiguous);
    // 00:00 BST = 23:00Z to 03:00 GMT = 03:00Z is 4 hours; the break is 00:00Z-01:30Z.
    assert_eq!(s.slots.len(), 24 - 9);
    assert!(s
        .slots
        .iter()
        .all(|slot| slot.end <= utc(2026, 10, 25, 0, 0) || slot.start >= utc(2026, 10, 25, 1, 30)));
    assert_eq!(
        exp.warnings[0],
        ExpansionWarning::AmbiguousTime {
            template: "fold-break".into(),
            date: d(2026, 10, 25),
            times: vec![t(1, 0), t(1, 30)]
        }
    );
}

#[test]
fn every_week_with_weekdays() {
    let tpl = SessionTemplate {
        weekdays: vec![Weekday::Sat, Weekday::Tue],
        ..template("w")
    };
    let exp = expand_template(&tpl, d(2026, 6, 1), d(2026, 6, 14), LONDON).unwrap();
    assert_eq!(
        dates(&exp),
        vec![d(2026, 6, 2), d(2026, 6, 6), d(2026, 6, 9), d(2026, 6, 13)]
    );
}

#[test]
fn every_nth_week_counts_iso_weeks_from_the_anchor_both_ways() {
    // Anchor on a Thursday: its ISO week starts Monday 2026-01-05.
    let tpl = SessionTemplate {
        weekdays: vec![Weekday::Mon, Weekday::Sun],
        pattern: WeekPattern::EveryNthWeek {
            n: 2,
            anchor: d(2026, 1, 8),
        },
        ..template("fortnightly")
    };
    let exp = expand_template(&tpl, d(2025, 12, 22), d(2026, 1, 25), LONDON).unwrap();
    assert_eq!(
        dates(&exp),
        vec![
            d(2025, 12, 22),
            d(2025, 12, 28),
            d(2026, 1, 5),
            d(2026, 1, 11),
            d(2026, 1, 19),
            d(2026, 1, 25)
        ]
    );
    let third = WeekPattern::EveryNthWeek {
        n: 3,
        anchor: d(2026, 1, 5),
    };
    assert!(
        third.includes(d(2026, 1, 26))
            && third.includes(d(2025, 12, 15))
            && third.includes(d(2026, 2, 1))
    );
    assert!(!third.includes(d(2026, 1, 12)) && !third.includes(d(2025, 12, 22)));
}

#[test]
fn nth_and_last_weekday_of_month() {
    let first_sat = SessionTemplate {
        weekdays: vec![Weekday::Sat],
        pattern: WeekPattern::NthWeekdayOfMonth { n: 1 },
        ..template("first-sat")
    };
    let exp = expand_template(&first_sat, d(2026, 1, 1), d(2026, 4, 30), LONDON).unwrap();
    assert_eq!(
        dates(&exp),
        vec![d(2026, 1, 3), d(2026, 2, 7), d(2026, 3, 7), d(2026, 4, 4)]
    );

    let fifth_fri = SessionTemplate {
        weekdays: vec![Weekday::Fri],
        pattern: WeekPattern::NthWeekdayOfMonth { n: 5 },
        ..template("fifth-fri")
    };
    let exp = expand_template(&fifth_fri, d(2026, 1, 1), d(2026, 6, 30), LONDON).unwrap();
    assert_eq!(dates(&exp), vec![d(2026, 1, 30), d(2026, 5, 29)]);

    let last_fri = SessionTemplate {
        weekdays: vec![Weekday::Fri],
        pattern: WeekPattern::LastWeekdayOfMonth,
        ..template("last-fri")
    };
    let exp = expand_template(&last_fri, d(2026, 1, 1), d(2026, 4, 30), LONDON).unwrap();
    assert_eq!(
        dates(&exp),
        vec![
            d(2026, 1, 30),
            d(2026, 2, 27),
            d(2026, 3, 27),
            d(2026, 4, 24)
        ]
    );
}

#[test]
fn skip_dates_and_validity_range() {
    let tpl = SessionTemplate {
        weekdays: vec![Weekday::Mon],
        valid_from: d(2026, 5, 1),
        valid_to: Some(d(2026, 6, 1)),
        // Early May and spring bank holidays 2026.
        skip_dates: vec![d(2026, 5, 4), d(2026, 5, 25)],
        ..template("mondays")
    };
    let exp = expand_template(&tpl, d(2026, 4, 1), d(2026, 7, 31), LONDON).unwrap();
    assert_eq!(
        dates(&exp),
        vec![d(2026, 5, 11), d(2026, 5, 18), d(2026, 6, 1)]
    );
    assert!(
        expand_template(&tpl, d(2026, 6, 2), d(2026, 12, 31), LONDON)
            .unwrap()
            .sessions
            .is_empty()
    );
}

#[test]
fn breaks_drop_overlapping_slots() {
    let tpl = SessionTemplate {
        slot_minutes: 15,
        breaks: vec![
            Break {
                start: t(10, 20),
                end: t(10, 40),
            },
            Break {
                start: t(11, 0),
                end: t(11, 15),
            },
        ],
        ..template("with-breaks")
    };
    let exp = one_day(&tpl, d(2026, 6, 3)).unwrap();
    let starts: Vec<_> = exp.sessions[0]
        .slots
        .iter()
        .map(|s| s.start.with_timezone(&LONDON).time())
        .collect();
    // 09:00..12:00 in 15 minutes is 12 slots; 10:15 and 10:30 touch the first break, 11:00 the
    // second.
    assert_eq!(
        starts,
        vec![
            t(9, 0),
            t(9, 15),
            t(9, 30),
            t(9, 45),
            t(10, 0),
            t(10, 45),
            t(11, 15),
            t(11, 30),
            t(11, 45)
        ]
    );
    let indexes: Vec<_> = exp.sessions[0].slots.iter().map(|s| s.index).collect();
    assert_eq!(indexes, (0..9).collect::<Vec<_>>());
}

#[test]
fn tail_shorter_than_a_slot_is_dropped_and_empty_sessions_warn() {
    let tpl = SessionTemplate {
        slot_minutes: 40,
        ..template("tail")
    };
    let s = &one_day(&tpl, d(2026, 6, 3)).unwrap().sessions[0];
    assert_eq!(s.slots.len(), 4);
    assert_eq!(s.slots[3].end, utc(2026, 6, 3, 10, 40));

    // 90-minute slots do not fit the one-hour spring-forward session.
    let short = SessionTemplate {
        slot_minutes: 90,
        ..night("short", t(0, 30), t(2, 30))
    };
    let exp = one_day(&short, d(2026, 3, 29)).unwrap();
    assert!(exp.sessions[0].slots.is_empty());
    assert_eq!(
        exp.warnings,
        vec![ExpansionWarning::NoSlots {
            template: "short".into(),
            date: d(2026, 3, 29)
        }]
    );
    assert_eq!(exp.warnings[0].code(), "session-without-slots");
}

#[test]
fn capacity_gives_parallel_lanes() {
    let tpl = SessionTemplate {
        service_id: "phlebotomy".into(),
        start: t(8, 0),
        end: t(9, 0),
        slot_minutes: 15,
        capacity: 2,
        ..template("bloods")
    };
    let s = &one_day(&tpl, d(2026, 1, 14)).unwrap().sessions[0];
    assert_eq!(s.capacity, 2);
    let shape: Vec<_> = s
        .slots
        .iter()
        .map(|slot| (slot.index, slot.lane, slot.start))
        .collect();
    assert_eq!(
        shape,
        vec![
            (0, 0, utc(2026, 1, 14, 8, 0)),
            (0, 1, utc(2026, 1, 14, 8, 0)),
            (1, 0, utc(2026, 1, 14, 8, 15)),
            (1, 1, utc(2026, 1, 14, 8, 15)),
            (2, 0, utc(2026, 1, 14, 8, 30)),
            (2, 1, utc(2026, 1, 14, 8, 30)),
            (3, 0, utc(2026, 1, 14, 8, 45)),
            (3, 1, utc(2026, 1, 14, 8, 45)),
        ]
    );
}

#[test]
fn sessions_are_sorted_by_start_then_key_and_output_is_deterministic() {
    let rota = Rota {
        name: "Hub North".into(),
        templates: vec![
            template("zeta"),
            SessionTemplate {
                start: t(8, 0),
                end: t(11, 0),
                ..template("late-key")
            },
            template("alpha"),
        ],
    };
    let exp = expand(&rota, d(2026, 2, 2), d(2026, 2, 3), LONDON).unwrap();
    let order: Vec<_> = exp
        .sessions
        .iter()
        .map(|s| (s.date, s.template_key.as_str()))
        .collect();
    assert_eq!(
        order,
        vec![
            (d(2026, 2, 2), "late-key"),
            (d(2026, 2, 2), "alpha"),
            (d(2026, 2, 2), "zeta"),
            (d(2026, 2, 3), "late-key"),
            (d(2026, 2, 3), "alpha"),
            (d(2026, 2, 3), "zeta"),
        ]
    );
    assert_eq!(
        exp,
        expand(&rota, d(2026, 2, 2), d(2026, 2, 3), LONDON).unwrap()
    );
    assert_eq!(exp.slot_count(), 6 * 18);
    let s = &exp.sessions[1];
    assert_eq!(
        (s.site_id.as_str(), s.service_id.as_str(), s.delivery),
        ("hub-north", "gp", Delivery::FaceToFace)
    );
}

#[test]
fn other_zones_follow_their_own_rules() {
    // Lord Howe moves its clocks by 30 minutes: 02:00 -> 02:30 on 2026-10-04.
    let tpl = night("lhi", t(1, 0), t(4, 0));
    let exp = expand_template(
        &tpl,
        d(2026, 10, 4),
        d(2026, 10, 4),
        Tz::Australia__Lord_Howe,
    )
    .unwrap();
    assert_eq!(
        exp.sessions[0].end - exp.sessions[0].start,
        TimeDelta::minutes(150)
    );
    let gap = night("lhi-gap", t(2, 15), t(4, 0));
    let err = expand_template(
        &gap,
        d(2026, 10, 4),
        d(2026, 10, 4),
        Tz::Australia__Lord_Howe,
    )
    .unwrap_err();
    assert_eq!(err.code(), "nonexistent-local-time");
    // New York springs forward at 02:00 on 2026-03-08.
    let err =
        expand_template(&gap, d(2026, 3, 1), d(2026, 3, 31), Tz::America__New_York).unwrap_err();
    assert!(matches!(err, RotaError::NonexistentTime { date, .. } if date == d(2026, 3, 8)));
}

#[test]
fn invalid_range_is_refused() {
    let err = expand_template(&template("x"), d(2026, 2, 2), d(2026, 2, 1), LONDON).unwrap_err();
    assert_eq!(err.code(), "invalid-date-range");
    assert!(expand_template(&template("x"), d(2026, 2, 2), d(2026, 2, 2), LONDON).is_ok());
}

#[test]
fn validation_failures_name_the_template() {
    let cases: Vec<(SessionTemplate, &str)> = vec![
        (template(""), "invalid-template-key"),
        (template(" padded"), "invalid-template-key"),
        (template(&"k".repeat(65)), "invalid-template-key"),
        (
            SessionTemplate {
                site_id: String::new(),
                ..template("k")
            },
            "invalid-template-reference",
        ),
        (
            SessionTemplate {
                service_id: "a\nb".into(),
                ..template("k")
            },
            "invalid-template-reference",
        ),
        (night("k", t(12, 0), t(9, 0)), "invalid-session-times"),
        (night("k", t(9, 0), t(9, 0)), "invalid-session-times"),
        (
            night("k", NaiveTime::from_hms_opt(9, 0, 30).unwrap(), t(10, 0)),
            "time-not-whole-minute",
        ),
        (
            SessionTemplate {
                slot_minutes: 4,
                ..template("k")
            },
            "invalid-slot-length",
        ),
        (
            SessionTemplate {
                slot_minutes: 241,
                ..template("k")
            },
            "invalid-slot-length",
        ),
        (
            SessionTemplate {
                slot_minutes: 30,
                ..night("k", t(9, 0), t(9, 20))
            },
            "invalid-slot-length",
        ),
        (
            SessionTemplate {
                capacity: 0,
                ..template("k")
            },
            "invalid-capacity",
        ),
        (
            SessionTemplate {
                capacity: 21,
                ..template("k")
            },
            "invalid-capacity",
        ),
        (
            SessionTemplate {
                breaks: vec![Break {
                    start: t(10, 0),
                    end: t(10, 0),
                }],
                ..template("k")
            },
            "invalid-break",
        ),
        (
            SessionTemplate {
                breaks: vec![Break {
                    start: t(8, 0),
                    end: t(9, 30),
                }],
                ..template("k")
            },
            "invalid-break",
        ),
        (
            SessionTemplate {
                breaks: vec![Break {
                    start: t(11, 0),
                    end: t(12, 30),
                }],
                ..template("k")
            },
            "invalid-break",
        ),
        (
            SessionTemplate {
                breaks: vec![
                    Break {
                        start: t(10, 30),
                        end: t(11, 0),
                    },
                    Break {
                        start: t(10, 0),
                        end: t(10, 45),
                    },
                ],
                ..template("k")
            },
            "invalid-break",
        ),
        (
            SessionTemplate {
                weekdays: vec![],
                ..template("k")
            },
            "no-weekdays",
        ),
        (
            SessionTemplate {
                pattern: WeekPattern::EveryNthWeek {
                    n: 0,
                    anchor: d(2026, 1, 5),
                },
                ..template("k")
            },
            "invalid-week-pattern",
        ),
        (
            SessionTemplate {
                pattern: WeekPattern::EveryNthWeek {
                    n: 53,
                    anchor: d(2026, 1, 5),
                },
                ..template("k")
            },
            "invalid-week-pattern",
        ),
        (
            SessionTemplate {
                pattern: WeekPattern::NthWeekdayOfMonth { n: 0 },
                ..template("k")
            },
            "invalid-week-pattern",
        ),
        (
            SessionTemplate {
                pattern: WeekPattern::NthWeekdayOfMonth { n: 6 },
                ..template("k")
            },
            "invalid-week-pattern",
        ),
        (
            SessionTemplate {
                valid_from: d(2026, 2, 1),
                valid_to: Some(d(2026, 1, 31)),
                ..template("k")
            },
            "invalid-validity-range",
        ),
    ];
    for (tpl, code) in cases {
        let err = tpl.validate().unwrap_err();
        assert_eq!(err.code(), code, "{tpl:?}");
        if code != "invalid-template-key" {
            assert_eq!(err.template(), Some("k"));
            assert!(err.to_string().contains("'k'"), "{err}");
        }
        // Expansion validates too.
        assert_eq!(
            expand_template(&tpl, d(2026, 1, 1), d(2026, 1, 2), LONDON).unwrap_err(),
            err
        );
    }
    // Touching breaks and breaks at the session's edges are fine.
    let ok = SessionTemplate {
        breaks: vec![
            Break {
                start: t(11, 0),
                end: t(12, 0),
            },
            Break {
                start: t(9, 0),
                end: t(9, 30),
            },
            Break {
                start: t(9, 30),
                end: t(10, 0),
            },
        ],
        ..template("k")
    };
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn rota_validation() {
    let dup = Rota {
        name: "Rota".into(),
        templates: vec![template("a"), template("b"), template("a")],
    };
    let err = dup.validate().unwrap_err();
    assert_eq!(
        (err.code(), err.template()),
        ("duplicate-template-key", Some("a"))
    );
    let unnamed = Rota {
        name: "  ".into(),
        templates: vec![],
    };
    assert_eq!(unnamed.validate().unwrap_err().code(), "invalid-rota-name");
    let bad_template = Rota {
        name: "Rota".into(),
        templates: vec![template("a"), template("b\u{7}")],
    };
    assert_eq!(
        bad_template.validate().unwrap_err().code(),
        "invalid-template-key"
    );
    assert!(expand(&dup, d(2026, 1, 1), d(2026, 1, 1), LONDON).is_err());
    assert_eq!(
        Rota {
            name: "Empty".into(),
            templates: vec![]
        }
        .validate(),
        Ok(())
    );
}

#[test]
fn delivery_round_trips() {
    for delivery in Delivery::ALL {
        assert_eq!(delivery.as_str().parse::<Delivery>().unwrap(), delivery);
        assert_eq!(delivery.to_string(), delivery.as_str());
    }
    assert_eq!(
        "in_person".parse::<Delivery>().unwrap_err().code(),
        "unknown-delivery"
    );
}

#[test]
fn weekdays_and_times_read_the_documented_forms() {
    use serde::de::value::{Error as DeError, SeqDeserializer};
    use serde::Deserialize;

    let names = ["mon", "Tue", "wednesday", "THU", "fri", "sat", "sun"];
    let days =
        Vec::<Weekday>::deserialize(SeqDeserializer::<_, DeError>::new(names.into_iter())).unwrap();
    assert_eq!(
        days.iter().map(|d| weekday_name(*d)).collect::<Vec<_>>(),
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    );
    // chrono reads NaiveTime with its FromStr, which takes seconds as optional.
    assert_eq!("18:30".parse::<NaiveTime>().unwrap(), t(18, 30));
    assert_eq!("18:30:00".parse::<NaiveTime>().unwrap(), t(18, 30));
}

#[test]
fn advice_names_overlapping_sessions_and_short_tails() {
    let mut evening = template("evening");
    evening.start = t(18, 0);
    evening.end = t(19, 55);
    evening.weekdays = WEEK[..5].to_vec();
    let mut late = template("late");
    late.start = t(19, 0);
    late.end = t(21, 0);
    late.weekdays = vec![Weekday::Sun, Weekday::Wed];
    let rota = Rota {
        name: "R".into(),
        templates: vec![evening.clone(), late.clone()],
    };
    let advice = rota.advice();
    assert_eq!(
        advice,
        vec![
            RotaAdvice::ShortTail {
                template: "evening".into(),
                minutes: 5
            },
            RotaAdvice::Overlap {
                first: "evening".into(),
                second: "late".into(),
                day: Weekday::Wed
            },
        ]
    );
    assert!(advice[1]
        .to_string()
        .contains("give one session more capacity"));
    // At another site, on other days, or in another period, they do not meet.
    for change in [
        |l: &mut SessionTemplate| l.site_id = "elsewhere".into(),
        |l: &mut SessionTemplate| l.weekdays = vec![Weekday::Sat],
        |l: &mut SessionTemplate| {
            l.start = t(19, 55);
            l.end = t(21, 5);
        },
        |l: &mut SessionTemplate| {
            l.valid_from = d(2010, 1, 1);
            l.valid_to = Some(d(2019, 12, 31));
        },
    ] {
        let mut other = late.clone();
        change(&mut other);
        let rota = Rota {
            name: "R".into(),
            templates: vec![evening.clone(), other],
        };
        assert_eq!(
            rota.advice().len(),
            1,
            "only the short tail: {:?}",
            rota.advice()
        );
    }
}

/// A wall time of a template as JSON reads it, kept only when it is a whole minute.
fn reads_as_wall_time(text: &str) -> bool {
    serde_json::from_value::<NaiveTime>(serde_json::Value::from(text))
        .is_ok_and(|time| time.second() == 0 && time.nanosecond() == 0)
}

#[test]
fn the_time_of_day_pattern_agrees_with_the_template() {
    let pattern = regex::Regex::new(TIME_OF_DAY_PATTERN).unwrap();
    let disagreements: Vec<&str> = [
        "18:30",
        "00:00",
        "23:59",
        "09:05",
        "18:30:00",
        "18:30:00.000",
        "18:30:00.000000000",
        "9:30",
        "24:00",
        "18:60",
        "18:30:01",
        "18:30:00.5",
        "23:59:60",
        " 18:30",
        "18:30 ",
        "1830",
        "18:3",
        "",
        "18:30:00.0000000000",
        "18 : 30",
        "18: 30",
        "18:30:0",
        "18:30: 00",
        "18:30:00.",
        "18:30:00 ",
        "\t18:30",
        "18:30\n",
        "+18:30",
        "018:30",
        "18:030",
        "18:30:00.01",
        "18:30:000",
        "\u{a0}18:30",
        "18:30:00.0000000001",
        "18:30:00 .0",
        "18:30:00.0000000005",
        "18:30:00.00000001",
        "18:30:00.1000000000",
    ]
    .into_iter()
    .filter(|sample| pattern.is_match(sample) != reads_as_wall_time(sample))
    .collect();
    assert!(disagreements.is_empty(), "{disagreements:?}");
}

#[test]
fn the_weekday_pattern_agrees_with_the_template() {
    let pattern = regex::Regex::new(WEEKDAY_PATTERN).unwrap();
    let reads =
        |text: &str| serde_json::from_value::<Weekday>(serde_json::Value::from(text)).is_ok();
    let mut samples: Vec<String> = Vec::new();
    for full in [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ] {
        samples.push(full.to_owned());
        samples.push(full[..3].to_owned());
        samples.push(full.to_uppercase());
        samples.push(full[..3].to_uppercase());
        samples.push(format!("{}{}", full[..1].to_uppercase(), &full[1..]));
        samples.push(full[..4].to_owned());
        samples.push(format!("{full}s"));
        samples.push(format!(" {full}"));
    }
    samples.extend(["", "mo", "mondy", "tues", "thurs"].map(str::to_owned));
    for sample in samples {
        assert_eq!(pattern.is_match(&sample), reads(&sample), "{sample:?}");
    }
}

//! Sharing a cluster's capacity (DESIGN section 5): the rules a cluster manager sets, the channel
//! each newly published slot gets, and who may see a slot now.
//!
//! * At publication each slot gets a channel: 111, one practice, or open. The 111 share of a day
//!   ([`TriageRule`]) is spread over that day's sessions of the services it applies to; the rest
//!   is apportioned to the practices whose data-sharing agreement is in force, in proportion to
//!   list size ([`Apportioner`]). Only newly created sessions carry a 111 share; slots added to an
//!   existing session by a republish are apportioned among practices.
//! * Release is a function of time: a reserved slot has a release instant (its session's start
//!   less its channel's lead time) after which every practice of the cluster may book it. Nothing
//!   needs to run for that to happen.
//! * A practice sees open slots, its own reserved slots and released ones; without an agreement
//!   in force it sees only slots at its own site. A 111 service sees 111 slots, and open or
//!   released ones only when the rules allow it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::allocation::{
    AllocationError, Apportioner, Channel, ChannelKind, Member, SessionShare, TriageRule,
};
use crate::practice::DataSharingAgreement;
use crate::rota::ExpandedSession;

/// The longest release lead time allowed, in hours (four weeks).
pub const MAX_LEAD_HOURS: u32 = 24 * 28;

fn default_practice_lead() -> u32 {
    48
}

fn default_triage_lead() -> u32 {
    4
}

fn yes() -> bool {
    true
}

/// How a cluster shares its capacity; applies to slots published after it is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingRules {
    /// How many slots are reserved for 111.
    #[serde(default)]
    pub triage: TriageRule,
    /// The services (ids) the 111 reservation applies to; every service when empty.
    #[serde(default)]
    pub triage_services: Vec<String>,
    /// Hours before a session's start at which slots reserved for a practice open to every practice.
    #[serde(default = "default_practice_lead")]
    pub practice_release_hours: u32,
    /// Hours before a session's start at which slots reserved for 111 open to every practice.
    #[serde(default = "default_triage_lead")]
    pub triage_release_hours: u32,
    /// Whether 111 may also book open (and released) slots.
    #[serde(default)]
    pub triage_may_book_open: bool,
    /// Whether slots not reserved for 111 are apportioned to practices (otherwise they are open).
    #[serde(default = "yes")]
    pub apportionment: bool,
}

impl Default for SharingRules {
    fn default() -> Self {
        Self {
            triage: TriageRule::default(),
            triage_services: Vec::new(),
            practice_release_hours: default_practice_lead(),
            triage_release_hours: default_triage_lead(),
            triage_may_book_open: false,
            apportionment: true,
        }
    }
}

impl SharingRules {
    /// Checks the rules: a valid 111 rule and lead times of at most four weeks.
    pub fn validate(&self) -> Result<(), AllocationError> {
        self.triage.validate()?;
        if self.practice_release_hours > MAX_LEAD_HOURS
            || self.triage_release_hours > MAX_LEAD_HOURS
        {
            return Err(AllocationError::InvalidLeadTime(MAX_LEAD_HOURS));
        }
        Ok(())
    }

    /// When a slot of this channel in a session starting at `session_start` opens to every
    /// practice; `None` for an open slot.
    pub fn release_time(
        &self,
        channel: &Channel,
        session_start: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let hours = match channel {
            Channel::Open => return None,
            Channel::Practice(_) => self.practice_release_hours,
            Channel::Triage => self.triage_release_hours,
        };
        Some(session_start - Duration::hours(i64::from(hours)))
    }

    fn triage_applies_to(&self, service_id: &str) -> bool {
        self.triage_services.is_empty() || self.triage_services.iter().any(|s| s == service_id)
    }
}

/// A member practice as sharing sees it: its list size and agreement dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeShare {
    /// The practice's id.
    pub practice_id: String,
    /// Its registered list size.
    pub list_size: u32,
    /// Its data-sharing agreement.
    pub agreement: DataSharingAgreement,
}

impl PracticeShare {
    /// The practice as apportionment sees it on `date`: its list size and whether its agreement
    /// is in force that day, so that every rule tests eligibility the same way.
    pub fn member_on(&self, date: NaiveDate) -> Member {
        Member::new(
            self.practice_id.clone(),
            self.list_size,
            self.agreement.in_force_on(date),
        )
    }
}

/// The channel and release instant given to one new slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotChannel {
    /// Who may book it before release.
    pub channel: Channel,
    /// When it opens to every practice; `None` when it is open already.
    pub released_at: Option<DateTime<Utc>>,
}

/// The new slots of one session in a publish.
#[derive(Debug, Clone, Copy)]
pub struct NewSlots<'a> {
    /// The session, as expanded.
    pub session: &'a ExpandedSession,
    /// How many of its slots are new, in its slot order.
    pub count: usize,
    /// Whether the whole session is new (only new sessions carry a 111 share).
    pub new_session: bool,
}

/// Gives each new slot of a publish its channel and release instant. `sessions` must be in time
/// order; the result has one list per session, one entry per new slot in slot order.
pub fn assign_channels(
    rules: &SharingRules,
    practices: &[PracticeShare],
    sessions: &[NewSlots<'_>],
) -> Result<Vec<Vec<SlotChannel>>, AllocationError> {
    let triage = triage_shares(rules, practices, sessions);
    let mut apportioner = Apportioner::new();
    let mut out = Vec::with_capacity(sessions.len());
    for (new, reserved) in sessions.iter().zip(triage) {
        let date = new.session.date;
        let members: Vec<Member> = practices.iter().map(|p| p.member_on(date)).collect();
        let share = SessionShare {
            slots: u32::try_from(new.count).unwrap_or(u32::MAX),
            triage: reserved,
            members: &members,
            apportion: rules.apportionment,
        };
        let channels = apportioner.allocate(&share)?;
        out.push(
            channels
                .into_iter()
                .map(|channel| SlotChannel {
                    released_at: rules.release_time(&channel, new.session.start),
                    channel,
                })
                .collect(),
        );
    }
    Ok(out)
}

/// The 111 share of each session: the day's reservation spread over that day's new sessions of
/// the services it applies to.
fn triage_shares(
    rules: &SharingRules,
    practices: &[PracticeShare],
    sessions: &[NewSlots<'_>],
) -> Vec<u32> {
    let mut shares = vec![0; sessions.len()];
    let mut day_start = 0;
    while day_start < sessions.len() {
        let date = sessions[day_start].session.date;
        let day_end = sessions[day_start..]
            .iter()
            .position(|s| s.session.date != date)
            .map_or(sessions.len(), |n| day_start + n);
        let eligible: Vec<usize> = (day_start..day_end)
            .filter(|&i| {
                sessions[i].new_session && rules.triage_applies_to(&sessions[i].session.service_id)
            })
            .collect();
        let sizes: Vec<u32> = eligible
            .iter()
            .map(|&i| u32::try_from(sessions[i].count).unwrap_or(u32::MAX))
            .collect();
        let lists: Vec<u32> = practices
            .iter()
            .filter(|p| p.agreement.in_force_on(date))
            .map(|p| p.list_size)
            .collect();
        let rotation = usize::try_from(date.num_days_from_ce()).unwrap_or(0);
        for (&i, share) in eligible
            .iter()
            .zip(rules.triage.day_reservations(&lists, &sizes, rotation))
        {
            shares[i] = share;
        }
        day_start = day_end;
    }
    shares
}

/// Who is looking for slots and booking them, as the sharing rules see it: a practice (its
/// receptionists, or a manager acting for it) or a 111 service. The one name for the caller's view
/// of the sharing rules, used by search, hold, booking and the visibility explanation alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// A practice of the cluster (its receptionists).
    Practice {
        /// The practice's id.
        practice_id: String,
        /// Whether its data-sharing agreement is in force today; without one it sees only its own site.
        agreement_in_force: bool,
        /// The site it runs, if any.
        own_site: Option<String>,
    },
    /// A 111 triage service.
    Triage {
        /// The clusters (of those searched) whose rules let 111 book open and released slots.
        open_clusters: Vec<String>,
    },
}

impl Viewer {
    /// How a booking by this viewer of a slot of `channel` is recorded: `practice` when a practice
    /// books from its own reservation, `111` for a triage service, `open` otherwise.
    pub fn booking_channel(&self, channel: &Channel) -> ChannelKind {
        match (self, channel) {
            (Self::Triage { .. }, _) => ChannelKind::Triage,
            (Self::Practice { practice_id, .. }, Channel::Practice(p)) if p == practice_id => {
                ChannelKind::Practice
            }
            (Self::Practice { .. }, _) => ChannelKind::Open,
        }
    }
}

/// Why a slot is or is not offered to a viewer now; `code()` names it for machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Visibility {
    /// Open to every practice of the cluster.
    Open,
    /// Reserved for the viewing practice.
    ReservedForYou,
    /// Reserved for 111, and the viewer is 111.
    ReservedFor111,
    /// Was reserved, and has been released to every practice.
    Released {
        /// When it was released.
        at: DateTime<Utc>,
    },
    /// Reserved for another practice until its release.
    ReservedForAnotherPractice {
        /// When it opens to every practice.
        until: Option<DateTime<Utc>>,
    },
    /// Reserved for 111 until its release.
    ReservedFor111Until {
        /// When it opens to every practice.
        until: Option<DateTime<Utc>>,
    },
    /// Reserved for a practice; 111 may not book it.
    ReservedForPractices,
    /// Open (or released), but the cluster's rules keep open slots from 111.
    OpenNotFor111,
    /// The viewing practice has no data-sharing agreement in force, so it sees only its own site.
    NoDataSharingAgreement,
}

impl Visibility {
    /// The reason's stable name, as serialised (`open`, `reserved_for_you`, `released`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::ReservedForYou => "reserved_for_you",
            Self::ReservedFor111 => "reserved_for111",
            Self::Released { .. } => "released",
            Self::ReservedForAnotherPractice { .. } => "reserved_for_another_practice",
            Self::ReservedFor111Until { .. } => "reserved_for111_until",
            Self::ReservedForPractices => "reserved_for_practices",
            Self::OpenNotFor111 => "open_not_for111",
            Self::NoDataSharingAgreement => "no_data_sharing_agreement",
        }
    }

    /// Whether the slot is offered.
    pub fn visible(&self) -> bool {
        matches!(
            self,
            Self::Open | Self::ReservedForYou | Self::ReservedFor111 | Self::Released { .. }
        )
    }
}

/// Whether a slot of `channel`, released at `released_at`, at `site_id` in `cluster_id`, is
/// offered to `viewer` at `now`.
pub fn visibility(
    channel: &Channel,
    released_at: Option<DateTime<Utc>>,
    cluster_id: &str,
    site_id: &str,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Visibility {
    let released = released_at.filter(|at| *at <= now);
    match viewer {
        Viewer::Practice {
            practice_id,
            agreement_in_force,
            own_site,
        } => {
            if !agreement_in_force && own_site.as_deref() != Some(site_id) {
                return Visibility::NoDataSharingAgreement;
            }
            match (channel, released) {
                (Channel::Open, _) => Visibility::Open,
                (Channel::Practice(p), _) if p == practice_id => Visibility::ReservedForYou,
                (_, Some(at)) => Visibility::Released { at },
                (Channel::Practice(_), None) => {
                    Visibility::ReservedForAnotherPractice { until: released_at }
                }
                (Channel::Triage, None) => Visibility::ReservedFor111Until { until: released_at },
            }
        }
        Viewer::Triage { open_clusters } => {
            let may_book_open = open_clusters.iter().any(|c| c == cluster_id);
            match (channel, released) {
                (Channel::Triage, _) => Visibility::ReservedFor111,
                (Channel::Open, _) if may_book_open => Visibility::Open,
                (_, Some(at)) if may_book_open => Visibility::Released { at },
                (Channel::Open, _) | (_, Some(_)) => Visibility::OpenNotFor111,
                (Channel::Practice(_), None) => Visibility::ReservedForPractices,
            }
        }
    }
}

/// The first day of a week-long fair-share period containing `date` (Monday).
pub fn week_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rota::{expand, sample};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn practice(id: &str, list_size: u32, agreed: bool) -> PracticeShare {
        let from = agreed.then(|| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        PracticeShare {
            practice_id: id.into(),
            list_size,
            agreement: DataSharingAgreement::new(from, None).unwrap(),
        }
    }

    #[test]
    fn a_week_of_the_reference_rota_is_shared_by_the_rules() {
        let at = sample::SampleSites {
            hub_north: "n",
            hub_south: "s",
            surgery: "r",
            gp: "gp",
            nurse: "nurse",
            phlebotomy: "bloods",
            physio: "physio",
        };
        let from = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        let rota = sample::enhanced_access(&at, from);
        let week = expand(
            &rota,
            from,
            from + Duration::days(6),
            chrono_tz::Europe::London,
        )
        .unwrap();
        let practices = [
            practice("a", 14_200, true),
            practice("b", 6_300, true),
            practice("c", 4_100, false),
        ];
        let rules = SharingRules {
            triage_services: vec!["gp".into()],
            ..SharingRules::default()
        };
        let new: Vec<NewSlots> = week
            .sessions
            .iter()
            .map(|s| NewSlots {
                session: s,
                count: s.slots.len(),
                new_session: true,
            })
            .collect();
        let channels = assign_channels(&rules, &practices, &new).unwrap();
        let all: Vec<&SlotChannel> = channels.iter().flatten().collect();
        assert_eq!(all.len(), week.slot_count());
        let count = |f: &dyn Fn(&Channel) -> bool| all.iter().filter(|c| f(&c.channel)).count();
        // The GP contract rule: a 4 + b 2 (c has no agreement) = 6 a day, on the five weekdays
        // and Saturday that have GP sessions.
        assert_eq!(count(&|c| *c == Channel::Triage), 6 * 6);
        assert_eq!(
            count(&|c| c.practice_id() == Some("c")),
            0,
            "no agreement, no share"
        );
        let (a, b) = (
            count(&|c| c.practice_id() == Some("a")) as f64,
            count(&|c| c.practice_id() == Some("b")) as f64,
        );
        assert!((a / b - 14_200.0 / 6_300.0).abs() < 0.05, "{a} {b}");
        // Every 111 slot is in a GP session, released four hours before it starts.
        for (new, slots) in new.iter().zip(&channels) {
            for slot in slots {
                if slot.channel == Channel::Triage {
                    assert_eq!(new.session.service_id, "gp");
                    assert_eq!(
                        slot.released_at,
                        Some(new.session.start - Duration::hours(4))
                    );
                }
            }
        }
    }

    #[test]
    fn without_apportionment_everything_but_111_is_open() {
        let at = sample::SampleSites {
            hub_north: "n",
            hub_south: "s",
            surgery: "r",
            gp: "gp",
            nurse: "nurse",
            phlebotomy: "bloods",
            physio: "physio",
        };
        let from = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        let day = expand(
            &sample::enhanced_access(&at, from),
            from,
            from,
            chrono_tz::Europe::London,
        )
        .unwrap();
        let rules = SharingRules {
            apportionment: false,
            triage: TriageRule::PerDay { slots: 3 },
            ..SharingRules::default()
        };
        let new: Vec<NewSlots> = day
            .sessions
            .iter()
            .map(|s| NewSlots {
                session: s,
                count: s.slots.len(),
                new_session: true,
            })
            .collect();
        let channels = assign_channels(&rules, &[practice("a", 5_000, true)], &new).unwrap();
        let flat: Vec<&SlotChannel> = channels.iter().flatten().collect();
        assert_eq!(
            flat.iter().filter(|c| c.channel == Channel::Triage).count(),
            3
        );
        assert!(flat
            .iter()
            .all(|c| matches!(c.channel, Channel::Triage | Channel::Open)));
        assert!(flat
            .iter()
            .filter(|c| c.channel == Channel::Open)
            .all(|c| c.released_at.is_none()));
    }

    #[test]
    fn practices_see_their_own_open_and_released_slots() {
        let now = t("2027-01-04T12:00:00Z");
        let me = Viewer::Practice {
            practice_id: "a".into(),
            agreement_in_force: true,
            own_site: None,
        };
        let mine = Channel::Practice("a".into());
        let theirs = Channel::Practice("b".into());
        assert_eq!(
            visibility(&Channel::Open, None, "c", "s", &me, now),
            Visibility::Open
        );
        assert_eq!(
            visibility(&mine, Some(t("2027-01-05T00:00:00Z")), "c", "s", &me, now),
            Visibility::ReservedForYou
        );
        let until = Some(t("2027-01-04T13:00:00Z"));
        assert_eq!(
            visibility(&theirs, until, "c", "s", &me, now),
            Visibility::ReservedForAnotherPractice { until }
        );
        assert!(visibility(&theirs, Some(t("2027-01-04T11:00:00Z")), "c", "s", &me, now).visible());
        assert_eq!(
            visibility(&Channel::Triage, until, "c", "s", &me, now),
            Visibility::ReservedFor111Until { until }
        );
        let unsigned = Viewer::Practice {
            practice_id: "a".into(),
            agreement_in_force: false,
            own_site: Some("home".into()),
        };
        assert_eq!(
            visibility(&Channel::Open, None, "c", "hub", &unsigned, now),
            Visibility::NoDataSharingAgreement
        );
        assert_eq!(
            visibility(&Channel::Open, None, "c", "home", &unsigned, now),
            Visibility::Open
        );
    }

    #[test]
    fn triage_sees_its_slots_and_open_ones_only_when_allowed() {
        let now = t("2027-01-04T12:00:00Z");
        let strict = Viewer::Triage {
            open_clusters: vec!["elsewhere".into()],
        };
        let open = Viewer::Triage {
            open_clusters: vec!["c".into()],
        };
        assert_eq!(
            visibility(&Channel::Triage, None, "c", "s", &strict, now),
            Visibility::ReservedFor111
        );
        assert_eq!(
            visibility(&Channel::Open, None, "c", "s", &strict, now),
            Visibility::OpenNotFor111
        );
        assert_eq!(
            visibility(&Channel::Open, None, "c", "s", &open, now),
            Visibility::Open
        );
        let practice = Channel::Practice("a".into());
        assert_eq!(
            visibility(
                &practice,
                Some(t("2027-01-05T00:00:00Z")),
                "c",
                "s",
                &open,
                now
            ),
            Visibility::ReservedForPractices
        );
        assert!(visibility(
            &practice,
            Some(t("2027-01-04T00:00:00Z")),
            "c",
            "s",
            &open,
            now
        )
        .visible());
        assert!(!visibility(
            &practice,
            Some(t("2027-01-04T00:00:00Z")),
            "c",
            "s",
            &strict,
            now
        )
        .visible());
    }

    #[test]
    fn codes_are_the_serialised_reasons() {
        let at = t("2027-01-04T12:00:00Z");
        for v in [
            Visibility::Open,
            Visibility::ReservedForYou,
            Visibility::ReservedFor111,
            Visibility::Released { at },
            Visibility::ReservedForAnotherPractice { until: Some(at) },
            Visibility::ReservedFor111Until { until: None },
            Visibility::ReservedForPractices,
            Visibility::OpenNotFor111,
            Visibility::NoDataSharingAgreement,
        ] {
            assert_eq!(serde_json::to_value(&v).unwrap()["reason"], v.code());
        }
    }

    #[test]
    fn rules_read_with_defaults_and_refuse_unknown_fields() {
        let rules: SharingRules = serde_json::from_str("{}").unwrap();
        assert_eq!(rules, SharingRules::default());
        assert!(serde_json::from_str::<SharingRules>(r#"{"triage_release_hour": 4}"#).is_err());
        let long = SharingRules {
            practice_release_hours: MAX_LEAD_HOURS + 1,
            ..SharingRules::default()
        };
        assert!(long.validate().is_err());
    }
}

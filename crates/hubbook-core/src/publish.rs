//! Publishing a rota: the plan that turns what is stored into what the rota now says, without
//! ever dropping a booked patient (DESIGN invariant 4).
//!
//! The rules, for the sessions of one rota in one date range:
//! * A session is identified by its template key and local date. A stored session whose site,
//!   service or delivery differs from the new expansion is *replaced*: it is retired and a new
//!   session is created, because a patient booked into it would be going to another place or
//!   kind of appointment.
//! * Otherwise the session is kept and its slots are compared by start, end and lane: missing
//!   slots are added, slots no longer wanted are removed when free.
//! * A slot that is not wanted any more but has a live appointment is kept, and the appointment
//!   is listed as needing rebooking; a slot under a live hold is kept untouched (it is treated
//!   as booked until the hold expires, and a later publish removes it).
//! * A stored session with no counterpart in the expansion is retired the same way.
//! * A session cancelled by hand stays cancelled; publishing does not bring it back.
//! * Withdrawing a range retires every active session in it, by the same slot rules.
//!
//! Publishing the same rota over the same range twice yields an empty plan: publishing is
//! idempotent by content.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::rota::{Delivery, ExpandedSession, Expansion};

/// Whether a stored slot is free, under a live hold, or has a live appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Occupancy {
    /// Nobody holds or has booked it.
    Free,
    /// A live hold reserves it.
    Held,
    /// A live appointment (booked, arrived or seen) is in it.
    Booked {
        /// The appointment.
        appointment_id: String,
    },
}

/// A slot as stored, with what occupies it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSlot {
    /// The slot's id.
    pub id: String,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
    /// Its parallel place.
    pub lane: u32,
    /// What occupies it.
    pub occupancy: Occupancy,
    /// Whether an earlier change already left it kept only for its patient (no longer offered).
    pub orphaned: bool,
}

/// Whether a stored session is running or was cancelled by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredStatus {
    /// Published and running.
    Active,
    /// Cancelled by a manager; publishing leaves it cancelled.
    Cancelled,
}

/// A session as stored (withdrawn ones are history and are not given to the planner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The session's id.
    pub id: String,
    /// The template it came from.
    pub template_key: String,
    /// Its local date.
    pub date: NaiveDate,
    /// Its site.
    pub site_id: String,
    /// Its service.
    pub service_id: String,
    /// How its patients are seen.
    pub delivery: Delivery,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
    /// Its capacity.
    pub capacity: u32,
    /// Active or cancelled.
    pub status: StoredStatus,
    /// Its slots.
    pub slots: Vec<StoredSlot>,
}

/// A slot kept although the rota no longer wants it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptSlot {
    /// The slot.
    pub slot_id: String,
    /// The session it belongs to.
    pub session_id: String,
    /// What keeps it.
    pub occupancy: Occupancy,
}

/// What a publish or withdrawal will do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Indices into the expansion's sessions to create, with all their slots.
    pub create_sessions: Vec<usize>,
    /// Stored sessions to update in place to the expansion session at the index (times, capacity).
    pub update_sessions: Vec<(String, usize)>,
    /// Slots to add to a stored session: (session id, expansion session index, slot index).
    pub add_slots: Vec<(String, usize, usize)>,
    /// Free slots to delete.
    pub remove_slots: Vec<String>,
    /// Slots newly kept though no longer wanted (booked or held): they stop being offered.
    pub kept_slots: Vec<KeptSlot>,
    /// Slots kept earlier for a patient that the rota wants again: offered again.
    pub restore_slots: Vec<String>,
    /// Stored sessions to retire (withdraw), keeping their booked and held slots.
    pub retire_sessions: Vec<String>,
    /// Sessions left exactly as they are.
    pub unchanged_sessions: usize,
    /// Slots left exactly as they are.
    pub unchanged_slots: usize,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.create_sessions.is_empty()
            && self.update_sessions.is_empty()
            && self.add_slots.is_empty()
            && self.remove_slots.is_empty()
            && self.kept_slots.is_empty()
            && self.restore_slots.is_empty()
            && self.retire_sessions.is_empty()
    }

    /// The appointments that must be rebooked: those in slots kept only because they are booked.
    pub fn rebooking(&self) -> impl Iterator<Item = &str> {
        self.kept_slots.iter().filter_map(|k| match &k.occupancy {
            Occupancy::Booked { appointment_id } => Some(appointment_id.as_str()),
            _ => None,
        })
    }

    /// How many slots the plan creates, counting those of new sessions.
    pub fn created_slots(&self, expansion: &Expansion) -> usize {
        self.create_sessions
            .iter()
            .map(|&i| expansion.sessions[i].slots.len())
            .sum::<usize>()
            + self.add_slots.len()
    }

    /// Removes a stored slot that is no longer wanted, or keeps it if booked or held; a slot
    /// kept by an earlier change stays as it is. Returns whether anything changes.
    fn drop_slot(&mut self, session_id: &str, slot: &StoredSlot) -> bool {
        match &slot.occupancy {
            Occupancy::Free => {
                self.remove_slots.push(slot.id.clone());
                true
            }
            _ if slot.orphaned => false,
            occupancy => {
                self.kept_slots.push(KeptSlot {
                    slot_id: slot.id.clone(),
                    session_id: session_id.to_owned(),
                    occupancy: occupancy.clone(),
                });
                true
            }
        }
    }

    /// Retires a stored session: its free slots go, its booked and held slots stay.
    fn retire(&mut self, session: &StoredSession) {
        for slot in &session.slots {
            let _ = self.drop_slot(&session.id, slot);
        }
        self.retire_sessions.push(session.id.clone());
    }
}

type SlotKey = (DateTime<Utc>, DateTime<Utc>, u32);

fn same_place(stored: &StoredSession, wanted: &ExpandedSession) -> bool {
    stored.site_id == wanted.site_id
        && stored.service_id == wanted.service_id
        && stored.delivery == wanted.delivery
}

/// Plans a publish: what to do to `stored` (the rota's current sessions in the range) so that it
/// matches `expansion` (the rota expanded over the same range), by the rules of this module.
pub fn plan_publish(expansion: &Expansion, stored: &[StoredSession]) -> Plan {
    let mut plan = Plan::default();
    let mut by_key: HashMap<(&str, NaiveDate), &StoredSession> = stored
        .iter()
        .map(|s| ((s.template_key.as_str(), s.date), s))
        .collect();
    for (index, wanted) in expansion.sessions.iter().enumerate() {
        let Some(current) = by_key.remove(&(wanted.template_key.as_str(), wanted.date)) else {
            plan.create_sessions.push(index);
            continue;
        };
        if current.status == StoredStatus::Cancelled {
            plan.unchanged_sessions += 1;
            continue;
        }
        if !same_place(current, wanted) {
            plan.retire(current);
            plan.create_sessions.push(index);
            continue;
        }
        let mut changed = current.start != wanted.start
            || current.end != wanted.end
            || current.capacity != wanted.capacity;
        if changed {
            plan.update_sessions.push((current.id.clone(), index));
        }
        let mut have: BTreeMap<SlotKey, &StoredSlot> = current
            .slots
            .iter()
            .map(|s| ((s.start, s.end, s.lane), s))
            .collect();
        let mut missing = Vec::new();
        for (slot_index, slot) in wanted.slots.iter().enumerate() {
            match have.remove(&(slot.start, slot.end, slot.lane)) {
                Some(stored) if stored.orphaned => {
                    plan.restore_slots.push(stored.id.clone());
                    changed = true;
                }
                Some(_) => plan.unchanged_slots += 1,
                None => missing.push(slot_index),
            }
        }
        // A slot kept for a patient is never overlapped by a new slot in its lane.
        let kept: Vec<&StoredSlot> = have
            .values()
            .copied()
            .filter(|s| s.occupancy != Occupancy::Free)
            .collect();
        for slot_index in missing {
            let slot = &wanted.slots[slot_index];
            if !kept
                .iter()
                .any(|k| k.lane == slot.lane && k.start < slot.end && slot.start < k.end)
            {
                plan.add_slots.push((current.id.clone(), index, slot_index));
                changed = true;
            }
        }
        for slot in have.into_values() {
            changed |= plan.drop_slot(&current.id, slot);
        }
        if !changed {
            plan.unchanged_sessions += 1;
        }
    }
    // Whatever is left is no longer in the rota.
    let mut leftover: Vec<&StoredSession> = by_key
        .into_values()
        .filter(|s| s.status == StoredStatus::Active)
        .collect();
    leftover.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    for session in leftover {
        plan.retire(session);
    }
    plan
}

/// Plans a withdrawal of every active session given (a hub closed for a day, a range taken back).
pub fn plan_withdraw(stored: &[StoredSession]) -> Plan {
    let mut plan = Plan::default();
    for session in stored.iter().filter(|s| s.status == StoredStatus::Active) {
        plan.retire(session);
    }
    plan
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, Weekday};
    use proptest::prelude::*;

    use super::*;
    use crate::rota::{expand, Rota, SessionTemplate, WeekPattern};

    fn template(
        key: &str,
        start: &str,
        end: &str,
        slot_minutes: u32,
        capacity: u32,
    ) -> SessionTemplate {
        SessionTemplate {
            key: key.into(),
            site_id: "site-a".into(),
            service_id: "gp".into(),
            start: start.parse::<NaiveTime>().unwrap(),
            end: end.parse::<NaiveTime>().unwrap(),
            slot_minutes,
            capacity,
            delivery: Delivery::FaceToFace,
            breaks: vec![],
            weekdays: vec![Weekday::Mon, Weekday::Wed, Weekday::Sat],
            pattern: WeekPattern::EveryWeek,
            valid_from: "2026-01-01".parse().unwrap(),
            valid_to: None,
            skip_dates: vec![],
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Stores an expansion as a publish would, with every slot free.
    fn store(expansion: &Expansion) -> Vec<StoredSession> {
        expansion
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| StoredSession {
                id: format!("s{i}"),
                template_key: s.template_key.clone(),
                date: s.date,
                site_id: s.site_id.clone(),
                service_id: s.service_id.clone(),
                delivery: s.delivery,
                start: s.start,
                end: s.end,
                capacity: s.capacity,
                status: StoredStatus::Active,
                slots: s
                    .slots
                    .iter()
                    .enumerate()
                    .map(|(j, x)| StoredSlot {
                        id: format!("s{i}-{j}"),
                        start: x.start,
                        end: x.end,
                        lane: x.lane,
                        occupancy: Occupancy::Free,
                        orphaned: false,
                    })
                    .collect(),
            })
            .collect()
    }

    fn rota(templates: Vec<SessionTemplate>) -> Rota {
        Rota {
            name: "Evenings".into(),
            templates,
        }
    }

    fn london() -> chrono_tz::Tz {
        chrono_tz::Europe::London
    }

    #[test]
    fn first_publish_creates_everything_and_a_second_changes_nothing() {
        let r = rota(vec![template("gp-eve", "18:30", "20:00", 10, 1)]);
        let e = expand(&r, d("2026-03-02"), d("2026-03-08"), london()).unwrap();
        let first = plan_publish(&e, &[]);
        assert_eq!(first.create_sessions.len(), 3);
        assert_eq!(first.created_slots(&e), 27);
        let again = plan_publish(&e, &store(&e));
        assert!(again.is_empty());
        assert_eq!((again.unchanged_sessions, again.unchanged_slots), (3, 27));
    }

    #[test]
    fn a_shorter_session_removes_free_slots_and_keeps_booked_ones() {
        let before = expand(
            &rota(vec![template("gp-eve", "18:30", "20:00", 10, 1)]),
            d("2026-03-02"),
            d("2026-03-02"),
            london(),
        )
        .unwrap();
        let mut stored = store(&before);
        stored[0].slots[8].occupancy = Occupancy::Booked {
            appointment_id: "appt-1".into(),
        };
        stored[0].slots[7].occupancy = Occupancy::Held;
        let after = expand(
            &rota(vec![template("gp-eve", "18:30", "19:30", 10, 1)]),
            d("2026-03-02"),
            d("2026-03-02"),
            london(),
        )
        .unwrap();
        let plan = plan_publish(&after, &stored);
        assert_eq!(plan.update_sessions.len(), 1);
        assert_eq!(plan.remove_slots, vec!["s0-6".to_owned()]);
        assert_eq!(plan.rebooking().collect::<Vec<_>>(), vec!["appt-1"]);
        assert_eq!(plan.kept_slots.len(), 2, "the held slot is kept too");
        assert_eq!(plan.unchanged_slots, 6);
        assert!(plan.retire_sessions.is_empty());
    }

    #[test]
    fn a_new_slot_length_never_overlaps_a_kept_patient_and_republishing_changes_nothing() {
        let before = expand(
            &rota(vec![template("gp-eve", "18:30", "20:00", 10, 1)]),
            d("2026-03-02"),
            d("2026-03-02"),
            london(),
        )
        .unwrap();
        let mut stored = store(&before);
        stored[0].slots[1].occupancy = Occupancy::Booked {
            appointment_id: "appt-1".into(),
        }; // 18:40-18:50
        let after = expand(
            &rota(vec![template("gp-eve", "18:30", "20:00", 15, 1)]),
            d("2026-03-02"),
            d("2026-03-02"),
            london(),
        )
        .unwrap();
        let plan = plan_publish(&after, &stored);
        assert_eq!(plan.rebooking().collect::<Vec<_>>(), vec!["appt-1"]);
        // 18:30-18:45 and 18:45-19:00 both overlap the kept 18:40 slot: neither is added.
        let added: Vec<_> = plan
            .add_slots
            .iter()
            .map(|(_, _, i)| after.sessions[0].slots[*i].start)
            .collect();
        assert_eq!(added.len(), 4);
        assert!(added
            .iter()
            .all(|t| t.format("%H:%M").to_string().as_str() >= "19:00"));
        // Applied: the kept slot is orphaned; planning again changes nothing and lists nobody.
        let mut applied = store(&after);
        applied[0]
            .slots
            .retain(|s| s.start >= after.sessions[0].slots[2].start);
        let mut kept = stored[0].slots[1].clone();
        kept.orphaned = true;
        applied[0].slots.push(kept);
        let again = plan_publish(&after, &applied);
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(again.rebooking().count(), 0);
        // Once the kept slot is free again (the patient was rebooked), it goes.
        applied[0].slots.last_mut().unwrap().occupancy = Occupancy::Free;
        assert_eq!(plan_publish(&after, &applied).remove_slots.len(), 1);
    }

    #[test]
    fn a_moved_session_is_replaced_and_its_patients_listed() {
        let before = expand(
            &rota(vec![template("gp-eve", "18:30", "20:00", 10, 1)]),
            d("2026-03-02"),
            d("2026-03-02"),
            london(),
        )
        .unwrap();
        let mut stored = store(&before);
        stored[0].slots[0].occupancy = Occupancy::Booked {
            appointment_id: "appt-1".into(),
        };
        let mut moved = template("gp-eve", "18:30", "20:00", 10, 1);
        moved.site_id = "site-b".into();
        let after = expand(
            &rota(vec![moved]),
            d("2026-03-02"),
            d("2026-03-02"),
            london(),
        )
        .unwrap();
        let plan = plan_publish(&after, &stored);
        assert_eq!(plan.retire_sessions, vec!["s0".to_owned()]);
        assert_eq!(plan.create_sessions, vec![0]);
        assert_eq!(plan.remove_slots.len(), 8);
        assert_eq!(plan.rebooking().collect::<Vec<_>>(), vec!["appt-1"]);
    }

    #[test]
    fn removed_templates_retire_their_sessions_and_cancelled_ones_stay_cancelled() {
        let both = rota(vec![
            template("gp-eve", "18:30", "20:00", 10, 1),
            template("nurse-eve", "18:30", "20:00", 15, 1),
        ]);
        let e = expand(&both, d("2026-03-02"), d("2026-03-02"), london()).unwrap();
        let mut stored = store(&e);
        let gp = stored
            .iter_mut()
            .find(|s| s.template_key == "gp-eve")
            .unwrap();
        gp.status = StoredStatus::Cancelled;
        gp.slots.clear();
        let only_gp = expand(
            &rota(vec![template("gp-eve", "18:30", "20:00", 10, 1)]),
            d("2026-03-02"),
            d("2026-03-02"),
            london(),
        )
        .unwrap();
        let plan = plan_publish(&only_gp, &stored);
        assert_eq!(
            plan.retire_sessions.len(),
            1,
            "the nurse session is retired"
        );
        assert!(
            plan.create_sessions.is_empty(),
            "the cancelled GP session is not brought back"
        );
        assert_eq!(plan.unchanged_sessions, 1);
    }

    #[test]
    fn withdrawing_keeps_booked_and_held_slots() {
        let e = expand(
            &rota(vec![template("phleb", "08:00", "09:00", 10, 2)]),
            d("2026-03-02"),
            d("2026-03-02"),
            london(),
        )
        .unwrap();
        let mut stored = store(&e);
        stored[0].slots[3].occupancy = Occupancy::Booked {
            appointment_id: "a".into(),
        };
        stored[0].slots[4].occupancy = Occupancy::Held;
        let plan = plan_withdraw(&stored);
        assert_eq!(plan.retire_sessions.len(), 1);
        assert_eq!(plan.remove_slots.len(), 10);
        assert_eq!(plan.kept_slots.len(), 2);
        assert_eq!(plan.rebooking().count(), 1);
    }

    fn arb_template() -> impl Strategy<Value = SessionTemplate> {
        (
            0u32..40,
            4u32..30,
            prop::sample::select(vec![5u32, 10, 15, 20]),
            1u32..3,
            any::<bool>(),
        )
            .prop_map(|(start, len, slot, cap, other_site)| {
                let start_min = 7 * 60 + start * 15;
                let end_min = (start_min + len * 15).min(23 * 60 + 55);
                let t = |m: u32| NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap();
                let mut tpl = template(
                    "t",
                    &t(start_min).format("%H:%M").to_string(),
                    &t(end_min).format("%H:%M").to_string(),
                    slot,
                    cap,
                );
                if other_site {
                    tpl.site_id = "site-b".into();
                }
                tpl
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the edit and whichever slots are booked, no booked slot is ever removed, and
        /// every booked slot that is not wanted any more has its appointment listed for rebooking.
        #[test]
        fn no_booked_patient_is_ever_dropped(a in arb_template(), b in arb_template(), booked in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let from = d("2026-03-23");
            let to = d("2026-04-05");
            let before = expand(&rota(vec![a]), from, to, london()).unwrap();
            let mut stored = store(&before);
            let all: Vec<(usize, usize)> = stored.iter().enumerate().flat_map(|(i, s)| (0..s.slots.len()).map(move |j| (i, j))).collect();
            let mut booked_ids = Vec::new();
            if !all.is_empty() {
                for ix in booked {
                    let (i, j) = all[ix.index(all.len())];
                    let id = format!("appt-{i}-{j}");
                    stored[i].slots[j].occupancy = Occupancy::Booked { appointment_id: id.clone() };
                    booked_ids.push((stored[i].slots[j].id.clone(), id));
                }
            }
            let after = expand(&rota(vec![b]), from, to, london()).unwrap();
            let plan = plan_publish(&after, &stored);
            for (slot_id, _) in &booked_ids {
                prop_assert!(!plan.remove_slots.contains(slot_id));
            }
            let rebook: Vec<&str> = plan.rebooking().collect();
            for kept in &plan.kept_slots {
                prop_assert!(booked_ids.iter().any(|(s, _)| *s == kept.slot_id));
            }
            // Applying the plan and planning again changes nothing but what is kept for patients.
            prop_assert!(rebook.len() <= booked_ids.len());
            let republish = plan_publish(&after, &store(&after));
            prop_assert!(republish.is_empty());
        }
    }
}

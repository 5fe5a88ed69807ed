//! Board pacing and the link index: the records and the rules both backends apply.
//!
//! A board's [`BoardPace`] holds its last Pin time and a queue of booked slots, so jobs waiting
//! for the spacing go in the order they arrived. A [`LinkHolder`] says which job holds a
//! normalised link on one board (account + board): the first job to claim it makes the Pin,
//! every other job with that link completes as a duplicate of it. The rules live here, as pure
//! functions over the records, so sled and PostgreSQL decide exactly alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Job, JobId, JobState, Millis};

/// Bookings whose slot passed this long ago belong to jobs that never came back (dead,
/// forgotten): they are dropped.
const STALE_BOOKING_MS: Millis = 24 * 3600 * 1000;

/// How long a job waits at least, and at most, before looking again at a link another job
/// is still pinning.
const LINK_BUSY_MIN_WAIT_MS: Millis = 1_000;
const LINK_BUSY_MAX_WAIT_MS: Millis = 60_000;

/// Whether a job may pin on a spaced board now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoardSlot {
    /// Go now: the slot is taken and recorded as the board's last Pin time.
    Granted,
    /// Come back at `at`: the job's place in the board's queue is booked.
    Wait { at: Millis },
}

/// Per-board pacing record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BoardPace {
    /// The last Pin on the board (a granted slot or a recorded Pin, whichever is later).
    pub last_pin: Option<Millis>,
    /// The first slot not yet booked.
    pub next_free: Millis,
    /// Jobs told to come back, and when.
    pub bookings: BTreeMap<JobId, Millis>,
    /// When the board's existing Pins were adopted into the link index (`None`: not yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted: Option<Millis>,
}

impl BoardPace {
    /// Decide whether `job` may pin now under `spacing_ms`, booking a slot if not.
    pub fn reserve(&mut self, job: &JobId, spacing_ms: Millis, now: Millis) -> BoardSlot {
        self.bookings
            .retain(|id, at| id == job || at.saturating_add(STALE_BOOKING_MS) >= now);
        let earliest = self
            .last_pin
            .map_or(Millis::MIN, |t| t.saturating_add(spacing_ms));
        let slot = match self.bookings.get(job) {
            // Booked before: its turn comes at its slot (the queue after it is already booked).
            Some(&booked) => booked.max(earliest),
            // A newcomer goes after everyone booked.
            None => earliest.max(self.next_free),
        };
        if slot <= now {
            self.bookings.remove(job);
            self.last_pin = Some(now);
            self.next_free = self.next_free.max(now.saturating_add(spacing_ms));
            return BoardSlot::Granted;
        }
        if !self.bookings.contains_key(job) {
            self.bookings.insert(job.clone(), slot);
            self.next_free = self.next_free.max(slot.saturating_add(spacing_ms));
        }
        BoardSlot::Wait { at: slot }
    }

    /// A Pin was made (or found) on the board at `now`.
    pub fn pinned(&mut self, now: Millis) {
        self.last_pin = Some(self.last_pin.map_or(now, |t| t.max(now)));
    }
}

// The link index's record; kept with the store's vocabulary so transfer records can carry it.
pub use super::LinkHolder;

/// Whether adoption records an existing Pin over the link's `current` holder: only when no Pin
/// is recorded for the link yet (a job still holding it has not made one, and must not now).
pub fn adopts_over(current: Option<&LinkHolder>) -> bool {
    current.is_none_or(|h| h.pin_id.is_none())
}

/// The answer of `claim_link`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkClaim {
    /// This job holds the link now: make the Pin.
    Mine,
    /// The link is already pinned on this board, by `holder`.
    Pinned(LinkHolder),
    /// Another job holding the link is still running: look again at `at`.
    Busy { holder: LinkHolder, at: Millis },
}

/// Decide a link claim by `job` given the current holder and the holder job's state (`None`
/// when that job is gone). Returns the claim and the holder record to write, if it changes.
pub fn decide_link(
    current: Option<LinkHolder>,
    holder_state: Option<&JobState>,
    job: &Job,
    now: Millis,
) -> (LinkClaim, Option<LinkHolder>) {
    let take = || (LinkClaim::Mine, Some(LinkHolder::of(job, None, now)));
    let Some(holder) = current else {
        return take();
    };
    if holder.job == job.id {
        return (LinkClaim::Mine, None);
    }
    if holder.source == job.source && holder.item == job.item {
        // A later job of the same item (`on_change = "new_pin"` asked for a new Pin).
        return take();
    }
    if holder.pin_id.is_some() {
        return (LinkClaim::Pinned(holder), None);
    }
    match holder_state {
        // The holder gave up or was forgotten: the link is free again.
        None | Some(JobState::Dead { .. }) => take(),
        // Done without the index knowing (completed by a plain `complete`): it is pinned.
        Some(JobState::Done { pin_id, .. }) => {
            let fixed = LinkHolder {
                pin_id: Some(pin_id.clone()),
                ..holder
            };
            (LinkClaim::Pinned(fixed.clone()), Some(fixed))
        }
        Some(state) => {
            let due = match state {
                JobState::Pending { run_at } => *run_at,
                JobState::Retry { at } | JobState::Unknown { at, .. } => *at,
                JobState::Leased { until, .. } => *until,
                JobState::Done { .. } | JobState::Dead { .. } => now,
            };
            let at = due.clamp(
                now.saturating_add(LINK_BUSY_MIN_WAIT_MS),
                now.saturating_add(LINK_BUSY_MAX_WAIT_MS),
            );
            (LinkClaim::Busy { holder, at }, None)
        }
    }
}

/// The holder record `complete_pin` writes for a Pin `pin_id` made by `job`, unless another
/// item's job already holds the link with a Pin (the first Pin stays the link's Pin).
pub fn holder_after_pin(
    current: Option<&LinkHolder>,
    job: &Job,
    pin_id: &str,
    now: Millis,
) -> Option<LinkHolder> {
    match current {
        Some(h)
            if h.job != job.id
                && h.pin_id.is_some()
                && !(h.source == job.source && h.item == job.item) =>
        {
            None
        }
        _ => Some(LinkHolder::of(job, Some(pin_id.to_string()), now)),
    }
}

/// What `complete_pin` records besides the job's outcome.
#[derive(Clone, Copy, Debug, Default)]
pub struct PinRecord<'a> {
    /// The normalised link the Pin carries: its index entry on the board points at this Pin.
    pub link: Option<&'a str>,
    /// The job completed without a create (the link was pinned already): why, kept as the
    /// job's `last_error` note. A duplicate does not count as a Pin for board spacing.
    pub note: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{DedupKey, SourceId};

    fn id(n: u32) -> JobId {
        JobId(format!("job-{n:03}"))
    }

    #[test]
    fn a_spaced_board_books_waiting_jobs_in_arrival_order() {
        let mut pace = BoardPace::default();
        let s = 600_000;
        assert_eq!(pace.reserve(&id(1), s, 1_000), BoardSlot::Granted);
        assert_eq!(
            pace.reserve(&id(2), s, 2_000),
            BoardSlot::Wait { at: 601_000 }
        );
        assert_eq!(
            pace.reserve(&id(3), s, 3_000),
            BoardSlot::Wait { at: 1_201_000 }
        );
        // Job 3 coming back early keeps its place; job 2 goes at its slot.
        assert_eq!(
            pace.reserve(&id(3), s, 601_000),
            BoardSlot::Wait { at: 1_201_000 }
        );
        assert_eq!(pace.reserve(&id(2), s, 601_000), BoardSlot::Granted);
        assert_eq!(pace.reserve(&id(3), s, 1_201_000), BoardSlot::Granted);
        assert!(pace.bookings.is_empty());
        assert_eq!(pace.last_pin, Some(1_201_000));
    }

    #[test]
    fn a_late_pin_pushes_the_next_slot() {
        let mut pace = BoardPace::default();
        assert_eq!(pace.reserve(&id(1), 100, 0), BoardSlot::Granted);
        pace.pinned(50);
        assert_eq!(pace.reserve(&id(2), 100, 120), BoardSlot::Wait { at: 150 });
        assert_eq!(pace.reserve(&id(2), 100, 150), BoardSlot::Granted);
    }

    #[test]
    fn stale_bookings_do_not_block_the_queue_forever() {
        let mut pace = BoardPace::default();
        pace.reserve(&id(1), 100, 0);
        pace.reserve(&id(2), 100, 1); // booked at 100, never comes back
        let later = 100 + STALE_BOOKING_MS + 1;
        assert_eq!(pace.reserve(&id(3), 100, later), BoardSlot::Granted);
        assert!(!pace.bookings.contains_key(&id(2)));
    }

    fn job(n: u32, state: JobState) -> Job {
        Job {
            id: id(n),
            source: SourceId::new("feed"),
            item: DedupKey(format!("k{n}")),
            target: crate::store::Target {
                route: "r".into(),
                account: "a".into(),
                board: "b".into(),
                section: None,
            },
            state,
            attempts: 0,
            last_error: None,
            created: 0,
            updated: 0,
            create_sent: None,
            kind: crate::store::JobKind::Create,
        }
    }

    #[test]
    fn link_claims_follow_the_holder() {
        let me = job(2, JobState::Pending { run_at: 0 });
        let (claim, write) = decide_link(None, None, &me, 10);
        assert_eq!(claim, LinkClaim::Mine);
        assert_eq!(write.map(|h| h.job), Some(id(2)));

        let other = LinkHolder::of(&job(1, JobState::Pending { run_at: 0 }), None, 5);
        let running = JobState::Retry { at: 500_000 };
        let (claim, write) = decide_link(Some(other.clone()), Some(&running), &me, 10);
        assert_eq!(
            claim,
            LinkClaim::Busy {
                holder: other.clone(),
                at: 10 + LINK_BUSY_MAX_WAIT_MS
            }
        );
        assert_eq!(write, None);

        let dead = JobState::Dead {
            error: "x".into(),
            at: 1,
        };
        let (claim, _) = decide_link(Some(other.clone()), Some(&dead), &me, 10);
        assert_eq!(claim, LinkClaim::Mine, "a dead holder frees the link");

        let done = JobState::Done {
            pin_id: "p1".into(),
            at: 1,
        };
        let (claim, write) = decide_link(Some(other.clone()), Some(&done), &me, 10);
        assert!(matches!(claim, LinkClaim::Pinned(h) if h.pin_id.as_deref() == Some("p1")));
        assert!(write.is_some(), "the index learns the pin");

        let mut same_item = job(3, JobState::Pending { run_at: 0 });
        same_item.item = other.item.clone();
        let (claim, _) = decide_link(Some(other.clone()), Some(&running), &same_item, 10);
        assert_eq!(
            claim,
            LinkClaim::Mine,
            "a new Pin of the same item is its own"
        );

        let pinned = LinkHolder {
            pin_id: Some("p0".into()),
            ..other
        };
        assert_eq!(holder_after_pin(Some(&pinned), &me, "p2", 20), None);
        assert!(holder_after_pin(None, &me, "p2", 20).is_some());
    }
}

//! Pins follow their item: which update and delete jobs an item's change or removal queues,
//! written once as pure functions over the item's jobs, so both backends decide alike (like
//! `transitions` for the state machine).
//!
//! The rules:
//! - Only a Pin a create job made itself is ever updated or deleted ([`made_pin`]): a job that
//!   finished as a duplicate of another item's Pin, a dead job, and any Pin pinbridge did not
//!   make are never touched.
//! - A removal cancels a create that was not sent yet (pending or retry with no send time), so
//!   no Pin is made for a deleted item. A create that may have been sent (leased, unknown, or
//!   with a send time) gets a delete *ordered after it*: `JobKind::Delete` with no Pin id,
//!   which the engine runs only once that create has finished, on the Pin it made, if any.
//! - Queueing is idempotent: a removal seen twice queues one delete per create; a change seen
//!   while an update of the same Pin still waits to run queues no second one (the waiting one
//!   reads the item when it runs).

use super::{Job, JobId, JobKind, JobState, Millis, transitions};

/// The words a create job's note carries when it finished on another job's Pin (same link on
/// the board): such a job made no Pin of its own.
pub const NO_SECOND_PIN: &str = "no second Pin made";
/// How the note of a create job that adopted a Pin already on its board begins (the rest
/// names the Pin and ends with [`NO_SECOND_PIN`]): the item has that Pin, but pinbridge did
/// not make it, so it is never updated or deleted.
pub const ADOPTED: &str = "adopted:";

/// The notes an update or delete job finishes with (its `last_error`), which the Pin history
/// reads back.
pub const NOTE_UPDATED: &str = "updated";
pub const NOTE_DELETED: &str = "deleted";
/// A delete whose Pin was gone already: done, not dead.
pub const NOTE_ALREADY_GONE: &str =
    "already gone: Pinterest has no such Pin (404); nothing to delete";
/// An update whose Pin the user deleted on Pinterest: never made again.
pub const NOTE_DELETED_ON_PINTEREST: &str =
    "the Pin was deleted on Pinterest (404): not updated, and not made again";

/// Why a create job is cancelled when its item goes away before its Pin was made.
pub const CANCELLED_BY_REMOVAL: &str =
    "cancelled: the item was deleted at its source before its Pin was made";

/// The Pin the job `job` made itself, if it made one: a create that is done and did not
/// finish as a duplicate of another job's Pin, or an update that made a new Pin (its route's
/// fallback when updates are not available) and so finished on another Pin than it updated.
pub fn made_pin(job: &Job) -> Option<&str> {
    let duplicate = job
        .last_error
        .as_deref()
        .is_some_and(|note| note.contains(NO_SECOND_PIN));
    let JobState::Done { pin_id, .. } = &job.state else {
        return None;
    };
    let made = match &job.kind {
        JobKind::Create => true,
        JobKind::Update { pin_id: old, .. } => old != pin_id,
        JobKind::Delete { .. } => false,
    };
    (made && !duplicate && !pin_id.is_empty()).then_some(pin_id.as_str())
}

/// The Pin the create job `job` adopted: a Pin that was on its board with the item's link
/// before pinbridge pinned to it. Shown in the item's Pin history, never followed.
pub fn adopted_pin(job: &Job) -> Option<&str> {
    let note = job.last_error.as_deref()?;
    let JobState::Done { pin_id, .. } = &job.state else {
        return None;
    };
    let adopted =
        job.kind.is_create() && note.starts_with(ADOPTED) && note.ends_with(NO_SECOND_PIN);
    (adopted && !pin_id.is_empty()).then_some(pin_id.as_str())
}

/// One change an item's removal makes to its jobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Insert this new delete job.
    Queue(Job),
    /// Write back this create job, cancelled.
    Cancel(Job),
}

fn follower(create: &Job, id: &JobId, kind: JobKind, now: Millis) -> Job {
    Job {
        id: id.clone(),
        source: create.source.clone(),
        item: create.item.clone(),
        target: create.target.clone(),
        state: JobState::Pending { run_at: now },
        attempts: 0,
        last_error: None,
        created: now,
        updated: now,
        create_sent: None,
        kind,
    }
}

fn finished(state: &JobState) -> bool {
    matches!(state, JobState::Done { .. } | JobState::Dead { .. })
}

/// A delete of `create` is queued and not dead (done or still to run).
fn delete_exists(jobs: &[Job], create: &JobId) -> bool {
    jobs.iter().any(|j| {
        matches!(&j.kind, JobKind::Delete { of, .. } if of == create)
            && !matches!(j.state, JobState::Dead { .. })
    })
}

/// The update jobs an item's change queues, given all its jobs: one per Pin made on a route
/// in `routes` (those whose policy is to update), unless that Pin is being deleted or an
/// update of it still waits to be claimed. New jobs take their ids from `ids` in order (it
/// must hold at least `jobs.len()`).
pub fn updates(jobs: &[Job], routes: &[String], ids: &[JobId], now: Millis) -> Vec<Job> {
    let mut out = Vec::new();
    for create in jobs {
        let Some(pin_id) = made_pin(create) else {
            continue;
        };
        if !routes.contains(&create.target.route) {
            continue;
        }
        let waiting = jobs.iter().any(|j| {
            matches!(&j.kind, JobKind::Update { of, .. } if *of == create.id)
                && matches!(j.state, JobState::Pending { .. } | JobState::Retry { .. })
        });
        if waiting || delete_exists(jobs, &create.id) {
            continue;
        }
        let Some(id) = ids.get(out.len()) else { break };
        let kind = JobKind::Update {
            of: create.id.clone(),
            pin_id: pin_id.to_string(),
        };
        out.push(follower(create, id, kind, now));
    }
    out
}

/// What an item's removal does to its jobs on the routes in `routes` (those whose policy is
/// to delete): see the module rules. New jobs take their ids from `ids` in order.
pub fn removal(jobs: &[Job], routes: &[String], ids: &[JobId], now: Millis) -> Vec<Removal> {
    let mut out = Vec::new();
    let mut queued = 0;
    for create in jobs {
        if !(create.kind.is_create() || made_pin(create).is_some())
            || !routes.contains(&create.target.route)
            || delete_exists(jobs, &create.id)
        {
            continue;
        }
        let pin_id = match made_pin(create) {
            Some(pin) => Some(pin.to_string()),
            None if finished(&create.state) => continue,
            None => {
                let unsent = create.create_sent.is_none()
                    && matches!(
                        create.state,
                        JobState::Pending { .. } | JobState::Retry { .. }
                    );
                if unsent
                    && let Some(cancelled) = transitions::cancel(create, CANCELLED_BY_REMOVAL, now)
                {
                    out.push(Removal::Cancel(cancelled));
                    continue;
                }
                None
            }
        };
        let Some(id) = ids.get(queued) else { break };
        queued += 1;
        let kind = JobKind::Delete {
            of: create.id.clone(),
            pin_id,
        };
        out.push(Removal::Queue(follower(create, id, kind, now)));
    }
    out
}

/// What a delete job whose Pin id was unknown when queued should do once it runs, given its
/// create job as stored now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteTarget {
    /// Delete this Pin (the create made it).
    Pin(String),
    /// The create finished without a Pin of its own (dead, cancelled, a duplicate), or is gone:
    /// nothing to delete.
    Nothing,
    /// The create is still running: come back later.
    Wait,
}

/// The Pin a delete job deletes: its own Pin id, or the one its create made.
pub fn delete_target(kind: &JobKind, create: Option<&Job>) -> DeleteTarget {
    match kind {
        JobKind::Delete {
            pin_id: Some(pin), ..
        } => DeleteTarget::Pin(pin.clone()),
        JobKind::Delete { pin_id: None, .. } => match create {
            None => DeleteTarget::Nothing,
            Some(c) => match made_pin(c) {
                Some(pin) => DeleteTarget::Pin(pin.to_string()),
                None if finished(&c.state) => DeleteTarget::Nothing,
                None => DeleteTarget::Wait,
            },
        },
        JobKind::Create | JobKind::Update { .. } => DeleteTarget::Nothing,
    }
}

#[cfg(test)]
#[path = "follow_tests.rs"]
mod tests;

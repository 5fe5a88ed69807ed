//! The job state machine, written once: pure functions from a job as stored to the job to
//! store. Both backends read the job inside their transaction, call one of these, and write
//! what it returns, so a rule (which states are runnable, what a reconcile lease leaves
//! behind, what a revive resets) cannot differ between them.

use super::{Attempt, Job, JobState, Lease, LeaseOutcome, LeaseToken, Millis};

/// When a job in `state` is due: the moment it may be claimed (for a lease, when it expires).
/// Finished jobs are never due. Backends index jobs by this time.
pub fn due(state: &JobState) -> Option<Millis> {
    match state {
        JobState::Pending { run_at } => Some(*run_at),
        JobState::Retry { at } => Some(*at),
        JobState::Unknown { at, .. } => Some(*at),
        JobState::Leased { until, .. } => Some(*until),
        JobState::Done { .. } | JobState::Dead { .. } => None,
    }
}

/// Whether a job in `state` may be claimed at `now`. A lease is reclaimable only once it has
/// run out (strictly before `now`), so a holder keeps its job for the whole lease.
pub fn runnable(state: &JobState, now: Millis) -> bool {
    match state {
        JobState::Pending { run_at } => *run_at <= now,
        JobState::Retry { at } => *at <= now,
        JobState::Unknown { at, .. } => *at <= now,
        JobState::Leased { until, .. } => *until < now,
        JobState::Done { .. } | JobState::Dead { .. } => false,
    }
}

/// Lease a runnable job with `token` until `until`, and say whether the holder must look for
/// the Pin first (reconcile). `None` if the job is not runnable at `now`.
pub fn lease(job: &Job, token: LeaseToken, until: Millis, now: Millis) -> Option<(Job, bool)> {
    if !runnable(&job.state, now) {
        return None;
    }
    // An expired lease's holder may have sent the create before it stalled or died, so the
    // next holder looks for the Pin first, as for an unknown job.
    let reconcile = matches!(
        job.state,
        JobState::Unknown { .. } | JobState::Leased { .. }
    );
    let mut next = job.clone();
    next.state = JobState::Leased {
        token,
        until,
        reconcile,
    };
    next.updated = now;
    Some((next, reconcile))
}

/// A job whose item record is gone cannot run: it goes to the dead letter with `why`.
pub fn orphaned(job: &Job, why: &str, now: Millis) -> Job {
    let mut next = job.clone();
    next.state = JobState::Dead {
        error: why.into(),
        at: now,
    };
    next.last_error = Some(why.into());
    next.updated = now;
    next
}

/// The job as stored, if `lease` still holds it; `LeaseLost` if it was reclaimed or moved on.
/// Every lease holder's write goes through this fence.
fn held(job: &Job, lease: &Lease) -> Result<Job, LeaseOutcome> {
    match job.state {
        JobState::Leased { token, .. } if token == lease.token => Ok(job.clone()),
        _ => Err(LeaseOutcome::LeaseLost),
    }
}

fn set_until(job: &mut Job, until: Millis) {
    if let JobState::Leased { until: u, .. } = &mut job.state {
        *u = until;
    }
}

/// Keep the lease until `until` (long reconciles).
pub fn extend(job: &Job, lease: &Lease, until: Millis) -> Result<Job, LeaseOutcome> {
    let mut next = held(job, lease)?;
    set_until(&mut next, until);
    Ok(next)
}

/// Keep the lease until `until` and record that the create goes out at `now`.
pub fn sending(job: &Job, lease: &Lease, until: Millis, now: Millis) -> Result<Job, LeaseOutcome> {
    let mut next = held(job, lease)?;
    set_until(&mut next, until);
    next.create_sent = Some(now);
    Ok(next)
}

/// The Pin `pin_id` exists: the job is done. A `note` (why it finished without a new Pin, such
/// as a duplicate link) is kept as the job's last error.
pub fn complete(
    job: &Job,
    lease: &Lease,
    pin_id: &str,
    note: Option<&str>,
    now: Millis,
) -> Result<Job, LeaseOutcome> {
    let mut next = held(job, lease)?;
    next.state = JobState::Done {
        pin_id: pin_id.to_string(),
        at: now,
    };
    if let Some(note) = note {
        next.last_error = Some(note.to_string());
    }
    next.updated = now;
    Ok(next)
}

/// Run again at `at`. A reconcile lease's create may have been sent: until a reconcile decides,
/// the job stays `unknown`, or the next holder would create a second Pin.
pub fn retry(
    job: &Job,
    lease: &Lease,
    at: Millis,
    error: &str,
    attempt: Attempt,
    now: Millis,
) -> Result<Job, LeaseOutcome> {
    let mut next = held(job, lease)?;
    next.state = if lease.reconcile {
        JobState::Unknown { since: now, at }
    } else {
        JobState::Retry { at }
    };
    if attempt == Attempt::Counts {
        next.attempts = next.attempts.saturating_add(1);
    }
    next.last_error = Some(error.to_string());
    next.updated = now;
    Ok(next)
}

/// The create was sent and its outcome is unknown: reconcile at `at`. The failure was real, so
/// it uses up an attempt.
pub fn mark_unknown(
    job: &Job,
    lease: &Lease,
    error: &str,
    at: Millis,
    now: Millis,
) -> Result<Job, LeaseOutcome> {
    let mut next = held(job, lease)?;
    next.state = JobState::Unknown { since: now, at };
    next.attempts = next.attempts.saturating_add(1);
    next.last_error = Some(error.to_string());
    next.updated = now;
    Ok(next)
}

/// A permanent failure: to the dead letter with `error`.
pub fn dead(job: &Job, lease: &Lease, error: &str, now: Millis) -> Result<Job, LeaseOutcome> {
    let mut next = held(job, lease)?;
    next.state = JobState::Dead {
        error: error.to_string(),
        at: now,
    };
    next.last_error = Some(error.to_string());
    next.updated = now;
    Ok(next)
}

/// A dead job back in the queue with a fresh attempt budget; `None` for any other state (the
/// job is left as it is). One whose create may have been sent (a send time is recorded) comes
/// back `unknown`, so the board is searched before any create: a dead letter reached through
/// failed reconciles must not turn into a blind second Pin on retry.
pub fn revive(job: &Job, now: Millis) -> Option<Job> {
    if !matches!(job.state, JobState::Dead { .. }) {
        return None;
    }
    let mut next = job.clone();
    next.state = if job.create_sent.is_some() {
        JobState::Unknown {
            since: now,
            at: now,
        }
    } else {
        JobState::Pending { run_at: now }
    };
    next.attempts = 0;
    next.updated = now;
    Some(next)
}

/// An operator cancel: a job that is not running (pending, retry or unknown) goes to the dead
/// letter with `error`. `None` for a leased, done or dead job, which is left alone.
pub fn cancel(job: &Job, error: &str, now: Millis) -> Option<Job> {
    if !matches!(
        job.state,
        JobState::Pending { .. } | JobState::Retry { .. } | JobState::Unknown { .. }
    ) {
        return None;
    }
    let mut next = job.clone();
    next.state = JobState::Dead {
        error: error.to_string(),
        at: now,
    };
    next.last_error = Some(error.to_string());
    next.updated = now;
    Some(next)
}

/// On open, a job still leased by a process that is gone becomes `unknown`, due at once
/// whatever clock the next claim uses: the holder may have sent the create before it died, so
/// the next claim must reconcile rather than create blindly. `None` if it is not leased.
pub fn recovered(job: &Job, now: Millis) -> Option<Job> {
    if !matches!(job.state, JobState::Leased { .. }) {
        return None;
    }
    let mut next = job.clone();
    next.state = JobState::Unknown { since: now, at: 0 };
    next.updated = now;
    Some(next)
}

#[cfg(test)]
#[path = "transitions_tests.rs"]
mod tests;

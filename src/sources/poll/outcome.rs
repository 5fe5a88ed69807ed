//! How a poll's end is written into the source's state: a success clears errors and parking, a
//! failure is counted, kept (redacted) for the status page, and backs off (parked after
//! `park_after` failures in a row). Feeds and shops record both the same way.

use std::time::Duration;

use super::report::PollReport;
use super::schedule::Schedule;
use super::settings::Polling;
use crate::store::{Millis, SourceState};

/// The items are durable (ingest returned): only now clear errors and mark first contact done.
/// The caller sets `next_poll` (its success schedule differs).
pub fn mark_success(state: &mut SourceState, now: Millis) {
    state.last_success = Some(now);
    state.error_count = 0;
    state.last_error = None;
    state.parked = None;
    state.baselined = true;
}

/// A failed poll: what was recorded and how long until the next try.
pub struct Failure {
    /// The report for the caller, its message already redacted.
    pub report: PollReport,
    /// Until the next poll (already in `state.next_poll`).
    pub wait: Duration,
}

/// Record a failed poll in `state`: count it, keep `error` (redacted: it is stored and shown on
/// the status page and admin API, so no query secrets and no internal addresses), and schedule
/// the retry with backoff, or slowly once parked.
pub fn record_failure(
    state: &mut SourceState,
    polling: &Polling,
    schedule: &Schedule,
    error: &str,
    retry_after: Option<Duration>,
    now: Millis,
) -> Failure {
    state.error_count = state.error_count.saturating_add(1);
    let message = crate::redact::error(error);
    state.last_error = Some(message.clone());
    let mut wait = schedule.after_error(state.error_count, retry_after);
    if state.error_count >= polling.park_after {
        // Parked: still retried, slowly, so a source that comes back is picked up again.
        state.parked = Some(format!(
            "{} consecutive failures; retried every {} until it works (last: {message})",
            state.error_count,
            humantime::format_duration(polling.parked_interval)
        ));
        wait = wait.max(polling.parked_interval);
    }
    let wait = schedule.jitter_now(wait);
    state.next_poll = Some(now + millis(wait));
    Failure {
        report: PollReport::Failed {
            error: message,
            error_count: state.error_count,
        },
        wait,
    }
}

/// `d` in store milliseconds, saturating far in the future.
pub fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX / 2)
}

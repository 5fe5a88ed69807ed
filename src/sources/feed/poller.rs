//! A feed's task: wait for its time, poll, hand the items to `ingest`, and only then advance
//! its state (validators, schedule). First contact applies the backfill policy. The loop
//! itself is the polling base's; this is what a feed does in each turn.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::FeedSource;
use super::submit::submit;
use crate::ingest::Ingest;
use crate::ingest::context::SourceContext;
use crate::item::SourceId;
use crate::sources::poll::outcome::{mark_success, millis, record_failure};
use crate::sources::poll::schedule::Frequency;
use crate::sources::poll::{Poller, run_loop};
use crate::store::StoreError;

pub use super::dry_run::{DryRun, DryRunItem, poll_now};
pub use super::submit::{Progress, SUBMIT_CHUNK, cap_new_items};
pub use crate::sources::poll::report::{
    BASELINE_REASON, PollReport, baseline_count, baseline_skips, submissions,
};

/// Poll `source` until `shutdown`. Errors are recorded in the source's state and retried with
/// backoff; they never end the task, and other sources (their own tasks) are unaffected.
pub async fn run(source: FeedSource, ingest: Ingest, shutdown: CancellationToken) {
    tracing::info!(source = %source.id(), url = %source.display_url(), "Feed poller started.");
    run_loop(&source, &ingest.context(), &shutdown).await;
    tracing::info!(source = %source.id(), "Feed poller stopped.");
}

impl Poller for FeedSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    fn noun(&self) -> &'static str {
        "feed"
    }

    async fn poll_cycle(
        &self,
        ctx: &SourceContext,
        shutdown: &CancellationToken,
    ) -> Result<PollReport, StoreError> {
        cycle(self, ctx, shutdown, &|_, _| {}).await
    }

    async fn after_poll(&self, report: &Result<PollReport, StoreError>) {
        let result = match report {
            Ok(PollReport::Polled {
                not_modified: true, ..
            }) => "not_modified",
            Ok(PollReport::Polled { .. }) => "ok",
            Ok(PollReport::Failed { .. }) => "failed",
            Ok(PollReport::Cancelled) => "cancelled",
            Err(_) => "store_error",
        };
        metrics::counter!("pinbridge_polls_total", "source" => self.id.0.clone(), "result" => result)
            .increment(1);
    }
}

/// One poll: fetch, submit, then save the new state. `Err` only when the state itself could
/// not be read or saved.
pub async fn poll_cycle(
    source: &FeedSource,
    ingest: &Ingest,
    shutdown: &CancellationToken,
) -> Result<PollReport, StoreError> {
    poll_cycle_with_progress(source, ingest, shutdown, &|_, _| {}).await
}

/// [`poll_cycle`], reporting how far the recording of the items has got.
pub async fn poll_cycle_with_progress(
    source: &FeedSource,
    ingest: &Ingest,
    shutdown: &CancellationToken,
    progress: Progress<'_>,
) -> Result<PollReport, StoreError> {
    cycle(source, &ingest.context(), shutdown, progress).await
}

/// One poll cycle in `ctx`: the body of [`poll_cycle`] and of the loop's turn.
async fn cycle(
    source: &FeedSource,
    ctx: &SourceContext,
    shutdown: &CancellationToken,
    progress: Progress<'_>,
) -> Result<PollReport, StoreError> {
    // Bounded like the fetches, so thousands of due feeds do not all hold parsed items and
    // store calls at once; the turn is held until the state is saved.
    let _turn = tokio::select! {
        _ = shutdown.cancelled() => return Ok(PollReport::Cancelled),
        turn = source.fetcher().poll_slot() => turn,
    };
    let mut state = ctx.state(source.id()).await?;
    let result = tokio::select! {
        _ = shutdown.cancelled() => return Ok(PollReport::Cancelled),
        result = source.poll_once(&state) => result,
    };
    let mut listed = None;
    let result = match result {
        Ok(poll) => {
            let keys = poll.items.iter().map(|i| i.key.clone());
            listed = super::removals::listing(source, poll.not_modified, keys);
            match submit(source, ctx, &state, poll, shutdown, progress).await {
                Ok(Some(done)) => Ok(done),
                // Shutdown while reading linked pages: nothing was written, the next run re-polls.
                Ok(None) => return Ok(PollReport::Cancelled),
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    };
    let now = ctx.now_ms();
    state.last_poll = Some(now);
    let schedule = source.schedule();
    let report = match result {
        Ok((poll, report, new_times, over_cap)) => {
            super::cap::note(source, &mut state, over_cap, now);
            if let Some(listed) = &listed {
                super::removals::note(source, ctx, &mut state, listed, now).await?;
            }
            // The items are durable (submit_many returned): only now advance the checkpoint.
            state.etag = poll.etag;
            state.last_modified = poll.last_modified;
            mark_success(&mut state, now);
            let base = if source.settings().adaptive {
                let mut frequency = Frequency::from_extra(&state.extra);
                frequency.observe(new_times, now);
                frequency.to_extra(&mut state.extra);
                schedule.adaptive_interval(&frequency, now)
            } else {
                schedule.interval
            };
            let wait = schedule.jitter_now(schedule.after_success_from(base, &poll.hints));
            state.next_poll = Some(now + millis(wait));
            tracing::info!(source = %source.id(), ?report, next_in = %humantime::format_duration(secs(wait)), "Feed polled.");
            report
        }
        Err(err) => {
            let failure = record_failure(
                &mut state,
                &source.settings().polling(),
                &schedule,
                &err.to_string(),
                err.retry_after(),
                now,
            );
            tracing::warn!(
                source = %source.id(),
                error = %state.last_error.as_deref().unwrap_or_default(),
                errors = state.error_count,
                retry_in = %humantime::format_duration(secs(failure.wait)),
                "Feed poll failed."
            );
            failure.report
        }
    };
    ctx.save_state(source.id(), &state).await?;
    Ok(report)
}

fn secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

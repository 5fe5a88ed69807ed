//! The one poll loop every polled source runs: read the schedule, sleep until the source is
//! due, poll under the source's lease (one replica at a time), report, and back off when the
//! state cannot be read or saved. Errors never end the loop; only shutdown does.
//!
//! A source plugs in through [`Poller`]: how to poll once, what to do with each report, and
//! optionally upkeep on its own clock (a WebSub subscription's renewal).

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::lease::{SourceLease, Turn};
use super::report::PollReport;
use crate::ingest::context::SourceContext;
use crate::item::SourceId;
use crate::shutdown::sleep_or_cancel;
use crate::store::{Millis, StoreError};

/// How long to wait before looking again when the state could not be read or saved.
const STORE_RETRY: Duration = Duration::from_secs(30);

/// What the loop does after a source's upkeep.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Look at the schedule again.
    Continue,
    /// Shutting down.
    Stop,
}

/// The upkeep's schedule could not be read; the source has logged why, and the loop looks
/// again after a pause.
#[derive(Debug)]
pub struct UpkeepUnreadable;

/// A source the poll loop drives.
pub trait Poller: Send + Sync {
    /// The source's id: its state record and its lease.
    fn id(&self) -> &SourceId;

    /// What log lines call it ("feed", "shop").
    fn noun(&self) -> &'static str;

    /// One poll, run under the lease: fetch, submit, then save the new state. `Err` only when
    /// the state itself could not be read or saved. `shutdown` is also cancelled when the
    /// lease is lost.
    fn poll_cycle(
        &self,
        ctx: &SourceContext,
        shutdown: &CancellationToken,
    ) -> impl Future<Output = Result<PollReport, StoreError>> + Send;

    /// Told every poll's result (metrics; WebSub stretches the interval while pushes arrive).
    fn after_poll(
        &self,
        _report: &Result<PollReport, StoreError>,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// When the source's upkeep is next due; `Ok(None)` for a source without upkeep.
    fn upkeep_due(&self) -> impl Future<Output = Result<Option<Millis>, UpkeepUnreadable>> + Send {
        async { Ok(None) }
    }

    /// Run the upkeep that [`Self::upkeep_due`] said is due, under `lease`'s holder identity.
    fn upkeep(
        &self,
        _lease: &SourceLease,
        _ctx: &SourceContext,
        _shutdown: &CancellationToken,
    ) -> impl Future<Output = Next> + Send {
        async { Next::Continue }
    }
}

/// Poll `source` until `shutdown`. Errors are recorded in the source's state and retried with
/// backoff; they never end the task, and other sources (their own tasks) are unaffected.
pub async fn run_loop<P: Poller>(source: &P, ctx: &SourceContext, shutdown: &CancellationToken) {
    let noun = source.noun();
    let lease = SourceLease::new();
    loop {
        let state = match ctx.state(source.id()).await {
            Ok(state) => state,
            Err(err) => {
                tracing::warn!(source = %source.id(), kind = noun, error = %err, "Could not read the source's state; retrying in 30s.");
                if sleep_or_cancel(STORE_RETRY, shutdown).await {
                    break;
                }
                continue;
            }
        };
        let Ok(upkeep_at) = source.upkeep_due().await else {
            if sleep_or_cancel(STORE_RETRY, shutdown).await {
                break;
            }
            continue;
        };
        let now = ctx.now_ms();
        let poll_at = state.next_poll.unwrap_or(now);
        let due = upkeep_at.map_or(poll_at, |at| at.min(poll_at));
        let wait = due.saturating_sub(now).max(0);
        if sleep_or_cancel(Duration::from_millis(wait as u64), shutdown).await {
            break;
        }
        let now = ctx.now_ms();
        // Without upkeep the sleep was for the poll: the lease's second look at the schedule
        // decides. With upkeep the wake-up may have been for it alone.
        if upkeep_at.is_none() || poll_at <= now {
            // Under the source's lease: one replica polls it at a time.
            let report = match lease
                .turn(ctx, source.id(), shutdown, move |token| async move {
                    source.poll_cycle(ctx, &token).await
                })
                .await
            {
                Turn::Polled(report) => report,
                Turn::Again => continue,
                Turn::Stop => break,
            };
            source.after_poll(&report).await;
            match report {
                // Cancelled by shutdown, or by losing the lease (then the next cycle looks again).
                Ok(PollReport::Cancelled) if shutdown.is_cancelled() => break,
                Ok(_) => {}
                Err(err) => {
                    // The state could not be saved: the next cycle re-reads the old state and
                    // polls again; the store dedups what was already recorded.
                    tracing::warn!(source = %source.id(), kind = noun, error = %err, "Could not save the source's state.");
                    if sleep_or_cancel(STORE_RETRY, shutdown).await {
                        break;
                    }
                }
            }
        }
        if upkeep_at.is_some_and(|at| at <= now)
            && source.upkeep(&lease, ctx, shutdown).await == Next::Stop
        {
            break;
        }
    }
}

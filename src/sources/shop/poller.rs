//! A shop's task: wait for its time, read the shop, hand the items to `ingest` in one durable
//! batch, and only then advance its state. First contact applies the backfill policy, as for
//! feeds; errors back off and park like a feed's. The loop itself is the polling base's.

use tokio_util::sync::CancellationToken;

use super::{Fetched, ShopError, ShopSource};
use crate::ingest::context::SourceContext;
use crate::ingest::{Ingest, Submission};
use crate::item::{Item, SourceId};
use crate::sources::poll::outcome::{mark_success, millis, record_failure};
use crate::sources::poll::report::{BASELINE_REASON, baseline_count};
use crate::sources::poll::{Backfill, PollReport, Poller, run_loop};
use crate::store::{Ingested, StoreError};

/// Poll `source` until `shutdown`. Errors are recorded in the source's state and retried with
/// backoff; they never end the task.
pub async fn run(source: ShopSource, ingest: Ingest, shutdown: CancellationToken) {
    tracing::info!(source = %source.id(), kind = source.kind(), "Shop poller started.");
    run_loop(&source, &ingest.context(), &shutdown).await;
    tracing::info!(source = %source.id(), "Shop poller stopped.");
}

impl Poller for ShopSource {
    fn id(&self) -> &SourceId {
        ShopSource::id(self)
    }

    fn noun(&self) -> &'static str {
        "shop"
    }

    async fn poll_cycle(
        &self,
        ctx: &SourceContext,
        shutdown: &CancellationToken,
    ) -> Result<PollReport, StoreError> {
        cycle(self, ctx, shutdown).await
    }
}

/// One poll: fetch, submit, then save the new state. `Err` only when the state itself could
/// not be read or saved.
pub async fn poll_cycle(
    source: &ShopSource,
    ingest: &Ingest,
    shutdown: &CancellationToken,
) -> Result<PollReport, StoreError> {
    cycle(source, &ingest.context(), shutdown).await
}

/// One poll cycle in `ctx`: the body of [`poll_cycle`] and of the loop's turn.
async fn cycle(
    source: &ShopSource,
    ctx: &SourceContext,
    shutdown: &CancellationToken,
) -> Result<PollReport, StoreError> {
    let mut state = ctx.state(source.id()).await?;
    let fetched = tokio::select! {
        _ = shutdown.cancelled() => return Ok(PollReport::Cancelled),
        fetched = source.fetch(ctx) => fetched,
    };
    let polling = source.polling();
    let mut removals = None;
    let result = match fetched {
        Ok(mut fetched) => {
            removals = Some((std::mem::take(&mut fetched.gone), fetched.listing.take()));
            submit(ctx, state.baselined, polling.backfill, fetched).await
        }
        Err(err) => Err(err),
    };
    let now = ctx.now_ms();
    state.last_poll = Some(now);
    let schedule = polling.schedule();
    let report = match result {
        Ok(report) => {
            // The items are durable (submit_many returned): only now advance the checkpoint.
            mark_success(&mut state, now);
            if let Some((gone, listing)) = removals {
                super::removals::note(source, ctx, &mut state, gone, listing, now).await?;
            }
            let wait = schedule.jitter_now(schedule.after_success(&Default::default()));
            state.next_poll = Some(now + millis(wait));
            tracing::info!(source = %source.id(), ?report, "Shop polled.");
            report
        }
        Err(err) => {
            let failure = record_failure(
                &mut state,
                &polling,
                &schedule,
                &err.to_string(),
                err.retry_after(),
                now,
            );
            tracing::warn!(source = %source.id(), error = %state.last_error.as_deref().unwrap_or_default(), errors = state.error_count, "Shop poll failed.");
            failure.report
        }
    };
    ctx.save_state(source.id(), &state).await?;
    Ok(report)
}

async fn submit(
    ctx: &SourceContext,
    baselined: bool,
    backfill: Backfill,
    fetched: Fetched,
) -> Result<PollReport, ShopError> {
    let total = fetched.items.len();
    let baseline = if baselined {
        0
    } else {
        baseline_count(backfill, total)
    };
    let batch: Vec<(Item, Submission)> = fetched
        .items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let submission = Submission {
                skip_reason: (i < baseline).then(|| BASELINE_REASON.to_string()),
                delivery: None,
                ..Submission::default()
            };
            (item, submission)
        })
        .collect();
    let outcomes = if batch.is_empty() {
        Vec::new()
    } else {
        ctx.submit_many(batch).await?
    };
    let (mut new, mut changed, mut pinned) = (0, 0, 0);
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ingested::New { .. } => {
                new += 1;
                if i >= baseline {
                    pinned += 1;
                }
            }
            Ingested::Changed { .. } => changed += 1,
            Ingested::Duplicate => {}
        }
    }
    Ok(PollReport::Polled {
        items: fetched.listed,
        new,
        changed,
        pinned,
        not_modified: false,
    })
}

//! A shop's task: wait for its time, read the shop, hand the items to `ingest` in one durable
//! batch, and only then advance its state. First contact applies the backfill policy, as for
//! feeds; errors back off and park like a feed's.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Fetched, ShopError, ShopSource};
use crate::ingest::{Ingest, Submission};
use crate::item::Item;
use crate::shutdown::sleep_or_cancel;
use crate::sources::feed::PollReport;
use crate::sources::feed::poller::{BASELINE_REASON, baseline_count};
use crate::sources::lease::{SourceLease, Turn};
use crate::store::{Ingested, Millis, StoreError};

/// Poll `source` until `shutdown`. Errors are recorded in the source's state and retried with
/// backoff; they never end the task.
pub async fn run(source: ShopSource, ingest: Ingest, shutdown: CancellationToken) {
    tracing::info!(source = %source.id(), kind = source.kind(), "shop poller started");
    let lease = SourceLease::new();
    loop {
        let wait = match ingest.store().source_state(source.id()).await {
            Ok(state) => {
                let now = ingest.now_ms();
                let wait = state
                    .next_poll
                    .map_or(0, |at| at.saturating_sub(now).max(0));
                Duration::from_millis(wait as u64)
            }
            Err(err) => {
                tracing::warn!(source = %source.id(), error = %err, "could not read the shop's state; retrying in 30s");
                if sleep_or_cancel(Duration::from_secs(30), &shutdown).await {
                    break;
                }
                continue;
            }
        };
        if sleep_or_cancel(wait, &shutdown).await {
            break;
        }
        // Under the source's lease: one replica polls it at a time.
        let (src, ing) = (&source, &ingest);
        let report = match lease
            .turn(&ingest, source.id(), &shutdown, move |token| async move {
                poll_cycle(src, ing, &token).await
            })
            .await
        {
            Turn::Polled(report) => report,
            Turn::Again => continue,
            Turn::Stop => break,
        };
        match report {
            // Cancelled by shutdown, or by losing the lease (then the next cycle looks again).
            Ok(PollReport::Cancelled) if shutdown.is_cancelled() => break,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(source = %source.id(), error = %err, "could not save the shop's state");
                if sleep_or_cancel(Duration::from_secs(30), &shutdown).await {
                    break;
                }
            }
        }
    }
    tracing::info!(source = %source.id(), "shop poller stopped");
}

/// One poll: fetch, submit, then save the new state. `Err` only when the state itself could
/// not be read or saved.
pub async fn poll_cycle(
    source: &ShopSource,
    ingest: &Ingest,
    shutdown: &CancellationToken,
) -> Result<PollReport, StoreError> {
    let store = ingest.store();
    let mut state = store.source_state(source.id()).await?;
    let fetched = tokio::select! {
        _ = shutdown.cancelled() => return Ok(PollReport::Cancelled),
        fetched = source.fetch(store.as_ref()) => fetched,
    };
    let polling = source.polling();
    let result = match fetched {
        Ok(fetched) => submit(ingest, state.baselined, polling.backfill, fetched).await,
        Err(err) => Err(err),
    };
    let now = ingest.now_ms();
    state.last_poll = Some(now);
    let schedule = polling.schedule();
    let report = match result {
        Ok(report) => {
            // The items are durable (submit_many returned): only now advance the checkpoint.
            state.last_success = Some(now);
            state.error_count = 0;
            state.last_error = None;
            state.parked = None;
            state.baselined = true;
            let wait = schedule.jitter_now(schedule.after_success(&Default::default()));
            state.next_poll = Some(now + millis(wait));
            tracing::info!(source = %source.id(), ?report, "shop polled");
            report
        }
        Err(err) => {
            state.error_count = state.error_count.saturating_add(1);
            // Stored and shown (status page, admin API): no query secrets, no internal addresses.
            let message = crate::redact::error(&err.to_string());
            state.last_error = Some(message.clone());
            let mut wait = schedule.after_error(state.error_count, err.retry_after());
            if state.error_count >= polling.park_after {
                state.parked = Some(format!(
                    "{} consecutive failures; retried every {} until it works (last: {message})",
                    state.error_count,
                    humantime::format_duration(polling.parked_interval)
                ));
                wait = wait.max(polling.parked_interval);
            }
            let wait = schedule.jitter_now(wait);
            state.next_poll = Some(now + millis(wait));
            tracing::warn!(source = %source.id(), error = %message, errors = state.error_count, "shop poll failed");
            PollReport::Failed {
                error: message,
                error_count: state.error_count,
            }
        }
    };
    store.set_source_state(source.id(), &state).await?;
    Ok(report)
}

async fn submit(
    ingest: &Ingest,
    baselined: bool,
    backfill: crate::sources::feed::Backfill,
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
        ingest.submit_many(batch).await?
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

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX / 2)
}

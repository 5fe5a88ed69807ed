//! A feed's task: wait for its time, poll, hand the items to `ingest`, and only then advance
//! its state (validators, schedule). First contact applies the backfill policy.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::page::fill_page_images;
use super::settings::Backfill;
use super::{FeedError, FeedSource, Poll};
use crate::ingest::{Ingest, Submission};
use crate::item::Item;
use crate::sources::lease::{Leased, SourceLease};
use crate::store::{Ingested, Millis, SourceState, Store, StoreError};

/// The reason recorded for items that were in the feed when pinbridge first saw it.
pub const BASELINE_REASON: &str = "baseline: present at first poll";

/// What one poll cycle did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PollReport {
    /// The feed was read; `new` items were recorded for the first time (`pinned` of them not
    /// as baseline), `changed` came back different, the rest were known.
    Polled {
        items: usize,
        new: usize,
        changed: usize,
        pinned: usize,
        not_modified: bool,
    },
    /// The poll failed; the error was recorded and the next poll pushed back.
    Failed { error: String, error_count: u32 },
    /// Shutdown arrived during the fetch; nothing was written.
    Cancelled,
}

/// Poll `source` until `shutdown`. Errors are recorded in the source's state and retried with
/// backoff; they never end the task, and other sources (their own tasks) are unaffected.
pub async fn run(source: FeedSource, ingest: Ingest, shutdown: CancellationToken) {
    tracing::info!(source = %source.id(), url = %source.display_url(), "feed poller started");
    let lease = SourceLease::new();
    loop {
        let state = match ingest.store().source_state(source.id()).await {
            Ok(state) => state,
            Err(err) => {
                tracing::warn!(source = %source.id(), error = %err, "could not read the feed's state; retrying in 30s");
                if sleep_or_cancel(Duration::from_secs(30), &shutdown).await {
                    break;
                }
                continue;
            }
        };
        let now = ingest.now_ms();
        let wait = state
            .next_poll
            .map_or(0, |at| at.saturating_sub(now).max(0));
        if sleep_or_cancel(Duration::from_millis(wait as u64), &shutdown).await {
            break;
        }
        // Under the source's lease: one replica polls it at a time (issue 7).
        let (src, ing) = (&source, &ingest);
        let report = match lease
            .poll_if_due(&ingest, source.id(), &shutdown, move |token| async move {
                poll_cycle(src, ing, &token).await
            })
            .await
        {
            Ok(Leased::Polled(report)) => report,
            Ok(Leased::NotDue) => continue,
            Ok(Leased::Busy) => {
                if sleep_or_cancel(SourceLease::busy_wait(), &shutdown).await {
                    break;
                }
                continue;
            }
            Err(err) => Err(err),
        };
        let result = match &report {
            Ok(PollReport::Polled {
                not_modified: true, ..
            }) => "not_modified",
            Ok(PollReport::Polled { .. }) => "ok",
            Ok(PollReport::Failed { .. }) => "failed",
            Ok(PollReport::Cancelled) => "cancelled",
            Err(_) => "store_error",
        };
        metrics::counter!("pinbridge_polls_total", "source" => source.id().0.clone(), "result" => result)
            .increment(1);
        match report {
            // Cancelled by shutdown, or by losing the lease (then the next cycle looks again).
            Ok(PollReport::Cancelled) if shutdown.is_cancelled() => break,
            Ok(_) => {}
            Err(err) => {
                // The state could not be saved: the next cycle re-reads the old state and polls
                // again; the store dedups what was already recorded.
                tracing::warn!(source = %source.id(), error = %err, "could not save the feed's state");
                if sleep_or_cancel(Duration::from_secs(30), &shutdown).await {
                    break;
                }
            }
        }
    }
    tracing::info!(source = %source.id(), "feed poller stopped");
}

/// True when shutdown came first.
async fn sleep_or_cancel(wait: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(wait) => false,
    }
}

/// One poll: fetch, submit, then save the new state. `Err` only when the state itself could
/// not be read or saved.
pub async fn poll_cycle(
    source: &FeedSource,
    ingest: &Ingest,
    shutdown: &CancellationToken,
) -> Result<PollReport, StoreError> {
    let store = ingest.store();
    let mut state = store.source_state(source.id()).await?;
    let result = tokio::select! {
        _ = shutdown.cancelled() => return Ok(PollReport::Cancelled),
        result = source.poll_once(&state) => result,
    };
    let result = match result {
        Ok(poll) => match submit(source, ingest, &state, poll, shutdown).await {
            Ok(Some(done)) => Ok(done),
            // Shutdown while reading linked pages: nothing was written, the next run re-polls.
            Ok(None) => return Ok(PollReport::Cancelled),
            Err(err) => Err(err),
        },
        Err(err) => Err(err),
    };
    let now = ingest.now_ms();
    state.last_poll = Some(now);
    let schedule = source.schedule();
    let report = match result {
        Ok((poll, report)) => {
            // The items are durable (submit_many returned): only now advance the checkpoint.
            state.etag = poll.etag;
            state.last_modified = poll.last_modified;
            state.last_success = Some(now);
            state.error_count = 0;
            state.last_error = None;
            state.parked = None;
            state.baselined = true;
            let wait = schedule.jitter_now(schedule.after_success(&poll.hints));
            state.next_poll = Some(now + millis(wait));
            tracing::info!(source = %source.id(), ?report, next_in = %humantime::format_duration(secs(wait)), "feed polled");
            report
        }
        Err(err) => {
            state.error_count = state.error_count.saturating_add(1);
            let message = err.to_string();
            state.last_error = Some(message.clone());
            let mut wait = schedule.after_error(state.error_count, err.retry_after());
            let settings = source.settings();
            if state.error_count >= settings.park_after {
                // Parked: still retried, slowly, so a feed that comes back is picked up again.
                state.parked = Some(format!(
                    "{} consecutive failures; retried every {} until it works (last: {message})",
                    state.error_count,
                    humantime::format_duration(settings.parked_interval)
                ));
                wait = wait.max(settings.parked_interval);
            }
            let wait = schedule.jitter_now(wait);
            state.next_poll = Some(now + millis(wait));
            tracing::warn!(
                source = %source.id(),
                error = %message,
                errors = state.error_count,
                retry_in = %humantime::format_duration(secs(wait)),
                "feed poll failed"
            );
            PollReport::Failed {
                error: message,
                error_count: state.error_count,
            }
        }
    };
    store.set_source_state(source.id(), &state).await?;
    Ok(report)
}

/// Hand the poll's items to ingest (one durable batch), applying the backfill policy on first
/// contact.
async fn submit(
    source: &FeedSource,
    ingest: &Ingest,
    state: &SourceState,
    mut poll: Poll,
    shutdown: &CancellationToken,
) -> Result<Option<(Poll, PollReport)>, FeedError> {
    let mut items = std::mem::take(&mut poll.items);
    let total = items.len();
    let baseline = if state.baselined {
        0
    } else {
        baseline_count(source.settings().backfill, total)
    };
    tokio::select! {
        _ = shutdown.cancelled() => return Ok(None),
        filled = fill_page_images(source, ingest.store().as_ref(), &mut items, baseline) => filled?,
    }
    let batch: Vec<(Item, Submission)> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let skip_reason = (i < baseline).then(|| BASELINE_REASON.to_string());
            (
                item,
                Submission {
                    skip_reason,
                    delivery: None,
                },
            )
        })
        .collect();
    let outcomes = if batch.is_empty() {
        Vec::new()
    } else {
        ingest.submit_many(batch).await?
    };
    let mut report = (0, 0, 0);
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ingested::New { .. } => {
                report.0 += 1;
                if i >= baseline {
                    report.2 += 1;
                }
            }
            Ingested::Changed { .. } => report.1 += 1,
            Ingested::Duplicate => {}
        }
    }
    let not_modified = poll.not_modified;
    Ok(Some((
        poll,
        PollReport::Polled {
            items: total,
            new: report.0,
            changed: report.1,
            pinned: report.2,
            not_modified,
        },
    )))
}

/// How many of `total` items (oldest first) are recorded as baseline on first contact.
pub fn baseline_count(backfill: Backfill, total: usize) -> usize {
    match backfill {
        Backfill::None => total,
        Backfill::Latest(n) => total.saturating_sub(n),
        Backfill::All => 0,
    }
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX / 2)
}

fn secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// What a dry run found for one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRunItem {
    pub item: Item,
    /// The store already knows this dedup key.
    pub known: bool,
    /// New, and would be recorded as baseline rather than pinned (first contact).
    pub baseline: bool,
}

/// What `pinbridge poll --dry-run` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRun {
    /// Oldest first.
    pub items: Vec<DryRunItem>,
    /// The source has not been polled before: the backfill policy would apply.
    pub first_contact: bool,
}

/// Fetch and parse the feed now (unconditionally) and tell which items are new. No writes.
pub async fn poll_now(source: &FeedSource, store: &dyn Store) -> Result<DryRun, FeedError> {
    let state = store.source_state(source.id()).await?;
    let mut poll = source.poll_once(&SourceState::default()).await?;
    let first_contact = !state.baselined;
    let baseline = if first_contact {
        baseline_count(source.settings().backfill, poll.items.len())
    } else {
        0
    };
    // Shows the image a Pin would really get (reads pages, writes nothing).
    fill_page_images(source, store, &mut poll.items, baseline).await?;
    let mut items = Vec::with_capacity(poll.items.len());
    for (i, item) in poll.items.into_iter().enumerate() {
        let known = store.item(source.id(), &item.key).await?.is_some();
        items.push(DryRunItem {
            item,
            known,
            baseline: !known && i < baseline,
        });
    }
    Ok(DryRun {
        items,
        first_contact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_counts() {
        assert_eq!(baseline_count(Backfill::None, 5), 5);
        assert_eq!(baseline_count(Backfill::Latest(2), 5), 3);
        assert_eq!(baseline_count(Backfill::Latest(9), 5), 0);
        assert_eq!(baseline_count(Backfill::All, 5), 0);
    }
}

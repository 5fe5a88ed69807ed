//! A feed's task: wait for its time, poll, hand the items to `ingest`, and only then advance
//! its state (validators, schedule). First contact applies the backfill policy.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::page::fill_page_images;
use super::schedule::Frequency;
use super::settings::Backfill;
use super::{FeedError, FeedSource, Poll};
use crate::ingest::{Ingest, Submission};
use crate::item::Item;
use crate::shutdown::sleep_or_cancel;
use crate::sources::lease::{SourceLease, Turn};
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

/// Items handed to ingest per durable batch. A large feed (or a backfill) is recorded in
/// several batches so no single write grows with the feed; the checkpoint still advances only
/// after the last one, and a re-poll after a crash finds the earlier batches as duplicates.
pub const SUBMIT_CHUNK: usize = 500;

/// Told `(items recorded, items in the poll)` after each durable batch (progress bars).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

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
    // Bounded like the fetches, so thousands of due feeds do not all hold parsed items and
    // store calls at once; the turn is held until the state is saved.
    let _turn = tokio::select! {
        _ = shutdown.cancelled() => return Ok(PollReport::Cancelled),
        turn = source.fetcher().poll_slot() => turn,
    };
    let store = ingest.store();
    let mut state = store.source_state(source.id()).await?;
    let result = tokio::select! {
        _ = shutdown.cancelled() => return Ok(PollReport::Cancelled),
        result = source.poll_once(&state) => result,
    };
    let result = match result {
        Ok(poll) => match submit(source, ingest, &state, poll, shutdown, progress).await {
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
        Ok((poll, report, new_times, over_cap)) => {
            super::cap::note(source, &mut state, over_cap, now);
            // The items are durable (submit_many returned): only now advance the checkpoint.
            state.etag = poll.etag;
            state.last_modified = poll.last_modified;
            state.last_success = Some(now);
            state.error_count = 0;
            state.last_error = None;
            state.parked = None;
            state.baselined = true;
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
            tracing::info!(source = %source.id(), ?report, next_in = %humantime::format_duration(secs(wait)), "feed polled");
            report
        }
        Err(err) => {
            state.error_count = state.error_count.saturating_add(1);
            // Stored and shown (status page, admin API): no query secrets, no internal addresses.
            let message = crate::redact::error(&err.to_string());
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

/// What `submit` did: the poll (items taken out), its report, when the new items were
/// published (their date, or now when they have none) for the adaptive interval, and how many
/// new items were held back by `max_new_items_per_poll`.
type Submitted = (Poll, PollReport, Vec<Millis>, usize);

/// Hand the poll's items to ingest (durable batches of [`SUBMIT_CHUNK`], oldest first),
/// applying the backfill policy on first contact.
async fn submit(
    source: &FeedSource,
    ingest: &Ingest,
    state: &SourceState,
    mut poll: Poll,
    shutdown: &CancellationToken,
    progress: Progress<'_>,
) -> Result<Option<Submitted>, FeedError> {
    let mut items = std::mem::take(&mut poll.items);
    let total = items.len();
    let baseline = if state.baselined {
        0
    } else {
        baseline_count(source.settings().backfill, total)
    };
    let mut skips = baseline_skips(total, baseline);
    let over_cap =
        cap_new_items(source, ingest.store().as_ref(), state, &items, &mut skips).await?;
    tokio::select! {
        _ = shutdown.cancelled() => return Ok(None),
        filled = fill_page_images(source, ingest.store().as_ref(), &mut items, baseline) => filled?,
    }
    let now = ingest.now_ms();
    let dates: Vec<Millis> = items
        .iter()
        .map(|item| item.published_ms.unwrap_or(now))
        .collect();
    let batch = submissions(items, skips.clone());
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut batch = batch.into_iter().peekable();
    while batch.peek().is_some() {
        let chunk: Vec<(Item, Submission)> = batch.by_ref().take(SUBMIT_CHUNK).collect();
        outcomes.extend(ingest.submit_many(chunk).await?);
        progress(outcomes.len(), total);
    }
    let mut report = (0, 0, 0);
    let mut new_times = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ingested::New { .. } => {
                report.0 += 1;
                new_times.extend(dates.get(i).copied());
                if skips[i].is_none() {
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
        new_times,
        over_cap,
    )))
}

/// How many of `total` items (oldest first) are recorded as baseline on first contact.
/// The items of one poll (or push) ready for ingest: the first `baseline` recorded as seen at
/// first contact, the rest to pin.
/// The ingest batch of a poll or a WebSub push: each item with its skip reason (from
/// [`baseline_skips`] and [`cap_new_items`]).
pub fn submissions(items: Vec<Item>, skips: Vec<Option<String>>) -> Vec<(Item, Submission)> {
    items
        .into_iter()
        .zip(skips)
        .map(|(item, skip_reason)| {
            (
                item,
                Submission {
                    skip_reason,
                    ..Submission::default()
                },
            )
        })
        .collect()
}

/// On first contact the oldest `baseline` items are recorded as seen, not pinned.
pub fn baseline_skips(total: usize, baseline: usize) -> Vec<Option<String>> {
    (0..total)
        .map(|i| (i < baseline).then(|| BASELINE_REASON.to_string()))
        .collect()
}

/// After first contact (which is the backfill policy's), at most `max_new_items_per_poll` new
/// items of one poll or push are pinned; the rest are marked skipped. Returns how many.
pub async fn cap_new_items(
    source: &FeedSource,
    store: &dyn crate::store::Store,
    state: &SourceState,
    items: &[Item],
    skips: &mut [Option<String>],
) -> Result<usize, crate::store::StoreError> {
    if !state.baselined {
        return Ok(0);
    }
    let cap = source.settings().max_new_items_per_poll;
    super::cap::mark_over_cap(store, items, skips, cap).await
}

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

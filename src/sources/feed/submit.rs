//! Handing a poll's items to ingest: the backfill policy on first contact, the
//! `max_new_items_per_poll` cap after it, page images, then durable batches, oldest first.

use tokio_util::sync::CancellationToken;

use super::page::fill_page_images;
use super::{FeedError, FeedSource, Poll};
use crate::ingest::Submission;
use crate::ingest::context::{KnownItems, SourceContext};
use crate::item::Item;
use crate::sources::poll::report::{PollReport, baseline_count, baseline_skips, submissions};
use crate::store::{Ingested, Millis, SourceState};

/// Items handed to ingest per durable batch. A large feed (or a backfill) is recorded in
/// several batches so no single write grows with the feed; the checkpoint still advances only
/// after the last one, and a re-poll after a crash finds the earlier batches as duplicates.
pub const SUBMIT_CHUNK: usize = 500;

/// Told `(items recorded, items in the poll)` after each durable batch (progress bars).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// What `submit` did: the poll (items taken out), its report, when the new items were
/// published (their date, or now when they have none) for the adaptive interval, and how many
/// new items were held back by `max_new_items_per_poll`.
pub(super) type Submitted = (Poll, PollReport, Vec<Millis>, usize);

/// Hand the poll's items to ingest (durable batches of [`SUBMIT_CHUNK`], oldest first),
/// applying the backfill policy on first contact.
pub(super) async fn submit(
    source: &FeedSource,
    ctx: &SourceContext,
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
    let over_cap = cap_new_items(source, ctx, state, &items, &mut skips).await?;
    tokio::select! {
        _ = shutdown.cancelled() => return Ok(None),
        filled = fill_page_images(source, ctx, &mut items, baseline) => filled?,
    }
    let now = ctx.now_ms();
    let dates: Vec<Millis> = items
        .iter()
        .map(|item| item.published_ms.unwrap_or(now))
        .collect();
    let batch = submissions(items, skips.clone());
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut batch = batch.into_iter().peekable();
    while batch.peek().is_some() {
        let chunk: Vec<(Item, Submission)> = batch.by_ref().take(SUBMIT_CHUNK).collect();
        outcomes.extend(ctx.submit_many(chunk).await?);
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

/// After first contact (which is the backfill policy's), at most `max_new_items_per_poll` new
/// items of one poll or push are pinned; the rest are marked skipped. Returns how many.
pub async fn cap_new_items<K: KnownItems + ?Sized>(
    source: &FeedSource,
    known: &K,
    state: &SourceState,
    items: &[Item],
    skips: &mut [Option<String>],
) -> Result<usize, crate::store::StoreError> {
    if !state.baselined {
        return Ok(0);
    }
    let cap = source.settings().max_new_items_per_poll;
    super::cap::mark_over_cap(known, items, skips, cap).await
}

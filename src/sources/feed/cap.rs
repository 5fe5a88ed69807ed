//! `max_new_items_per_poll`: how many never-seen items one poll may pin.
//!
//! A feed that rotates its guids (a new id for every entry on every fetch) looks like a feed
//! full of new items each poll and would queue a Pin for all of them. Beyond the cap, new
//! items are recorded as seen with a skip reason, so they are never pinned later either (the
//! store knows their keys), and the poll says how many were held back.

use super::FeedSource;
use crate::ingest::context::KnownItems;
use crate::item::Item;
use crate::store::{Millis, SourceState, StoreError};

/// The `SourceState.extra` key that tells the last poll that went over the cap.
pub const EXTRA_KEY: &str = "over_cap";

/// The reason recorded for a new item beyond the cap.
pub fn reason(cap: usize) -> String {
    format!(
        "over max_new_items_per_poll ({cap}): more new items in one poll than allowed, recorded as seen and not pinned"
    )
}

/// Marks in `skips` the new items of `items` (oldest first) beyond the newest `cap` of them,
/// and returns how many it marked. Items that already have a skip reason (baseline) are not
/// counted. The store is asked only when there are more candidates than `cap`, which an
/// ordinary poll of a feed with fewer entries than the cap never has.
pub async fn mark_over_cap<K: KnownItems + ?Sized>(
    known: &K,
    items: &[Item],
    skips: &mut [Option<String>],
    cap: usize,
) -> Result<usize, StoreError> {
    let candidates = skips.iter().filter(|s| s.is_none()).count();
    if candidates <= cap {
        return Ok(0);
    }
    let (mut kept, mut marked) = (0, 0);
    // Newest first: like `backfill = "latest:N"`, the newest new items are the ones pinned.
    for (item, skip) in items.iter().zip(skips.iter_mut()).rev() {
        if skip.is_some() || known.known_item(&item.source, &item.key).await?.is_some() {
            continue;
        }
        if kept < cap {
            kept += 1;
        } else {
            *skip = Some(reason(cap));
            marked += 1;
        }
    }
    Ok(marked)
}

/// The warning and the counter `pinbridge_feed_items_over_cap_total` for items held back by a
/// poll or a WebSub push (a push does not write the source's state: the poller owns it).
pub(crate) fn report(source: &FeedSource, over_cap: usize) {
    if over_cap == 0 {
        return;
    }
    let cap = source.settings().max_new_items_per_poll;
    tracing::warn!(source = %source.id(), cap, skipped = over_cap, "More new items than max_new_items_per_poll: the rest were recorded as seen and not pinned.");
    metrics::counter!("pinbridge_feed_items_over_cap_total", "source" => source.id().0.clone())
        .increment(over_cap as u64);
}

/// Says so when a poll held new items back: a warning, the counter
/// `pinbridge_feed_items_over_cap_total`, and a note in the source's state that the next poll
/// within the cap clears.
pub(crate) fn note(source: &FeedSource, state: &mut SourceState, over_cap: usize, now: Millis) {
    if over_cap == 0 {
        state.extra.remove(EXTRA_KEY);
        return;
    }
    report(source, over_cap);
    let cap = source.settings().max_new_items_per_poll;
    state.extra.insert(
        EXTRA_KEY.into(),
        format!(
            "{over_cap} new items over max_new_items_per_poll ({cap}) recorded as seen, not pinned, at {now} ms"
        ),
    );
}

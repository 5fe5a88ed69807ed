//! A dry-run poll: fetch and parse a feed now and tell which items are new, without writing
//! anything. The running service does it for `POST /api/v1/sources/{id}/dry-run`, and
//! `pinbridge poll --dry-run` does it itself when no service runs.

use super::page::fill_page_images;
use super::{FeedError, FeedSource};
use crate::item::Item;
use crate::sources::poll::report::baseline_count;
use crate::store::{SourceState, Store};

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

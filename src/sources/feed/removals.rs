//! `complete = true` feeds: an item gone from the feed for longer than `removal_grace` was
//! deleted at the source. A feed that does not say it is complete never removes anything (most
//! feeds show only their newest items, so an absent item is just an older one).

use std::collections::BTreeSet;

use super::FeedSource;
use crate::ingest::context::SourceContext;
use crate::item::DedupKey;
use crate::sources::poll::missing::note_full_listing;
use crate::store::{Millis, SourceState, StoreError};

/// The keys of a poll that may count as a full listing: a complete feed's parsed 200 answer
/// (a 304 lists nothing; errors and over-large bodies never reach here).
pub(super) fn listing(
    source: &FeedSource,
    not_modified: bool,
    keys: impl Iterator<Item = DedupKey>,
) -> Option<BTreeSet<DedupKey>> {
    (source.settings().complete && !not_modified).then(|| keys.collect())
}

/// Note the listing in `state` and report the items missing past the grace as removed (their
/// bookkeeping is saved with `state` afterwards; a crash in between repeats the removal,
/// which changes nothing the second time).
pub(super) async fn note(
    source: &FeedSource,
    ctx: &SourceContext,
    state: &mut SourceState,
    listed: &BTreeSet<DedupKey>,
    now: Millis,
) -> Result<usize, StoreError> {
    let grace = i64::try_from(source.settings().removal_grace.as_millis()).unwrap_or(i64::MAX);
    let gone = note_full_listing(state, listed, now, grace);
    for key in &gone {
        ctx.remove(source.id(), key).await?;
        tracing::info!(source = %source.id(), key = %key.0, "Item gone from the complete feed past its grace: removed.");
    }
    Ok(gone.len())
}

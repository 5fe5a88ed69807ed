//! Listings removed at the shop: ones the shop says are no longer active (at once), and ones
//! missing from complete listing passes for longer than `removal_grace` that the shop then
//! confirms are gone. Paging can miss a listing that moved between pages, hence the grace and
//! the confirmation; a pass stopped by a cap never counts.

use std::collections::BTreeSet;

use super::ShopSource;
use crate::ingest::context::{KnownItems, SourceContext};
use crate::item::DedupKey;
use crate::sources::poll::missing::note_full_listing;
use crate::store::{Millis, SourceState, StoreError};

/// Report `gone` removed, and note `listing` (a complete pass) in `state`, reporting the
/// items missing past the grace that the shop confirms are gone. When the confirmation cannot
/// be had (the shop fails), the bookkeeping is left as it was and the next pass asks again.
pub(super) async fn note(
    source: &ShopSource,
    ctx: &SourceContext,
    state: &mut SourceState,
    gone: Vec<DedupKey>,
    listing: Option<BTreeSet<DedupKey>>,
    now: Millis,
) -> Result<(), StoreError> {
    for key in &gone {
        remove_known(
            source,
            ctx,
            key,
            "The shop says this listing is no longer active.",
        )
        .await?;
    }
    let Some(listing) = listing else {
        return Ok(());
    };
    let grace = i64::try_from(source.removal_grace().as_millis()).unwrap_or(i64::MAX);
    let mut next = state.clone();
    let candidates = note_full_listing(&mut next, &listing, now, grace);
    if !candidates.is_empty() {
        match source.confirm_gone(ctx, candidates).await {
            Ok(confirmed) => {
                for key in &confirmed {
                    remove_known(
                        source,
                        ctx,
                        key,
                        "Missing from the shop past its grace, and confirmed gone.",
                    )
                    .await?;
                }
            }
            Err(err) => {
                tracing::warn!(source = %source.id(), error = %err, "Could not confirm which missing listings are gone; asking again next time.");
                return Ok(());
            }
        }
    }
    state.extra = next.extra;
    Ok(())
}

/// `ctx.remove` for an item the store has (a listing never recorded has nothing to follow).
async fn remove_known(
    source: &ShopSource,
    ctx: &SourceContext,
    key: &DedupKey,
    why: &str,
) -> Result<(), StoreError> {
    if ctx.known_item(source.id(), key).await?.is_some() {
        ctx.remove(source.id(), key).await?;
        tracing::info!(source = %source.id(), key = %key.0, "{why} Removed.");
    }
    Ok(())
}

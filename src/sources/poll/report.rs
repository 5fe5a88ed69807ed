//! What a poll did, and how the items of a first contact are split into baseline and pins:
//! the same for feeds, shops and WebSub pushes.

use crate::ingest::Submission;
use crate::item::Item;
use crate::sources::poll::settings::Backfill;

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

/// The ingest batch of a poll or a WebSub push: each item with its skip reason (from
/// [`baseline_skips`] and the feed's `cap_new_items`).
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

/// How many of `total` items (oldest first) are recorded as baseline on first contact.
pub fn baseline_count(backfill: Backfill, total: usize) -> usize {
    match backfill {
        Backfill::None => total,
        Backfill::Latest(n) => total.saturating_sub(n),
        Backfill::All => 0,
    }
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

//! Items that disappear from a source which lists everything: noted as missing since the
//! first full listing without them, and reported gone once missing longer than a grace
//! period. An item that comes back before then clears its mark. The bookkeeping is the
//! source's own, kept in its state record's extras, and bounded: a listing larger than
//! [`MAX_TRACKED`] is not tracked at all (no removal is ever claimed for it).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::item::DedupKey;
use crate::store::{Millis, SourceState};

/// Where the bookkeeping lives in `SourceState::extra`.
pub const EXTRA_KEY: &str = "missing";

/// How long an item must stay absent before it counts as removed, unless configured.
pub const DEFAULT_REMOVAL_GRACE: std::time::Duration =
    std::time::Duration::from_secs(2 * 24 * 60 * 60);

/// Listings with more items than this are not tracked: the state record stays small.
pub const MAX_TRACKED: usize = 20_000;

/// What one full listing pass knew: the keys it listed, and since when the absent ones are
/// missing.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Bookkeeping {
    listed: BTreeSet<String>,
    missing: BTreeMap<String, Millis>,
}

/// Note a complete listing of `present` keys at `now`; return the keys missing for at least
/// `grace_ms` (they are dropped from the bookkeeping: the caller reports them removed).
/// Call only after a full, successful listing: a partial one would mark everything it did not
/// reach as missing.
pub fn note_full_listing(
    state: &mut SourceState,
    present: &BTreeSet<DedupKey>,
    now: Millis,
    grace_ms: i64,
) -> Vec<DedupKey> {
    if present.len() > MAX_TRACKED {
        state.extra.remove(EXTRA_KEY);
        return Vec::new();
    }
    let mut book: Bookkeeping = state
        .extra
        .get(EXTRA_KEY)
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    let before: BTreeSet<String> = book
        .listed
        .iter()
        .chain(book.missing.keys())
        .cloned()
        .collect();
    let mut gone = Vec::new();
    let mut missing = BTreeMap::new();
    for key in before {
        if present.contains(&DedupKey(key.clone())) {
            continue;
        }
        let since = book.missing.get(&key).copied().unwrap_or(now);
        if now.saturating_sub(since) >= grace_ms {
            gone.push(DedupKey(key));
        } else {
            missing.insert(key, since);
        }
    }
    book.missing = missing;
    book.listed = present.iter().map(|k| k.0.clone()).collect();
    let json = serde_json::to_string(&book).expect("bookkeeping serialises");
    state.extra.insert(EXTRA_KEY.to_string(), json);
    gone
}

/// The keys currently noted as missing, and since when (status pages, tests).
pub fn missing_since(state: &SourceState) -> BTreeMap<DedupKey, Millis> {
    state
        .extra
        .get(EXTRA_KEY)
        .and_then(|json| serde_json::from_str::<Bookkeeping>(json).ok())
        .map(|b| {
            b.missing
                .into_iter()
                .map(|(k, at)| (DedupKey(k), at))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> BTreeSet<DedupKey> {
        list.iter().map(|k| DedupKey(k.to_string())).collect()
    }

    const GRACE: i64 = 1_000;

    #[test]
    fn an_item_is_gone_only_after_the_grace() {
        let mut state = SourceState::default();
        assert!(note_full_listing(&mut state, &keys(&["a", "b"]), 0, GRACE).is_empty());
        assert!(note_full_listing(&mut state, &keys(&["a"]), 10, GRACE).is_empty());
        assert_eq!(missing_since(&state).get(&DedupKey("b".into())), Some(&10));
        assert!(note_full_listing(&mut state, &keys(&["a"]), 500, GRACE).is_empty());
        let gone = note_full_listing(&mut state, &keys(&["a"]), 1_010, GRACE);
        assert_eq!(gone, vec![DedupKey("b".into())]);
        assert!(missing_since(&state).is_empty(), "reported once");
        assert!(note_full_listing(&mut state, &keys(&["a"]), 5_000, GRACE).is_empty());
    }

    #[test]
    fn an_item_that_comes_back_clears_its_mark() {
        let mut state = SourceState::default();
        note_full_listing(&mut state, &keys(&["a", "b"]), 0, GRACE);
        note_full_listing(&mut state, &keys(&["a"]), 10, GRACE);
        note_full_listing(&mut state, &keys(&["a", "b"]), 20, GRACE);
        assert!(missing_since(&state).is_empty());
        // Missing again: the clock starts over.
        note_full_listing(&mut state, &keys(&["a"]), 900, GRACE);
        assert!(note_full_listing(&mut state, &keys(&["a"]), 1_500, GRACE).is_empty());
        assert_eq!(
            note_full_listing(&mut state, &keys(&["a"]), 1_900, GRACE),
            vec![DedupKey("b".into())]
        );
    }

    #[test]
    fn a_listing_too_large_to_track_claims_nothing() {
        let mut state = SourceState::default();
        note_full_listing(&mut state, &keys(&["a", "b"]), 0, GRACE);
        let huge: BTreeSet<DedupKey> = (0..=MAX_TRACKED)
            .map(|i| DedupKey(format!("k{i}")))
            .collect();
        assert!(note_full_listing(&mut state, &huge, 5_000, GRACE).is_empty());
        assert!(!state.extra.contains_key(EXTRA_KEY));
    }
}

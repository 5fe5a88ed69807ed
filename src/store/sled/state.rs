//! Per-source and per-account state, and the expiry of webhook delivery ids.

use serde::Serialize;

use super::Inner;
use super::envelope::encode;
use super::kv::transaction::Transactional;
use super::records::DeliveryRecord;
use super::records::Record;
use super::trees::{self, io};
use crate::store::{Millis, StoreResult};

/// Read a state record; absent (or quarantined) reads as the default.
pub(crate) fn get_state<T: Record + Default>(
    inner: &Inner,
    tree: &'static str,
    key: &str,
) -> StoreResult<T> {
    let t = if tree == trees::SOURCES {
        &inner.trees.sources
    } else {
        &inner.trees.accounts
    };
    match t.get(key.as_bytes()).map_err(io)? {
        None => Ok(T::default()),
        Some(raw) => Ok(inner
            .trees
            .decode_or_quarantine(&inner.db, tree, key.as_bytes(), raw, inner.now())?
            .unwrap_or_default()),
    }
}

pub(crate) fn set_state<T: Serialize>(
    inner: &Inner,
    tree: &'static str,
    key: &str,
    value: &T,
) -> StoreResult<()> {
    let t = if tree == trees::SOURCES {
        &inner.trees.sources
    } else {
        &inner.trees.accounts
    };
    t.insert(key.as_bytes(), encode(value)).map_err(io)?;
    Ok(())
}

/// Drop delivery ids whose `keep_until` is at or before `now`.
///
/// A scan of `deliveries` (no time index: that was a second write per ingest). The tree holds
/// only the ids still within their horizon, so the scan is bounded by the webhook rate times
/// the horizon, not by the number of items. Each removal is a compare-and-swap against the
/// value seen, so an id re-recorded meanwhile is kept.
pub(crate) fn purge_deliveries(inner: &Inner, now: Millis) -> StoreResult<u64> {
    let tree = &inner.trees.deliveries;
    let mut dropped = 0;
    for entry in tree.iter() {
        let (key, raw) = entry.map_err(io)?;
        let expired = match inner.trees.decode_or_quarantine::<DeliveryRecord>(
            &inner.db,
            trees::DELIVERIES,
            &key,
            raw.clone(),
            now,
        )? {
            Some(record) => record.keep_until <= now,
            // Quarantined: already gone from the tree.
            None => continue,
        };
        if expired
            && tree
                .compare_and_swap(&key, Some(&raw), None)
                .map_err(io)?
                .is_ok()
        {
            dropped += 1;
        }
    }
    Ok(dropped)
}

/// Read-modify-write of one account record in a sled transaction (atomic against every other
/// writer of the record).
pub(crate) fn update_account(
    inner: &Inner,
    account: &str,
    update: &crate::store::AccountUpdate,
) -> StoreResult<crate::store::AccountState> {
    let tree = &inner.trees.accounts;
    inner.with_quarantine(|| {
        tree.transaction(|t| {
            let mut state: crate::store::AccountState =
                trees::tx_get(t, trees::ACCOUNTS, account.as_bytes())?.unwrap_or_default();
            update(&mut state);
            t.insert(account.as_bytes(), encode(&state))?;
            Ok(state)
        })
    })
}

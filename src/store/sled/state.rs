//! Per-source and per-account state, and the expiry of webhook delivery ids.

use ::sled::Transactional;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Inner;
use super::envelope::encode;
use super::keys;
use super::trees::{self, io};
use crate::store::{Millis, StoreResult};

/// Read a state record; absent (or quarantined) reads as the default.
pub(crate) fn get_state<T: DeserializeOwned + Default>(
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

/// Drop delivery ids whose `keep_until` is at or before `now`, via the time index.
pub(crate) fn purge_deliveries(inner: &Inner, now: Millis) -> StoreResult<u64> {
    let t = &inner.trees;
    let upper = keys::time_bytes(now.saturating_add(1));
    let mut expired = Vec::new();
    for entry in t.deliveries_by_time.range(..upper) {
        let (k, _) = entry.map_err(io)?;
        expired.push(k);
    }
    let mut dropped = 0;
    // Chunks keep each transaction small.
    for chunk in expired.chunks(256) {
        let result: Result<u64, ::sled::transaction::TransactionError<()>> =
            (&t.deliveries, &t.deliveries_by_time).transaction(|(deliveries, by_time)| {
                let mut n = 0;
                for index_key in chunk {
                    by_time.remove(index_key)?;
                    // Index keys are `[8-byte time][delivery key]`; anything shorter is junk.
                    let Some(delivery_key) = index_key.get(8..) else {
                        continue;
                    };
                    if deliveries.remove(delivery_key)?.is_some() {
                        n += 1;
                    }
                }
                Ok(n)
            });
        dropped += result.map_err(|e| trees::io(format!("{e:?}")))?;
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

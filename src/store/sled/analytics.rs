//! [`Analytics`] on sled: daily rows in `analytics_days` keyed by day then Pin id (so a period
//! is one range scan and the same Pin and day is the same key, an upsert), the collector's
//! watched Pins in `analytics_pins` keyed by account then Pin id. Values are envelopes like
//! every other record. The collector's per-account lease is held in memory with the source
//! leases (`coord.rs`): one process owns a sled store.

use super::kv::transaction::TransactionError;
use super::kv::transaction::Transactional;
use async_trait::async_trait;

use super::envelope::encode;
use super::keys::time_bytes;
use super::trees::{self, io, tx_get};
use super::{Inner, SledStore};
use crate::store::{
    Analytics, LeaseToken, Millis, PinDay, PinDayCursor, PinWatch, StoreError, StoreResult,
};

/// `analytics_days` key: the day sign-flipped big-endian (byte order is day order), then the
/// Pin id.
fn day_key(day: i64, pin_id: &str) -> Vec<u8> {
    let mut out = time_bytes(day).to_vec();
    out.extend_from_slice(pin_id.as_bytes());
    out
}

/// `analytics_pins` key: the account length-prefixed (an account whose name starts another's
/// never shares its prefix), then the Pin id.
fn account_prefix(account: &str) -> Vec<u8> {
    let len = u32::try_from(account.len()).unwrap_or(u32::MAX);
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(account.as_bytes());
    out
}

fn watch_key(account: &str, pin_id: &str) -> Vec<u8> {
    let mut out = account_prefix(account);
    out.extend_from_slice(pin_id.as_bytes());
    out
}

/// The in-memory lease's name: NUL never occurs in a source id, so it cannot meet a source's.
fn lease_name(account: &str) -> String {
    format!("analytics\0{account}")
}

fn record(inner: &Inner, rows: &[PinDay], watches: &[PinWatch]) -> StoreResult<()> {
    let t = &inner.trees;
    let result: Result<(), TransactionError<()>> = (&t.analytics_days, &t.analytics_pins)
        .transaction(|(days, pins)| {
            for row in rows {
                days.insert(day_key(row.day, &row.pin_id), encode(row))?;
            }
            for watch in watches {
                pins.insert(watch_key(&watch.account, &watch.pin_id), encode(watch))?;
            }
            Ok(())
        });
    result.map_err(|e| io(format!("{e:?}")))
}

fn watch(inner: &Inner, new: &[PinWatch]) -> StoreResult<usize> {
    let tree = &inner.trees.analytics_pins;
    inner.with_quarantine(|| {
        tree.transaction(|pins| {
            let mut added = 0;
            for watch in new {
                let key = watch_key(&watch.account, &watch.pin_id);
                if tx_get::<PinWatch>(pins, trees::ANALYTICS_PINS, &key)?.is_none() {
                    pins.insert(key, encode(watch))?;
                    added += 1;
                }
            }
            Ok(added)
        })
    })
}

fn watches(inner: &Inner, account: &str) -> StoreResult<Vec<PinWatch>> {
    let mut out = Vec::new();
    for entry in inner
        .trees
        .analytics_pins
        .scan_prefix(account_prefix(account))
    {
        let (key, raw) = entry.map_err(io)?;
        if let Some(watch) = inner.trees.decode_or_quarantine(
            &inner.db,
            trees::ANALYTICS_PINS,
            &key,
            raw,
            inner.now(),
        )? {
            out.push(watch);
        }
    }
    Ok(out)
}

/// Rows from `start` (inclusive) up to `end_day` (inclusive), at most `limit`.
fn days(inner: &Inner, start: Vec<u8>, end_day: i64, limit: usize) -> StoreResult<Vec<PinDay>> {
    let mut out = Vec::new();
    let range = match end_day.checked_add(1) {
        Some(next) => inner
            .trees
            .analytics_days
            .range(start..time_bytes(next).to_vec()),
        None => inner.trees.analytics_days.range(start..),
    };
    for entry in range {
        if out.len() >= limit {
            break;
        }
        let (key, raw) = entry.map_err(io)?;
        if let Some(row) = inner.trees.decode_or_quarantine(
            &inner.db,
            trees::ANALYTICS_DAYS,
            &key,
            raw,
            inner.now(),
        )? {
            out.push(row);
        }
    }
    Ok(out)
}

/// The first key after `after`: its own key plus a zero byte sorts right behind it.
fn start_after(after: Option<&PinDayCursor>) -> Vec<u8> {
    match after {
        None => Vec::new(),
        Some((day, pin_id)) => {
            let mut key = day_key(*day, pin_id);
            key.push(0);
            key
        }
    }
}

#[async_trait]
impl Analytics for SledStore {
    async fn record_pin_days(&self, rows: &[PinDay]) -> StoreResult<()> {
        let rows = rows.to_vec();
        self.write(move |inner| record(inner, &rows, &[])).await
    }

    async fn pin_days(&self, from_day: i64, to_day: i64) -> StoreResult<Vec<PinDay>> {
        if from_day > to_day {
            return Ok(Vec::new());
        }
        self.read(move |inner| days(inner, time_bytes(from_day).to_vec(), to_day, usize::MAX))
            .await
    }

    async fn watch_pins(&self, pins: &[PinWatch]) -> StoreResult<usize> {
        let pins = pins.to_vec();
        self.write(move |inner| watch(inner, &pins)).await
    }

    async fn pin_watches(&self, account: &str) -> StoreResult<Vec<PinWatch>> {
        let account = account.to_string();
        self.read(move |inner| watches(inner, &account)).await
    }

    async fn record_collection(&self, rows: &[PinDay], watches: &[PinWatch]) -> StoreResult<()> {
        let (rows, watches) = (rows.to_vec(), watches.to_vec());
        self.write(move |inner| record(inner, &rows, &watches))
            .await
    }

    async fn try_lease_analytics(
        &self,
        account: &str,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        if self.inner.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        Ok(self
            .inner
            .coord
            .try_lease_source(&lease_name(account), holder, until, now))
    }

    async fn release_analytics(&self, account: &str, token: LeaseToken) -> StoreResult<()> {
        self.inner.coord.release_source(&lease_name(account), token);
        Ok(())
    }

    async fn export_pin_days(
        &self,
        after: Option<PinDayCursor>,
        limit: usize,
    ) -> StoreResult<Vec<PinDay>> {
        self.read(move |inner| days(inner, start_after(after.as_ref()), i64::MAX, limit))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_keys_sort_by_day_then_pin() {
        let mut keys = vec![
            day_key(3, "1"),
            day_key(-1, "9"),
            day_key(2, "2"),
            day_key(2, "10"),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                day_key(-1, "9"),
                day_key(2, "10"),
                day_key(2, "2"),
                day_key(3, "1")
            ]
        );
    }

    #[test]
    fn an_account_prefix_never_covers_a_longer_account() {
        assert!(!watch_key("ab", "1").starts_with(&account_prefix("a")));
        assert!(watch_key("a", "1").starts_with(&account_prefix("a")));
    }
}

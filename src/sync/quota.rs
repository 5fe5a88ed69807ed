//! An account's quota when several replicas share the store.
//!
//! Alone, a process paces its writes with its own token bucket and keeps the daily count and
//! rate-limit block in memory (restored from the store at start). With a shared store
//! ([`Store::shared`]) those limits must hold for all replicas together, so before each create
//! the engine reads the block and the daily count from the store, reserves the day's Pin there
//! atomically, and takes its write slot there. The slot spacing uses this process's AIMD rate,
//! so a 429 still halves it here, and the block it causes reaches every replica.

use std::time::Duration;

use super::account::{AccountRuntime, DailyCap, next_utc_day, utc_day};
use crate::clock::SharedClock;
use crate::store::{Millis, Store};

/// Take what other replicas recorded: a rate-limit block, the day's count.
pub(super) async fn refresh(store: &dyn Store, account: &AccountRuntime) {
    if !store.shared() {
        return;
    }
    match store.account_quota(&account.name).await {
        Ok(quota) => {
            if let Some(until) = quota.blocked_until {
                account.block_until(until);
            }
            if let Some(day) = quota.day {
                account.observe_day(day, quota.day_pins);
            }
        }
        Err(e) => {
            tracing::warn!(account = %account.name, error = %e, "Could not read the shared quota; using this replica's view.")
        }
    }
}

/// Count one create against the daily cap: in the store when it is shared, else in memory.
pub(super) async fn reserve_daily(
    store: &dyn Store,
    account: &AccountRuntime,
    now: Millis,
) -> DailyCap {
    if !store.shared() {
        return account.reserve_daily(now);
    }
    let day = utc_day(now);
    match store
        .reserve_daily_pin(&account.name, day, account.daily_cap())
        .await
    {
        Ok(Some(sent)) => {
            account.observe_day(day, sent);
            DailyCap::Reserved { day, sent }
        }
        Ok(None) => DailyCap::Full {
            until: next_utc_day(now),
        },
        Err(e) => {
            tracing::warn!(account = %account.name, error = %e, "Could not reserve in the shared daily count; counting in this replica.");
            account.reserve_daily(now)
        }
    }
}

/// Wait for a write slot: the shared one when the store is shared, else this process's
/// pacer. Returns `Some(until)` when, after a wait, the account turns out blocked (another
/// replica met a 429 meanwhile): the create must not be sent now.
pub(super) async fn until_write_allowed(
    store: &dyn Store,
    account: &AccountRuntime,
    clock: &SharedClock,
) -> Option<Millis> {
    if !store.shared() {
        account.until_write_allowed().await;
        return None;
    }
    let mut waited = false;
    loop {
        let now = clock.now_ms();
        let status = account.status(now);
        // Evenly spaced slots, no burst, a little slower than the rate: like the local pacer's
        // minute log, so no sliding minute sees more than `writes_per_minute` creates from all
        // replicas together (a burst of rate/6 let rate + rate/6 through, and 429s with it).
        let window = super::pacer::WINDOW.as_secs_f64();
        let margin = super::pacer::WINDOW_MARGIN.as_secs_f64();
        let per_minute = status.writes_per_minute * window / (window + margin);
        match store
            .take_write_slot(&account.name, per_minute, 1, now)
            .await
        {
            Ok(Ok(())) => break,
            Ok(Err(at)) => {
                waited = true;
                let wait = (at - now).clamp(1, 60_000) as u64;
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(e) => {
                tracing::warn!(account = %account.name, error = %e, "Could not take a shared write slot; pacing in this replica.");
                account.until_write_allowed().await;
                break;
            }
        }
    }
    if !waited {
        // The block was read at the start of this attempt, moments ago.
        return None;
    }
    metrics::counter!("pinbridge_rate_limit_waits_total", "account" => account.name.clone(), "kind" => "quota")
        .increment(1);
    refresh(store, account).await;
    let now = clock.now_ms();
    account.blocked_until().filter(|&t| t > now)
}

/// Make a 429's block known to every replica.
pub(super) async fn share_block(store: &dyn Store, account: &AccountRuntime, until: Millis) {
    if !store.shared() {
        return;
    }
    if let Err(e) = store.block_account(&account.name, until).await {
        tracing::error!(account = %account.name, error = %e, "Could not share the rate-limit block.");
    }
}

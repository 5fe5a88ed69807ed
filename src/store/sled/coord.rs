//! Replica coordination for the embedded store: source leases, write slots, daily
//! counts and blocks, kept in memory.
//!
//! sled is opened by one process at a time, so there is nobody to coordinate with across
//! processes: this is the same contract as the PostgreSQL tables, held for the process's
//! lifetime. The engine keeps its own durable copy of blocks and daily counts in
//! `AccountState`, so nothing here needs to survive a restart.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::store::{AccountQuota, LeaseToken, Millis, write_slot_spacing as slot_spacing};

#[derive(Default)]
pub(crate) struct Coordination {
    inner: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_token: u64,
    leases: HashMap<String, SourceLease>,
    quotas: HashMap<String, Quota>,
}

struct SourceLease {
    holder: String,
    token: LeaseToken,
    until: Millis,
}

#[derive(Default)]
struct Quota {
    /// The earliest time of the next slot when taken at the steady rate (GCRA's "theoretical
    /// arrival time").
    next_slot: Millis,
    shared: AccountQuota,
}

impl Coordination {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn try_lease_source(
        &self,
        source: &str,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> Option<LeaseToken> {
        let mut state = self.lock();
        if let Some(lease) = state.leases.get_mut(source)
            && lease.until > now
        {
            if lease.holder != holder {
                return None;
            }
            lease.until = until;
            return Some(lease.token);
        }
        state.last_token += 1;
        let token = LeaseToken(state.last_token);
        state.leases.insert(
            source.to_string(),
            SourceLease {
                holder: holder.to_string(),
                token,
                until,
            },
        );
        Some(token)
    }

    pub(crate) fn release_source(&self, source: &str, token: LeaseToken) {
        let mut state = self.lock();
        if state.leases.get(source).is_some_and(|l| l.token == token) {
            state.leases.remove(source);
        }
    }

    pub(crate) fn take_write_slot(
        &self,
        account: &str,
        per_minute: f64,
        burst: u32,
        now: Millis,
    ) -> Result<(), Millis> {
        let (interval, tolerance) = slot_spacing(per_minute, burst);
        let mut state = self.lock();
        let quota = state.quotas.entry(account.to_string()).or_default();
        let next = quota.next_slot.max(now);
        if next > now.saturating_add(tolerance) {
            return Err(next - tolerance);
        }
        quota.next_slot = next + interval;
        Ok(())
    }

    pub(crate) fn reserve_daily_pin(&self, account: &str, day: i64, cap: u32) -> Option<u32> {
        let mut state = self.lock();
        let quota = &mut state.quotas.entry(account.to_string()).or_default().shared;
        if quota.day != Some(day) {
            quota.day = Some(day);
            quota.day_pins = 0;
        }
        if quota.day_pins >= cap {
            return None;
        }
        quota.day_pins += 1;
        Some(quota.day_pins)
    }

    pub(crate) fn block_account(&self, account: &str, until: Millis) {
        let mut state = self.lock();
        let quota = &mut state.quotas.entry(account.to_string()).or_default().shared;
        quota.blocked_until = Some(quota.blocked_until.unwrap_or(until).max(until));
    }

    pub(crate) fn account_quota(&self, account: &str) -> AccountQuota {
        self.lock()
            .quotas
            .get(account)
            .map(|q| q.shared.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_spacing_follows_the_rate_and_burst() {
        assert_eq!(slot_spacing(60.0, 1), (1000, 0));
        assert_eq!(slot_spacing(60.0, 10), (1000, 9000));
        // A rate that does not divide a minute rounds the spacing up (never faster).
        assert_eq!(slot_spacing(7.0, 1), (8572, 0));
        assert_eq!(slot_spacing(1_000_000.0, 2), (1, 1));
    }

    #[test]
    fn nonsense_rates_pace_at_one_a_minute() {
        for rate in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            assert_eq!(slot_spacing(rate, 0), (60_000, 0), "{rate}");
        }
    }

    #[test]
    fn a_lease_on_one_source_leaves_others_free() {
        let coord = Coordination::default();
        let a = coord.try_lease_source("a", "x", 100, 0).unwrap();
        let b = coord.try_lease_source("b", "y", 100, 0).unwrap();
        assert_ne!(a, b);
        assert_eq!(coord.try_lease_source("a", "y", 100, 50), None);
        assert_eq!(
            coord.try_lease_source("a", "y", 200, 100).map(|t| t > b),
            Some(true)
        );
    }
}

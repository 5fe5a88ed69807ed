//! Etsy's request budget: 10 requests a second and 10,000 in a sliding 24 hours per API key by
//! default. Every Etsy source using one key shares one [`Budget`], so
//! ten shops on one key together stay within the key's limits.
//!
//! The per-second limit waits; the daily one refuses (the poll fails and is retried after the
//! oldest request leaves the window). A 429 blocks the key until its `Retry-After`; an
//! `x-remaining-today: 0` from Etsy (which also counts calls made by other programs with the
//! same key) refuses further calls for an hour.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::error::ShopError;

const SECOND: Duration = Duration::from_secs(1);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// How long to stop after Etsy reports no calls left today (its window moves in 2 h buckets).
const EXHAUSTED_PAUSE: Duration = Duration::from_secs(60 * 60);

/// One API key's limits and what has been spent.
#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    per_second: u32,
    per_day: u32,
    /// Start times of the requests of the last second and the last day.
    second: VecDeque<Instant>,
    day: VecDeque<Instant>,
    /// After a 429: nothing before this.
    blocked_until: Option<Instant>,
    /// Etsy said the day's quota is gone: refuse until this.
    exhausted_until: Option<Instant>,
    /// The last `x-remaining-today` Etsy reported.
    remaining_today: Option<i64>,
}

impl Budget {
    pub fn new(per_second: u32, per_day: u32) -> Self {
        Self {
            state: Mutex::new(State {
                per_second: per_second.max(1),
                per_day: per_day.max(1),
                second: VecDeque::new(),
                day: VecDeque::new(),
                blocked_until: None,
                exhausted_until: None,
                remaining_today: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take one request from the budget, waiting for the per-second window or a 429 block.
    /// Fails when the day's budget is spent.
    pub async fn acquire(&self) -> Result<(), ShopError> {
        loop {
            match self.try_take(Instant::now())? {
                None => return Ok(()),
                Some(wait) => tokio::time::sleep(wait.max(Duration::from_millis(1))).await,
            }
        }
    }

    /// Take one request at `now` (`None`), or say how long to wait first (`Some`).
    fn try_take(&self, now: Instant) -> Result<Option<Duration>, ShopError> {
        let mut s = self.lock();
        while s.day.front().is_some_and(|t| now.duration_since(*t) >= DAY) {
            s.day.pop_front();
        }
        while s
            .second
            .front()
            .is_some_and(|t| now.duration_since(*t) >= SECOND)
        {
            s.second.pop_front();
        }
        if let Some(until) = s.exhausted_until.filter(|u| *u > now) {
            return Err(ShopError::Budget {
                detail: "Etsy reports no requests left today for this API key".into(),
                retry_in: until - now,
            });
        }
        if s.day.len() >= s.per_day as usize {
            let oldest = s.day.front().copied().unwrap_or(now);
            return Err(ShopError::Budget {
                detail: format!(
                    "{} requests in 24 h, the limit of `requests_per_day`",
                    s.per_day
                ),
                retry_in: (oldest + DAY).saturating_duration_since(now),
            });
        }
        if let Some(until) = s.blocked_until.filter(|u| *u > now) {
            return Ok(Some(until - now));
        }
        if s.second.len() >= s.per_second as usize {
            let oldest = s.second.front().copied().unwrap_or(now);
            return Ok(Some((oldest + SECOND).saturating_duration_since(now)));
        }
        s.second.push_back(now);
        s.day.push_back(now);
        Ok(None)
    }

    /// Etsy answered 429: no request on this key before `wait` has passed.
    pub fn block_for(&self, wait: Duration) {
        self.block_at(Instant::now(), wait);
    }

    fn block_at(&self, now: Instant, wait: Duration) {
        let mut s = self.lock();
        let until = now + wait;
        s.blocked_until = Some(s.blocked_until.map_or(until, |u| u.max(until)));
    }

    /// Read Etsy's quota headers from a response.
    pub fn observe(&self, headers: &HeaderMap) {
        self.observe_at(Instant::now(), headers);
    }

    fn observe_at(&self, now: Instant, headers: &HeaderMap) {
        let remaining = headers
            .get("x-remaining-today")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        if let Some(remaining) = remaining {
            let mut s = self.lock();
            s.remaining_today = Some(remaining);
            if remaining <= 0 {
                s.exhausted_until = Some(now + EXHAUSTED_PAUSE);
            }
        }
    }

    /// The last `x-remaining-today` Etsy reported.
    pub fn remaining_today(&self) -> Option<i64> {
        self.lock().remaining_today
    }

    /// Requests made in the last 24 hours.
    pub fn used_today(&self) -> usize {
        let mut s = self.lock();
        let now = Instant::now();
        while s.day.front().is_some_and(|t| now.duration_since(*t) >= DAY) {
            s.day.pop_front();
        }
        s.day.len()
    }

    /// Keep the stricter of the current limits and these (two sources, one key).
    fn tighten(&self, per_second: u32, per_day: u32) {
        let mut s = self.lock();
        s.per_second = s.per_second.min(per_second.max(1));
        s.per_day = s.per_day.min(per_day.max(1));
    }
}

/// The budgets of every Etsy API key in use. Cheap to clone; clones share the budgets.
#[derive(Clone, Debug, Default)]
pub struct EtsyBudgets {
    // Keyed by a digest of the key, so the key itself is not kept twice or shown in a Debug.
    budgets: Arc<Mutex<HashMap<[u8; 32], Arc<Budget>>>>,
}

impl EtsyBudgets {
    /// The budget of `api_key`, created on first use; a second source with stricter limits
    /// tightens it.
    pub fn for_key(&self, api_key: &str, per_second: u32, per_day: u32) -> Arc<Budget> {
        let digest: [u8; 32] = Sha256::digest(api_key.as_bytes()).into();
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        let budget = budgets
            .entry(digest)
            .or_insert_with(|| Arc::new(Budget::new(per_second, per_day)))
            .clone();
        budget.tighten(per_second, per_day);
        budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Take requests at `now`, stepping the time by each wait asked for, as `acquire` does.
    fn take(budget: &Budget, now: &mut Instant) -> Result<(), ShopError> {
        while let Some(wait) = budget.try_take(*now)? {
            *now += wait;
        }
        Ok(())
    }

    #[test]
    fn per_second_limit_spaces_requests() {
        let budget = Budget::new(3, 100);
        let mut now = Instant::now();
        let mut times = Vec::new();
        for _ in 0..7 {
            take(&budget, &mut now).expect("within the day");
            times.push(now);
        }
        // Any window of one second holds at most three requests.
        for w in times.windows(4) {
            assert!(w[3] - w[0] >= SECOND, "{times:?}");
        }
        assert_eq!(times[2], times[0], "three at once are allowed");
        assert_eq!(budget.lock().day.len(), 7);
    }

    #[test]
    fn daily_limit_refuses_until_the_oldest_request_leaves_the_window() {
        let budget = Budget::new(10, 2);
        let mut now = Instant::now();
        take(&budget, &mut now).unwrap();
        take(&budget, &mut now).unwrap();
        let err = take(&budget, &mut now).expect_err("over the day");
        assert!(err.to_string().contains("requests_per_day"), "{err}");
        assert_eq!(err.retry_after(), Some(DAY));
        now += DAY;
        take(&budget, &mut now).expect("the window moved");
    }

    #[test]
    fn a_429_blocks_the_key_and_etsy_zero_remaining_refuses() {
        let budget = Budget::new(10, 100);
        let now = Instant::now();
        budget.block_at(now, Duration::from_secs(30));
        assert_eq!(budget.try_take(now).unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(
            budget.try_take(now + Duration::from_secs(30)).unwrap(),
            None
        );

        let mut headers = HeaderMap::new();
        headers.insert("x-remaining-today", "0".parse().unwrap());
        budget.observe_at(now, &headers);
        assert_eq!(budget.remaining_today(), Some(0));
        let err = budget.try_take(now).expect_err("exhausted");
        assert!(err.to_string().contains("no requests left"), "{err}");
        assert_eq!(budget.try_take(now + EXHAUSTED_PAUSE).unwrap(), None);
    }

    #[test]
    fn sources_sharing_a_key_share_the_stricter_budget() {
        let budgets = EtsyBudgets::default();
        let a = budgets.for_key("key:secret", 10, 10_000);
        let b = budgets.for_key("key:secret", 5, 20_000);
        let c = budgets.for_key("other:secret", 10, 10_000);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let s = a.lock();
        assert_eq!((s.per_second, s.per_day), (5, 10_000));
    }
}

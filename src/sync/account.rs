//! One Pinterest account as the engine uses it: its API client, its write pacer, its daily Pin
//! cap, its board directory, its rate-limit block, and whether its jobs are held.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::Serialize;

use super::boards::BoardDirectory;
use super::pacer::Pacer;
use crate::pinterest::PinterestClient;
use crate::store::{AccountState, Millis};

const DAY_MS: i64 = 86_400_000;

/// The UTC day number of `t` (days since the Unix epoch).
pub fn utc_day(t: Millis) -> i64 {
    t.div_euclid(DAY_MS)
}

/// The first millisecond of the UTC day after the one holding `t`.
pub fn next_utc_day(t: Millis) -> Millis {
    (utc_day(t) + 1) * DAY_MS
}

/// How an account stands, for readiness, metrics and `status` output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountStatus {
    pub name: String,
    /// No calls before this time (after a 429 or a spam pause).
    pub blocked_until: Option<Millis>,
    /// Why the account cannot work (needs `pinbridge auth`, paused for spam, …).
    pub problem: Option<String>,
    /// The write rate in use now: the configured one, or less after 429s (AIMD).
    pub writes_per_minute: f64,
    pub configured_writes_per_minute: u32,
    pub pins_today: u32,
    pub daily_cap: u32,
}

/// Pins sent today, against the daily cap.
#[derive(Debug, Default)]
struct DayCount {
    day: i64,
    sent: u32,
}

pub struct AccountRuntime {
    pub name: String,
    pub client: PinterestClient,
    /// Pinterest's write quota (org_write) as an adaptive token bucket, so 429s stay rare.
    pacer: Pacer,
    daily_cap: u32,
    today: Mutex<DayCount>,
    problem: Mutex<Option<String>>,
    pub boards: BoardDirectory,
    /// No calls before this time (after a 429), mirrored in the store's account state.
    blocked_until: AtomicI64,
    /// Why the account's jobs are held (it needs attention). Only in memory, on purpose: an
    /// account built anew (restart, changed config or token) sends one job to find out whether
    /// the problem is gone, and is held again after that one if not.
    hold: Mutex<Option<String>>,
    /// The last 403 (code and message) and how many jobs in a row got it.
    same_403: Mutex<Option<(String, u32)>>,
}

/// Whether a create may be sent under the daily cap.
#[derive(Debug, PartialEq, Eq)]
pub enum DailyCap {
    /// Reserved; `sent` Pins (this one included) are now counted for the day.
    Reserved { day: i64, sent: u32 },
    /// The cap is reached: wait until this time (the next UTC day).
    Full { until: Millis },
}

impl AccountRuntime {
    pub fn new(
        name: String,
        client: PinterestClient,
        writes_per_minute: u32,
        daily_cap: u32,
    ) -> Self {
        Self {
            name,
            client,
            pacer: Pacer::new(writes_per_minute),
            daily_cap,
            today: Mutex::new(DayCount::default()),
            problem: Mutex::new(None),
            boards: BoardDirectory::default(),
            blocked_until: AtomicI64::new(0),
            hold: Mutex::new(None),
            same_403: Mutex::new(None),
        }
    }

    /// Take what a previous process persisted: the block, the problem, today's count.
    pub fn restore(&self, state: &AccountState) {
        if let Some(until) = state.blocked_until {
            self.block_until(until);
        }
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = state.problem.clone();
        if let Some(day) = state.day {
            let mut today = self.today.lock().unwrap_or_else(|p| p.into_inner());
            if day >= today.day {
                *today = DayCount {
                    day,
                    sent: state.day_pins,
                };
            }
        }
    }

    /// Wait for a write token.
    pub async fn until_write_allowed(&self) {
        if self.pacer.acquire().await {
            metrics::counter!("pinbridge_rate_limit_waits_total", "account" => self.name.clone(), "kind" => "quota")
                .increment(1);
        }
    }

    /// Pinterest answered 429: halve the write rate.
    pub fn slow_down(&self) {
        self.pacer.decrease();
    }

    /// A write succeeded: creep back toward the configured rate.
    pub fn write_succeeded(&self) {
        self.pacer.increase();
    }

    /// Count one create against the day's cap, or say when the cap frees up.
    pub fn reserve_daily(&self, now: Millis) -> DailyCap {
        let mut today = self.today.lock().unwrap_or_else(|p| p.into_inner());
        let day = utc_day(now);
        if today.day != day {
            *today = DayCount { day, sent: 0 };
        }
        if today.sent >= self.daily_cap {
            return DailyCap::Full {
                until: next_utc_day(now),
            };
        }
        today.sent += 1;
        DailyCap::Reserved {
            day,
            sent: today.sent,
        }
    }

    pub fn daily_cap(&self) -> u32 {
        self.daily_cap
    }

    /// Take the day's count as the shared store has it (other replicas count too).
    pub fn observe_day(&self, day: i64, sent: u32) {
        let mut today = self.today.lock().unwrap_or_else(|p| p.into_inner());
        if day > today.day || (day == today.day && sent > today.sent) {
            *today = DayCount { day, sent };
        }
    }

    pub fn blocked_until(&self) -> Option<Millis> {
        match self.blocked_until.load(Ordering::SeqCst) {
            0 => None,
            t => Some(t),
        }
    }

    pub fn block_until(&self, until: Millis) {
        self.blocked_until.fetch_max(until, Ordering::SeqCst);
    }

    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Set or clear the problem; returns whether it changed.
    pub fn set_problem(&self, problem: Option<String>) -> bool {
        let mut current = self.problem.lock().unwrap_or_else(|p| p.into_inner());
        let changed = *current != problem;
        *current = problem;
        changed
    }

    /// Why the account's jobs are held, if they are.
    pub fn held(&self) -> Option<String> {
        self.hold.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Hold (with `Some(reason)`) or release the account's jobs; returns whether it changed.
    pub fn set_hold(&self, reason: Option<String>) -> bool {
        let mut current = self.hold.lock().unwrap_or_else(|p| p.into_inner());
        let changed = *current != reason;
        *current = reason;
        changed
    }

    /// A job got the 403 `key`: how many jobs in a row (this one included) got the same.
    pub fn note_403(&self, key: String) -> u32 {
        let mut last = self.same_403.lock().unwrap_or_else(|p| p.into_inner());
        let count = match last.take() {
            Some((previous, n)) if previous == key => n + 1,
            _ => 1,
        };
        *last = Some((key, count));
        count
    }

    /// Something went through: a later 403 starts a new run.
    pub fn clear_403s(&self) {
        *self.same_403.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn status(&self, now: Millis) -> AccountStatus {
        let today = self.today.lock().unwrap_or_else(|p| p.into_inner());
        AccountStatus {
            name: self.name.clone(),
            blocked_until: self.blocked_until().filter(|&t| t > now),
            problem: self.problem(),
            writes_per_minute: self.pacer.rate_per_minute(),
            configured_writes_per_minute: self.pacer.configured(),
            pins_today: if today.day == utc_day(now) {
                today.sent
            } else {
                0
            },
            daily_cap: self.daily_cap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_days_roll_over_at_midnight() {
        let t = 1_790_000_000_000; // 2026-09-21T14:13:20Z
        assert_eq!(next_utc_day(t) % DAY_MS, 0);
        assert!(next_utc_day(t) > t && next_utc_day(t) - t <= DAY_MS);
        assert_eq!(utc_day(next_utc_day(t)), utc_day(t) + 1);
        assert_eq!(utc_day(next_utc_day(t) - 1), utc_day(t));
    }
}

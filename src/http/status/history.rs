//! The backlog over the last day, for the status page's chart: one sample every
//! [`SAMPLE_EVERY_MS`] into a ring of [`SAMPLES`] points (24 h), taken from the store's kept
//! counts (constant cost at any store size).
//!
//! Kept in memory only: a restart starts the history anew (the page says so). A background
//! task ([`sample_backlog`]) takes the samples; rendering the page also takes one when the last
//! is older than the interval, so the chart is current even between ticks.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::{Millis, SharedClock};
use crate::store::{Store, StoreStats};

/// Time between two samples.
pub const SAMPLE_EVERY_MS: Millis = 5 * 60 * 1000;
/// Samples kept: a day at one every five minutes.
pub const SAMPLES: usize = 288;

/// Jobs not finished yet: waiting, retrying, running or waiting to reconcile.
pub fn backlog(stats: &StoreStats) -> u64 {
    ["pending", "retry", "leased", "unknown"]
        .iter()
        .filter_map(|state| stats.jobs_by_state.get(*state))
        .sum()
}

/// The ring of (time, backlog) samples, oldest first.
#[derive(Default)]
pub struct BacklogHistory {
    samples: Mutex<VecDeque<(Millis, u64)>>,
}

impl BacklogHistory {
    /// Record `backlog` at `now` unless the last sample is younger than the interval. Returns
    /// whether it was recorded. The oldest sample makes room past [`SAMPLES`].
    pub fn record(&self, now: Millis, backlog: u64) -> bool {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples
            .back()
            .is_some_and(|(at, _)| now.saturating_sub(*at) < SAMPLE_EVERY_MS)
        {
            return false;
        }
        if samples.len() >= SAMPLES {
            samples.pop_front();
        }
        samples.push_back((now, backlog));
        true
    }

    /// Every kept sample, oldest first.
    pub fn samples(&self) -> Vec<(Millis, u64)> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.iter().copied().collect()
    }
}

/// Sample the backlog every interval until `shutdown`. A store error skips that sample.
pub async fn sample_backlog(
    store: Arc<dyn Store>,
    clock: SharedClock,
    history: Arc<BacklogHistory>,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(Duration::from_millis(SAMPLE_EVERY_MS as u64));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match store.stats().await {
            Ok(stats) => {
                history.record(clock.now_ms(), backlog(&stats));
            }
            Err(e) => tracing::debug!(error = %e, "No backlog sample this time."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_interval_and_at_most_a_day_of_them() {
        let history = BacklogHistory::default();
        assert!(history.record(0, 5));
        assert!(!history.record(SAMPLE_EVERY_MS - 1, 6), "too soon");
        assert!(history.record(SAMPLE_EVERY_MS, 7));
        assert_eq!(history.samples(), vec![(0, 5), (SAMPLE_EVERY_MS, 7)]);
        for i in 2..(SAMPLES as i64 + 10) {
            history.record(i * SAMPLE_EVERY_MS, i as u64);
        }
        let samples = history.samples();
        assert_eq!(samples.len(), SAMPLES);
        assert_eq!(
            samples.last(),
            Some(&((SAMPLES as i64 + 9) * SAMPLE_EVERY_MS, SAMPLES as u64 + 9))
        );
        assert_eq!(samples[0].0, 10 * SAMPLE_EVERY_MS, "the oldest made room");
    }

    #[test]
    fn the_backlog_counts_unfinished_jobs_only() {
        let mut stats = StoreStats::default();
        for (state, n) in [
            ("pending", 3),
            ("retry", 2),
            ("leased", 1),
            ("unknown", 4),
            ("done", 100),
            ("dead", 7),
        ] {
            stats.jobs_by_state.insert(state.into(), n);
        }
        assert_eq!(backlog(&stats), 10);
    }
}

//! When to poll a source next (feeds and shops; the examples are a feed's).
//!
//! After a success: the longest of our interval and the publisher's hints (RSS `<ttl>`,
//! `Cache-Control: max-age`, `Expires`, `Retry-After`), clamped to [floor, ceiling], then spread
//! by the jitter so feeds do not fire in lockstep. After an error: exponential backoff from the
//! interval (interval · 2^(n-1), capped at the ceiling), never sooner than a `Retry-After`.
//!
//! With `adaptive = true` the interval itself comes from how often the feed publishes
//! ([`Frequency`], like Miniflux's "entry frequency" scheduler): busy feeds move towards the
//! floor, quiet ones towards the ceiling; the publisher's hints still win when they say later.

use std::collections::BTreeMap;
use std::time::Duration;

/// The schedule-relevant settings of one feed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub interval: Duration,
    /// Fraction of each wait to spread by (0.1 = ±10 %).
    pub jitter: f64,
    /// No hint or setting brings a poll sooner than this (politeness floor).
    pub floor: Duration,
    /// No hint or backoff pushes a poll later than this.
    pub ceiling: Duration,
}

/// What the publisher said about freshness, each as a delay from now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    pub ttl: Option<Duration>,
    pub max_age: Option<Duration>,
    pub expires_in: Option<Duration>,
    pub retry_after: Option<Duration>,
}

impl Schedule {
    /// The wait after a successful poll, before jitter.
    pub fn after_success(&self, hints: &Hints) -> Duration {
        self.after_success_from(self.interval, hints)
    }

    /// [`Self::after_success`] from `base` instead of the configured interval (the adaptive
    /// interval): hints can only make the wait longer, and the clamp still applies.
    pub fn after_success_from(&self, base: Duration, hints: &Hints) -> Duration {
        let hinted = [
            hints.ttl,
            hints.max_age,
            hints.expires_in,
            hints.retry_after,
        ]
        .into_iter()
        .flatten()
        .fold(base, Duration::max);
        self.clamp(hinted)
    }

    /// The interval a feed's publishing frequency suggests, within [floor, ceiling]:
    /// - nothing observed yet: the configured interval (no evidence either way);
    /// - nothing within the last week, or a single item: a week (so, usually, the ceiling);
    /// - else the mean gap between the observed items in the week, counting the silence since
    ///   the newest one: (now − oldest) / count. Over a full week of history this is Miniflux's
    ///   `7 days / weekly entry count`; it also reads a feed that only shows its last few items.
    pub fn adaptive_interval(&self, frequency: &Frequency, now: i64) -> Duration {
        if frequency.is_empty() {
            return self.clamp(self.interval);
        }
        let recent: Vec<i64> = frequency.within(WEEK, now).collect();
        let estimate = match recent.as_slice() {
            [] | [_] => WEEK,
            [oldest, ..] => {
                let span = u64::try_from(now.saturating_sub(*oldest)).unwrap_or(0);
                Duration::from_millis(span / recent.len() as u64)
            }
        };
        self.clamp(estimate)
    }

    /// The wait after the `errors`-th consecutive failure (1 = first), before jitter.
    pub fn after_error(&self, errors: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = errors.saturating_sub(1).min(30);
        let backoff = self
            .interval
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.ceiling)
            .min(self.ceiling);
        let backoff = retry_after.map_or(backoff, |r| backoff.max(r));
        self.clamp(backoff.max(self.interval))
    }

    fn clamp(&self, wait: Duration) -> Duration {
        wait.max(self.floor).min(self.ceiling.max(self.floor))
    }

    /// Spread `wait` by the jitter; `unit` is a random number in [-1, 1].
    pub fn jittered(&self, wait: Duration, unit: f64) -> Duration {
        let factor = 1.0 + self.jitter.clamp(0.0, 1.0) * unit.clamp(-1.0, 1.0);
        Duration::from_secs_f64((wait.as_secs_f64() * factor).max(0.0))
    }

    /// [`Self::jittered`] with a fresh random number.
    pub fn jitter_now(&self, wait: Duration) -> Duration {
        use rand::Rng;
        self.jittered(wait, rand::rng().random_range(-1.0..=1.0))
    }
}

const WEEK: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How many item times a feed keeps for its frequency estimate (newest win).
pub const FREQUENCY_KEEP: usize = 100;

/// The `SourceState.extra` key holding the observed item times (comma-separated ms).
pub const FREQUENCY_KEY: &str = "adaptive.item_times";

/// When a feed's new items were published (or first seen, for items without a date), newest
/// last, at most [`FREQUENCY_KEEP`]. Persisted in `SourceState.extra` so a restart keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frequency {
    times: Vec<i64>,
}

impl Frequency {
    /// Read from a source's extras; a damaged entry is ignored (the estimate starts over).
    pub fn from_extra(extra: &BTreeMap<String, String>) -> Self {
        let mut times: Vec<i64> = extra
            .get(FREQUENCY_KEY)
            .map(|v| v.split(',').filter_map(|t| t.trim().parse().ok()).collect())
            .unwrap_or_default();
        times.sort_unstable();
        Self { times }
    }

    pub fn to_extra(&self, extra: &mut BTreeMap<String, String>) {
        let list: Vec<String> = self.times.iter().map(i64::to_string).collect();
        extra.insert(FREQUENCY_KEY.to_string(), list.join(","));
    }

    /// Record new items' times. A date in the future (clock skew, scheduled posts) counts as
    /// now, so it cannot make the feed look busier than it is.
    pub fn observe(&mut self, times: impl IntoIterator<Item = i64>, now: i64) {
        self.times.extend(times.into_iter().map(|t| t.min(now)));
        self.times.sort_unstable();
        let excess = self.times.len().saturating_sub(FREQUENCY_KEEP);
        self.times.drain(..excess);
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The times within `window` before `now`, oldest first.
    fn within(&self, window: Duration, now: i64) -> impl Iterator<Item = i64> + '_ {
        let since = now.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
        self.times.iter().copied().filter(move |t| *t > since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn schedule() -> Schedule {
        Schedule {
            interval: 15 * MIN,
            jitter: 0.1,
            floor: 5 * MIN,
            ceiling: 24 * 60 * MIN,
        }
    }

    #[test]
    fn longest_hint_wins_within_the_clamp() {
        let s = schedule();
        assert_eq!(s.after_success(&Hints::default()), 15 * MIN);
        let hints = Hints {
            ttl: Some(60 * MIN),
            max_age: Some(30 * MIN),
            ..Hints::default()
        };
        assert_eq!(s.after_success(&hints), 60 * MIN);
        let huge = Hints {
            expires_in: Some(90 * 24 * 60 * MIN),
            ..Hints::default()
        };
        assert_eq!(s.after_success(&huge), 24 * 60 * MIN);
        let tiny = Schedule {
            interval: MIN,
            ..schedule()
        };
        assert_eq!(tiny.after_success(&Hints::default()), 5 * MIN);
    }

    #[test]
    fn errors_back_off_exponentially_up_to_the_ceiling() {
        let s = schedule();
        assert_eq!(s.after_error(1, None), 15 * MIN);
        assert_eq!(s.after_error(2, None), 30 * MIN);
        assert_eq!(s.after_error(3, None), 60 * MIN);
        assert_eq!(s.after_error(40, None), 24 * 60 * MIN);
        assert_eq!(s.after_error(1, Some(120 * MIN)), 120 * MIN);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let s = schedule();
        assert_eq!(s.jittered(100 * MIN, 1.0), 110 * MIN);
        assert_eq!(s.jittered(100 * MIN, -1.0), 90 * MIN);
        for _ in 0..100 {
            let w = s.jitter_now(100 * MIN);
            assert!(w >= 90 * MIN && w <= 110 * MIN, "{w:?}");
        }
    }

    const HOUR_MS: i64 = 3_600_000;
    const NOW: i64 = 1_800_000_000_000;

    fn seen(hours_ago: &[i64]) -> Frequency {
        let mut f = Frequency::default();
        f.observe(hours_ago.iter().map(|h| NOW - h * HOUR_MS), NOW);
        f
    }

    #[test]
    fn adaptive_follows_the_publishing_rate_between_floor_and_ceiling() {
        let s = schedule();
        // Nothing known: the configured interval.
        assert_eq!(s.adaptive_interval(&Frequency::default(), NOW), 15 * MIN);
        // Ten items, one an hour: an hour.
        let hourly: Vec<i64> = (1..=10).collect();
        assert_eq!(s.adaptive_interval(&seen(&hourly), NOW), 60 * MIN);
        // One every 10 minutes: 10 minutes (above the 5-minute floor).
        let mut busy = Frequency::default();
        busy.observe((1..=6).map(|i| NOW - i * 10 * 60_000), NOW);
        assert_eq!(s.adaptive_interval(&busy, NOW), 10 * MIN);
        // A burst of items a minute apart goes no lower than the floor.
        let mut burst = Frequency::default();
        burst.observe((1..=20).map(|m| NOW - m * 60_000), NOW);
        assert_eq!(s.adaptive_interval(&burst, NOW), 5 * MIN);
        // Fourteen items this week, one every ten hours: ten hours.
        let steady: Vec<i64> = (1..=14).map(|i| i * 10).collect();
        assert_eq!(s.adaptive_interval(&seen(&steady), NOW), 10 * 60 * MIN);
        // Nothing for a month, or a single item this week: the ceiling (a week, clamped).
        assert_eq!(
            s.adaptive_interval(&seen(&[24 * 30, 24 * 31]), NOW),
            24 * 60 * MIN
        );
        assert_eq!(s.adaptive_interval(&seen(&[5]), NOW), 24 * 60 * MIN);
    }

    #[test]
    fn a_feed_that_stops_publishing_slows_down() {
        let s = schedule();
        // Hourly for ten hours, then silence: the estimate stretches with the silence.
        let stopped: Vec<i64> = (1..=10).map(|h| h + 30).collect();
        let quiet = s.adaptive_interval(&seen(&stopped), NOW);
        assert_eq!(quiet, 4 * 60 * MIN); // (40 h since the oldest) / 10
        assert!(quiet > s.adaptive_interval(&seen(&(1..=10).collect::<Vec<_>>()), NOW));
    }

    #[test]
    fn hints_still_win_over_a_short_adaptive_interval() {
        let s = schedule();
        let hourly = s.adaptive_interval(&seen(&(1..=10).collect::<Vec<_>>()), NOW);
        let hints = Hints {
            ttl: Some(180 * MIN),
            ..Hints::default()
        };
        assert_eq!(s.after_success_from(hourly, &hints), 180 * MIN);
        let retry = Hints {
            retry_after: Some(90 * MIN),
            ..Hints::default()
        };
        assert_eq!(s.after_success_from(hourly, &retry), 90 * MIN);
        assert_eq!(s.after_success_from(hourly, &Hints::default()), 60 * MIN);
    }

    #[test]
    fn frequency_round_trips_through_extras_and_keeps_the_newest() {
        let mut f = Frequency::default();
        f.observe((0..150).map(|i| NOW - i * HOUR_MS), NOW);
        // A date in the future counts as now.
        f.observe([NOW + 10 * HOUR_MS], NOW);
        let mut extra = BTreeMap::new();
        f.to_extra(&mut extra);
        let back = Frequency::from_extra(&extra);
        assert_eq!(back, f);
        assert_eq!(back.times.len(), FREQUENCY_KEEP);
        assert_eq!(back.times.last(), Some(&NOW));
        assert_eq!(back.times.first(), Some(&(NOW - 98 * HOUR_MS)));
        // Damage is ignored, not fatal.
        extra.insert(FREQUENCY_KEY.into(), "12,x,,-3".into());
        assert_eq!(Frequency::from_extra(&extra).times, vec![-3, 12]);
        assert!(Frequency::from_extra(&BTreeMap::new()).is_empty());
    }
}

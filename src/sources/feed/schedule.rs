//! When to poll a feed next.
//!
//! After a success: the longest of our interval and the publisher's hints (RSS `<ttl>`,
//! `Cache-Control: max-age`, `Expires`, `Retry-After`), clamped to [floor, ceiling], then spread
//! by the jitter so feeds do not fire in lockstep. After an error: exponential backoff from the
//! interval (interval · 2^(n-1), capped at the ceiling), never sooner than a `Retry-After`.

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
        let hinted = [
            hints.ttl,
            hints.max_age,
            hints.expires_in,
            hints.retry_after,
        ]
        .into_iter()
        .flatten()
        .fold(self.interval, Duration::max);
        self.clamp(hinted)
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
}

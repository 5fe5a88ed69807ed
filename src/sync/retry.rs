//! When to try a failed job again: exponential backoff with full jitter and a cap.
//!
//! `delay = random(0, min(cap, base · 2^attempt))` (AWS "full jitter"), never less than a small
//! floor so a burst of failures cannot spin. Server-sent `Retry-After` wins when it is later.

use std::time::Duration;

use rand::Rng;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The floor under every jittered delay.
    const FLOOR: Duration = Duration::from_millis(250);

    /// The delay before attempt `attempt + 1`, given `attempt` failures so far (1-based).
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(attempt);
        let jittered = rng.random_range(0..=ceiling.as_millis() as u64);
        Duration::from_millis(jittered).max(Self::FLOOR.min(ceiling))
    }

    /// The upper bound of the jitter window for `attempt`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(3600),
        };
        assert_eq!(b.ceiling(1), Duration::from_secs(5));
        assert_eq!(b.ceiling(2), Duration::from_secs(10));
        assert_eq!(b.ceiling(5), Duration::from_secs(80));
        assert_eq!(b.ceiling(40), Duration::from_secs(3600));
    }

    #[test]
    fn jitter_stays_within_the_window() {
        let b = Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(60),
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..20 {
            for _ in 0..50 {
                let d = b.delay(attempt, &mut rng);
                assert!(d <= b.ceiling(attempt), "{d:?} > {:?}", b.ceiling(attempt));
                assert!(d >= Duration::from_millis(250));
            }
        }
    }
}

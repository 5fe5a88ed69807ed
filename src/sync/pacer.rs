//! An adaptive token bucket for one account's writes (AIMD).
//!
//! It starts at the configured writes per minute, with a burst of a sixth of it so a backlog
//! does not empty the minute's quota at once. A 429 halves the rate (never below one a
//! minute); every successful write adds back a twentieth of the configured rate, so the full
//! rate returns after a few dozen clean writes.
//!
//! The bucket alone lets `rate + burst` writes into one minute, and Pinterest (like the sandbox)
//! counts a sliding minute: so a log of recent writes also keeps any minute (plus a margin for
//! the requests' travel time) at or under the configured quota. Without it a backlog gets a 429
//! every minute at `writes_per_minute = Q` (measured: docs/BENCHMARKS.md, quota pacing).
//!
//! When `writes_per_minute` is above the real quota, the 429s teach a lower ceiling for that
//! log ([`LearnedCeiling`]), and the additive increase stops there instead of probing back up
//! into 429s every minute.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::ceiling::LearnedCeiling;
use crate::store::Millis;

/// The quota's window, and the margin for a request's travel time: the server counts a write
/// when it arrives, which may be a little after it was sent.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
pub(crate) const WINDOW_MARGIN: Duration = Duration::from_millis(500);

struct Bucket {
    /// Writes per minute now.
    rate: f64,
    tokens: f64,
    last: Instant,
    /// When the writes of the last window were let through (at most the current limit).
    sent: VecDeque<Instant>,
    ceiling: LearnedCeiling,
}

pub struct Pacer {
    configured: u32,
    /// Where the ceiling's milliseconds count from.
    epoch: Instant,
    burst: f64,
    bucket: Mutex<Bucket>,
}

impl Pacer {
    pub fn new(writes_per_minute: u32) -> Self {
        let configured = writes_per_minute.max(1);
        let burst = f64::from((configured / 6).max(1));
        let epoch = Instant::now();
        Self {
            configured,
            epoch,
            burst,
            bucket: Mutex::new(Bucket {
                rate: f64::from(configured),
                tokens: burst,
                last: epoch,
                sent: VecDeque::new(),
                ceiling: LearnedCeiling::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take one token, waiting for it if the bucket is empty.
    /// Wait for a write token. Returns whether it had to wait (for the quota-wait metric).
    pub async fn acquire(&self) -> bool {
        let mut waited = false;
        while let Some(wait) = self.try_take(Instant::now()) {
            waited = true;
            tokio::time::sleep(wait).await;
        }
        waited
    }

    /// Take a token at `now`, or say how long until one is there.
    fn try_take(&self, now: Instant) -> Option<Duration> {
        let mut b = self.lock();
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * b.rate / 60.0).min(self.burst);
        b.last = b.last.max(now);
        forget_old_writes(&mut b.sent, now);
        let limit = b.ceiling.limit(self.configured, self.millis(now));
        // A ceiling learned (or lowered) since the last write also caps the rate.
        b.rate = b.rate.min(f64::from(limit));
        if b.sent.len() >= limit as usize
            && let Some(&oldest) = b.sent.front()
        {
            return Some((oldest + WINDOW + WINDOW_MARGIN).saturating_duration_since(now));
        }
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            b.sent.push_back(now);
            return None;
        }
        Some(Duration::from_secs_f64((1.0 - b.tokens) * 60.0 / b.rate))
    }

    fn millis(&self, now: Instant) -> Millis {
        now.saturating_duration_since(self.epoch).as_millis() as Millis
    }

    /// Multiplicative decrease after a 429, which also teaches the ceiling; the bucket is
    /// emptied so the next write waits.
    pub fn decrease(&self) {
        self.decrease_at(Instant::now());
    }

    fn decrease_at(&self, now: Instant) {
        let mut b = self.lock();
        forget_old_writes(&mut b.sent, now);
        let in_window = b.sent.len() as u32;
        let at = self.millis(now);
        b.ceiling.met_429(in_window, self.configured, at);
        let limit = b.ceiling.limit(self.configured, at);
        b.rate = (b.rate.min(f64::from(limit)) / 2.0).max(1.0);
        b.tokens = b.tokens.min(0.0);
    }

    /// Additive increase after a successful write, up to the learned ceiling.
    pub fn increase(&self) {
        self.increase_at(Instant::now());
    }

    fn increase_at(&self, now: Instant) {
        let now = self.millis(now);
        let mut b = self.lock();
        let step = f64::from(self.configured) / 20.0;
        let limit = b.ceiling.limit(self.configured, now);
        b.rate = (b.rate + step).min(f64::from(limit));
    }

    pub fn rate_per_minute(&self) -> f64 {
        self.lock().rate
    }

    /// The writes per window learned from 429s, when one is.
    pub fn learned_ceiling(&self) -> Option<u32> {
        self.lock().ceiling.learned()
    }

    pub fn configured(&self) -> u32 {
        self.configured
    }
}

/// Drop the writes that left the window (and its margin) by `now`.
fn forget_old_writes(sent: &mut VecDeque<Instant>, now: Instant) {
    while sent
        .front()
        .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW + WINDOW_MARGIN)
    {
        sent.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_at_the_configured_rate_after_the_burst() {
        let pacer = Pacer::new(60); // one a second, burst 10
        let t0 = pacer.lock().last;
        for _ in 0..10 {
            assert_eq!(pacer.try_take(t0), None, "the burst is immediate");
        }
        assert_eq!(pacer.try_take(t0), Some(Duration::from_secs(1)));
        assert_eq!(
            pacer
                .try_take(t0 + Duration::from_millis(500))
                .map(|d| d.as_millis()),
            Some(500)
        );
        assert_eq!(pacer.try_take(t0 + Duration::from_secs(1)), None);
        assert!(pacer.try_take(t0 + Duration::from_secs(1)).is_some());
    }

    #[test]
    fn no_sliding_minute_holds_more_than_the_configured_writes() {
        let pacer = Pacer::new(12); // burst 2
        let t0 = pacer.lock().last;
        let mut grants = Vec::new();
        let mut now = t0;
        while now < t0 + Duration::from_secs(300) {
            match pacer.try_take(now) {
                None => grants.push(now),
                Some(wait) => now += wait.max(Duration::from_millis(1)),
            }
        }
        for (i, &g) in grants.iter().enumerate() {
            let in_window = grants[i..]
                .iter()
                .take_while(|&&t| t < g + WINDOW + WINDOW_MARGIN)
                .count();
            assert!(in_window <= 12, "{in_window} writes in one minute from {i}");
        }
        // And the quota is still used: about 12 a minute over five minutes.
        assert!(grants.len() >= 55, "{} grants", grants.len());
    }

    #[test]
    fn halves_on_429_and_recovers_gradually() {
        let pacer = Pacer::new(120);
        let t0 = pacer.lock().last;
        pacer.decrease();
        assert_eq!(pacer.rate_per_minute(), 60.0);
        pacer.decrease();
        assert_eq!(pacer.rate_per_minute(), 30.0);
        // Emptied: the next write waits a slot at the halved rate (2 s at 30/min).
        assert_eq!(pacer.try_take(t0), Some(Duration::from_secs(2)));
        for _ in 0..3 {
            pacer.increase();
        }
        assert_eq!(pacer.rate_per_minute(), 48.0);
        for _ in 0..100 {
            pacer.increase();
        }
        assert_eq!(
            pacer.rate_per_minute(),
            120.0,
            "never above the configured rate"
        );
        for _ in 0..20 {
            pacer.decrease();
        }
        assert_eq!(pacer.rate_per_minute(), 1.0, "never below one a minute");
    }

    /// A server quota for the simulations: a sliding minute, or a token bucket of a minute's
    /// writes refilled evenly (which lets a full bucket through before it limits).
    enum Quota {
        Sliding(VecDeque<Instant>),
        Bucket { tokens: f64, last: Instant },
    }

    impl Quota {
        /// Admit a write at `now`, or answer 429 with the Retry-After wait.
        fn admit(&mut self, per_minute: u32, now: Instant) -> Result<(), Duration> {
            match self {
                Quota::Sliding(log) => {
                    while log.front().is_some_and(|&t| now - t >= WINDOW) {
                        log.pop_front();
                    }
                    if log.len() >= per_minute as usize {
                        return Err((log[0] + WINDOW).saturating_duration_since(now));
                    }
                    log.push_back(now);
                    Ok(())
                }
                Quota::Bucket { tokens, last } => {
                    let refill = f64::from(per_minute) / 60.0;
                    let full = f64::from(per_minute);
                    *tokens = (*tokens + (now - *last).as_secs_f64() * refill).min(full);
                    *last = now;
                    if *tokens < 1.0 {
                        return Err(Duration::from_secs_f64((1.0 - *tokens) / refill));
                    }
                    *tokens -= 1.0;
                    Ok(())
                }
            }
        }
    }

    /// Run a backlog through `pacer` against `quota` for `minutes`; the engine waits out a
    /// 429's Retry-After. Returns (writes after the first minute, 429s after the first minute).
    fn simulate(pacer: &Pacer, mut quota: Quota, q: u32, minutes: u64) -> (u32, u32) {
        let t0 = pacer.lock().last;
        let settled = t0 + WINDOW;
        let (mut writes, mut limited) = (0, 0);
        let mut now = t0;
        while now < t0 + WINDOW * minutes as u32 {
            if let Some(wait) = pacer.try_take(now) {
                now += wait.max(Duration::from_millis(1));
                continue;
            }
            match quota.admit(q, now) {
                Ok(()) => {
                    pacer.increase_at(now);
                    writes += u32::from(now >= settled);
                    now += Duration::from_millis(50); // the request's round trip
                }
                Err(retry_after) => {
                    pacer.decrease_at(now);
                    limited += u32::from(now >= settled);
                    now += retry_after.max(Duration::from_millis(50));
                }
            }
        }
        (writes, limited)
    }

    #[test]
    fn configured_four_times_a_sliding_quota_it_learns_it_at_the_first_429() {
        let pacer = Pacer::new(240);
        let (writes, limited) = simulate(&pacer, Quota::Sliding(VecDeque::new()), 60, 6);
        assert_eq!(pacer.learned_ceiling(), Some(60));
        assert_eq!(limited, 0, "no 429 once settled");
        assert!(writes >= 5 * 60 * 97 / 100, "{writes} writes in 5 minutes");
    }

    #[test]
    fn configured_four_times_a_token_bucket_it_settles_just_under_it() {
        let pacer = Pacer::new(240);
        let t0 = pacer.lock().last;
        let quota = Quota::Bucket {
            tokens: 60.0,
            last: t0,
        };
        let (writes, limited) = simulate(&pacer, quota, 60, 6);
        assert!(limited <= 1, "{limited} 429s once settled");
        assert!(writes >= 5 * 60 * 90 / 100, "{writes} writes in 5 minutes");
        let ceiling = pacer.learned_ceiling().expect("learned");
        assert!((54..=60).contains(&ceiling), "ceiling {ceiling}");
    }

    #[test]
    fn configured_at_the_quota_it_uses_it_without_a_429() {
        for bucket in [false, true] {
            let pacer = Pacer::new(60);
            let t0 = pacer.lock().last;
            let quota = if bucket {
                Quota::Bucket {
                    tokens: 60.0,
                    last: t0,
                }
            } else {
                Quota::Sliding(VecDeque::new())
            };
            let (writes, limited) = simulate(&pacer, quota, 60, 6);
            assert_eq!(limited, 0);
            assert!(writes >= 5 * 60 * 97 / 100, "{writes} writes in 5 minutes");
            assert_eq!(pacer.learned_ceiling(), None);
        }
    }
}

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

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The quota's window, and the margin for a request's travel time: the server counts a write
/// when it arrives, which may be a little after it was sent.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
pub(crate) const WINDOW_MARGIN: Duration = Duration::from_millis(500);

struct Bucket {
    /// Writes per minute now.
    rate: f64,
    tokens: f64,
    last: Instant,
    /// When the writes of the last window were let through (at most `configured`).
    sent: VecDeque<Instant>,
}

pub struct Pacer {
    configured: u32,
    burst: f64,
    bucket: Mutex<Bucket>,
}

impl Pacer {
    pub fn new(writes_per_minute: u32) -> Self {
        let configured = writes_per_minute.max(1);
        let burst = f64::from((configured / 6).max(1));
        Self {
            configured,
            burst,
            bucket: Mutex::new(Bucket {
                rate: f64::from(configured),
                tokens: burst,
                last: Instant::now(),
                sent: VecDeque::new(),
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
        while b
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW + WINDOW_MARGIN)
        {
            b.sent.pop_front();
        }
        if b.sent.len() >= self.configured as usize
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

    /// Multiplicative decrease after a 429; the bucket is emptied so the next write waits.
    pub fn decrease(&self) {
        let mut b = self.lock();
        b.rate = (b.rate / 2.0).max(1.0);
        b.tokens = b.tokens.min(0.0);
    }

    /// Additive increase after a successful write.
    pub fn increase(&self) {
        let mut b = self.lock();
        let step = f64::from(self.configured) / 20.0;
        b.rate = (b.rate + step).min(f64::from(self.configured));
    }

    pub fn rate_per_minute(&self) -> f64 {
        self.lock().rate
    }

    pub fn configured(&self) -> u32 {
        self.configured
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
}

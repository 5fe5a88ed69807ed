//! Keeping the analytics calls within the `org_analytics` quota, apart from the write quota:
//! calls are spaced `60 s / per_minute` apart (so no sliding minute holds more than
//! `per_minute`), and a 429 stops them until its `Retry-After`.
//!
//! Waits follow the injected clock, looked at again at least every `POLL`, so a test clock
//! that runs fast is followed without sleeping for real minutes.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::store::Millis;

const POLL: Millis = 250;

pub(crate) struct Pace {
    clock: SharedClock,
    spacing: Millis,
    next: Millis,
}

impl Pace {
    pub(crate) fn new(clock: SharedClock, per_minute: u32) -> Self {
        Self {
            clock,
            spacing: (60_000 / Millis::from(per_minute.max(1))).max(1),
            next: Millis::MIN,
        }
    }

    /// Wait for the next call's slot and take it; `false` when shutdown came first.
    pub(crate) async fn acquire(&mut self, shutdown: &CancellationToken) -> bool {
        if !wait_until(&self.clock, self.next, shutdown).await {
            return false;
        }
        // Rounded up by one: the quota's window forgets a call only once a full minute passed.
        self.next = self.clock.now_ms() + self.spacing + 1;
        true
    }

    /// No call before `until` (a 429's `Retry-After`).
    pub(crate) fn hold_until(&mut self, until: Millis) {
        self.next = self.next.max(until);
    }
}

/// Wait until the clock reads `at`; `false` when `shutdown` came first.
pub(crate) async fn wait_until(
    clock: &SharedClock,
    at: Millis,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        if shutdown.is_cancelled() {
            return false;
        }
        let now = clock.now_ms();
        if now >= at {
            return true;
        }
        let nap = Duration::from_millis((at - now).min(POLL) as u64);
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn slots_are_a_minute_over_the_rate_apart_and_a_429_holds_them() {
        let clock = ManualClock::new(1_000_000);
        let mut pace = Pace::new(Arc::new(clock.clone()), 4);
        let shutdown = CancellationToken::new();
        assert!(pace.acquire(&shutdown).await, "the first call goes at once");
        assert_eq!(pace.next, 1_015_001);
        clock.set_ms(1_015_001);
        assert!(pace.acquire(&shutdown).await);
        pace.hold_until(1_100_000);
        assert_eq!(pace.next, 1_100_000);
        shutdown.cancel();
        assert!(!pace.acquire(&shutdown).await, "shutdown ends a wait");
    }
}

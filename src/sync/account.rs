//! One Pinterest account as the engine uses it: its API client, its write-rate limiter, its
//! board directory, and its rate-limit block.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::boards::BoardDirectory;
use crate::pinterest::PinterestClient;
use crate::store::Millis;

pub struct AccountRuntime {
    pub name: String,
    pub client: PinterestClient,
    /// Pinterest's write quota (org_write) as a token bucket, so 429s stay rare.
    limiter: DefaultDirectRateLimiter,
    pub boards: BoardDirectory,
    /// No calls before this time (after a 429), mirrored in the store's account state.
    blocked_until: AtomicI64,
}

impl AccountRuntime {
    pub fn new(name: String, client: PinterestClient, writes_per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(writes_per_minute.max(1)).expect("max(1) is non-zero");
        // A burst of a sixth of the minute's quota keeps a backlog from emptying the bucket at once.
        let burst = NonZeroU32::new((writes_per_minute / 6).max(1)).expect("max(1) is non-zero");
        Self {
            name,
            client,
            limiter: RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst)),
            boards: BoardDirectory::default(),
            blocked_until: AtomicI64::new(0),
        }
    }

    /// Wait for a write token.
    pub async fn until_write_allowed(&self) {
        if self.limiter.check().is_ok() {
            return;
        }
        metrics::counter!("pinbridge_rate_limit_waits_total", "account" => self.name.clone(), "kind" => "quota")
            .increment(1);
        self.limiter.until_ready().await;
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
}

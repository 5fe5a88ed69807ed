//! The sandbox's stand-in for Pinterest's per-user write quota: a sliding minute or a token
//! bucket, answering 429 with `Retry-After`, the `X-RateLimit-*` headers, both or neither.
//!
//! Pinterest documents neither the quota's shape nor its headers, so the sandbox offers each
//! shape and header set and the pacer can be measured against all of them.

use std::collections::VecDeque;

use super::Inner;
use super::validation::SbError;
use crate::store::Millis;

const WINDOW_MS: i64 = 60_000;

/// How the write quota counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QuotaKind {
    /// At most the quota's writes in any sliding minute.
    #[default]
    SlidingWindow,
    /// A bucket holding a minute's writes, refilled evenly: a full bucket lets a burst through,
    /// then the quota's rate.
    TokenBucket,
}

/// Which headers a quota 429 carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QuotaHeaders {
    /// `Retry-After` only.
    #[default]
    RetryAfter,
    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (delay-seconds), no `Retry-After`.
    RateLimit,
    /// Both.
    Both,
    /// None: the client learns only from the 429 itself.
    Neither,
}

/// A user's token bucket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Millis,
}

/// Admit one write for `user_id` (per user, not per token, so a refresh does not reset it).
pub(crate) fn admit_write(sb: &Inner, user_id: &str) -> Result<(), SbError> {
    let Some(quota) = sb.config.write_quota_per_minute else {
        return Ok(());
    };
    let now = sb.clock.now_ms();
    let mut st = sb.lock();
    let wait_ms = match sb.config.write_quota_kind {
        QuotaKind::SlidingWindow => {
            let window = st.writes.entry(user_id.to_string()).or_default();
            match sliding_minute(window, quota, now) {
                None => return Ok(()),
                Some(wait_ms) => wait_ms,
            }
        }
        QuotaKind::TokenBucket => {
            let full = f64::from(quota);
            let per_ms = full / WINDOW_MS as f64;
            let bucket = st.buckets.entry(user_id.to_string()).or_insert(Bucket {
                tokens: full,
                last: now,
            });
            let elapsed = (now - bucket.last).max(0) as f64;
            bucket.tokens = (bucket.tokens + elapsed * per_ms).min(full);
            bucket.last = bucket.last.max(now);
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                return Ok(());
            }
            ((1.0 - bucket.tokens) / per_ms).ceil() as i64
        }
    };
    st.stats.rate_limited += 1;
    Err(quota_exceeded(sb.config.quota_headers, quota, wait_ms))
}

/// Count one call at `now` in a sliding minute of at most `quota` calls: `None` when it is
/// admitted (and counted), else how many milliseconds until the window admits one more.
pub(crate) fn sliding_minute(
    window: &mut VecDeque<Millis>,
    quota: u32,
    now: Millis,
) -> Option<i64> {
    while window.front().is_some_and(|&t| t <= now - WINDOW_MS) {
        window.pop_front();
    }
    if window.len() < quota as usize {
        window.push_back(now);
        return None;
    }
    let oldest = window.front().copied().unwrap_or(now);
    Some(oldest + WINDOW_MS - now)
}

/// The 429 of a quota that is full for `wait_ms` more, with the headers the sandbox sends.
pub(crate) fn quota_exceeded(headers: QuotaHeaders, quota: u32, wait_ms: i64) -> SbError {
    let secs = (wait_ms.max(1) as u64).div_ceil(1000);
    let mut e = SbError::rate_limited(secs, false);
    if matches!(headers, QuotaHeaders::RateLimit | QuotaHeaders::Neither) {
        e.retry_after = None;
    }
    if matches!(headers, QuotaHeaders::RateLimit | QuotaHeaders::Both) {
        e.rate_limit = Some([u64::from(quota), 0, secs]);
    }
    e
}

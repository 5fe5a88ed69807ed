//! How long a server asks us to wait: `Retry-After` (delay-seconds or an HTTP date) and, when
//! that is missing, the `X-RateLimit-Reset` / `-Remaining` / `-Limit` headers some APIs send.
//!
//! A leaf module (it imports nothing from pinbridge) so every HTTP client in the crate reads
//! these headers the same way; the current time comes from the caller so tests need no clock.

use std::time::Duration;

/// Above this, an `X-RateLimit-Reset` value is a Unix time in seconds rather than a delay:
/// no quota window lasts anywhere near 30 years, and no Unix time since 2001 is smaller.
const RESET_IS_UNIX_TIME_ABOVE: u64 = 1_000_000_000;

/// `Retry-After` as delay-seconds or an HTTP date, relative to `now_ms` (Unix milliseconds).
/// A date in the past means "now" (zero); anything unreadable is `None`.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
    Some(Duration::from_millis(
        at_ms.saturating_sub(now_ms).max(0) as u64
    ))
}

/// The `X-RateLimit-*` headers of one answer, each only when present and readable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// `X-RateLimit-Limit`: requests allowed in the quota's window.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`: requests left in the current window.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`: until the window frees up, already turned into a delay.
    pub reset_in: Option<Duration>,
}

impl RateLimitHeaders {
    /// Read the headers through `get` (a lookup by lower-case name, so any header map type
    /// fits). `X-RateLimit-Reset` is read as delay-seconds, or as a Unix time in seconds when
    /// it is that large (APIs differ), relative to `now_ms`.
    pub fn read<'a>(get: impl Fn(&str) -> Option<&'a str>, now_ms: i64) -> Self {
        let number = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        let reset_in = number("x-ratelimit-reset").map(|reset| {
            if reset > RESET_IS_UNIX_TIME_ABOVE {
                let at_ms = reset.saturating_mul(1000) as i64;
                Duration::from_millis(at_ms.saturating_sub(now_ms).max(0) as u64)
            } else {
                Duration::from_secs(reset)
            }
        });
        Self {
            limit: number("x-ratelimit-limit"),
            remaining: number("x-ratelimit-remaining"),
            reset_in,
        }
    }

    /// Whether any of the headers was there.
    pub fn present(&self) -> bool {
        self.limit.is_some() || self.remaining.is_some() || self.reset_in.is_some()
    }
}

/// The wait a rate-limited answer asks for: `Retry-After` when it is there and readable, else
/// the rate-limit window's reset.
pub fn rate_limit_wait(
    retry_after: Option<&str>,
    rate_limit: &RateLimitHeaders,
    now_ms: i64,
) -> Option<Duration> {
    retry_after
        .and_then(|v| parse_retry_after(v, now_ms))
        .or(rate_limit.reset_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_http_date() {
        assert_eq!(parse_retry_after(" 30 ", 0), Some(Duration::from_secs(30)));
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s.
        let now = 784_111_777_000 - 90_000;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 200_000),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-5", 0), None);
    }

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    #[test]
    fn rate_limit_headers_with_a_delay_or_a_unix_time() {
        let h = RateLimitHeaders::read(
            headers(&[
                ("x-ratelimit-limit", "60"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "7"),
            ]),
            0,
        );
        assert_eq!(
            h,
            RateLimitHeaders {
                limit: Some(60),
                remaining: Some(0),
                reset_in: Some(Duration::from_secs(7)),
            }
        );
        let now_ms = 1_800_000_000_000;
        let h = RateLimitHeaders::read(headers(&[("x-ratelimit-reset", "1800000012")]), now_ms);
        assert_eq!(h.reset_in, Some(Duration::from_secs(12)));
        let h = RateLimitHeaders::read(headers(&[("x-ratelimit-reset", "1799999990")]), now_ms);
        assert_eq!(h.reset_in, Some(Duration::ZERO), "a past reset is now");
        let h = RateLimitHeaders::read(headers(&[("x-ratelimit-reset", "soon")]), now_ms);
        assert!(!h.present(), "unreadable values count as missing");
    }

    #[test]
    fn retry_after_wins_and_the_reset_fills_in() {
        let rl = RateLimitHeaders {
            reset_in: Some(Duration::from_secs(9)),
            ..RateLimitHeaders::default()
        };
        assert_eq!(
            rate_limit_wait(Some("30"), &rl, 0),
            Some(Duration::from_secs(30))
        );
        assert_eq!(rate_limit_wait(None, &rl, 0), Some(Duration::from_secs(9)));
        assert_eq!(
            rate_limit_wait(Some("garbage"), &rl, 0),
            Some(Duration::from_secs(9)),
            "an unreadable Retry-After falls back to the reset"
        );
        assert_eq!(rate_limit_wait(None, &RateLimitHeaders::default(), 0), None);
    }
}

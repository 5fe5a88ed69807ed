//! What a response says about freshness (`Cache-Control: max-age`, `Expires`, `Retry-After`),
//! as delays from now for the scheduler. Unparseable values are ignored: they are only hints.

use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap};

/// What the server said about caching, for the scheduler.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheHints {
    /// `Cache-Control: max-age`.
    pub max_age: Option<Duration>,
    /// `Expires`, as a delay from now.
    pub expires_in: Option<Duration>,
    /// `Retry-After`, as a delay from now.
    pub retry_after: Option<Duration>,
}

/// Cache hints from response headers. Unparseable values are ignored: they are hints.
pub fn cache_hints(headers: &HeaderMap) -> CacheHints {
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let max_age = get(header::CACHE_CONTROL).and_then(|cc| {
        cc.split(',').find_map(|d| {
            let (k, v) = d.split_once('=')?;
            (k.trim().eq_ignore_ascii_case("max-age"))
                .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
                .map(Duration::from_secs)
        })
    });
    let expires_in = get(header::EXPIRES).and_then(delay_until_date);
    // The crate's one Retry-After reader. A date already past asks for no wait at all, which
    // here means "no hint": the source's own back-off applies, as for a missing header.
    let retry_after = get(header::RETRY_AFTER)
        .and_then(|v| crate::retry_after::parse_retry_after(v, now_ms()))
        .filter(|wait| !wait.is_zero());
    CacheHints {
        max_age,
        expires_in,
        retry_after,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn delay_until_date(value: &str) -> Option<Duration> {
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    at.duration_since(SystemTime::now()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn cache_hints_read_max_age_and_retry_after() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        h.insert(header::EXPIRES, HeaderValue::from_static("0"));
        let hints = cache_hints(&h);
        assert_eq!(hints.max_age, Some(Duration::from_secs(3600)));
        assert_eq!(hints.retry_after, Some(Duration::from_secs(120)));
        assert_eq!(hints.expires_in, None);
    }

    #[test]
    fn expires_in_the_future_becomes_a_delay() {
        let later = SystemTime::now() + Duration::from_secs(7200);
        let mut h = HeaderMap::new();
        h.insert(
            header::EXPIRES,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).expect("date"),
        );
        let delay = cache_hints(&h).expires_in.expect("delay");
        assert!(delay > Duration::from_secs(7000) && delay <= Duration::from_secs(7200));
    }
}

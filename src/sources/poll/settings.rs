//! The polling keys feeds and shops share (interval, jitter, backfill, timeouts, body cap,
//! User-Agent, parking) as one [`Polling`] value the poll loop, the schedule and the fetcher
//! read, and the checks both kinds apply to them.
//!
//! Each source kind's TOML struct still lists these keys itself rather than flattening this one
//! in: serde's `flatten` hides unknown keys and the line numbers of bad values from the config
//! loader's messages.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::fetch::FetchOptions;
use super::schedule::Schedule;

/// What to do with the items a feed already has when pinbridge first sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backfill {
    /// Record them as seen, pin none (the default: no flood on first contact).
    #[default]
    None,
    /// Pin the newest N (oldest first), record the rest as seen.
    Latest(usize),
    /// Pin them all, oldest first.
    All,
}

impl FromStr for Backfill {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || {
            format!(
                "`{s}` is not a backfill policy; write \"none\", \"latest:N\" (N ≥ 1) or \"all\""
            )
        };
        match s {
            "none" => Ok(Backfill::None),
            "all" => Ok(Backfill::All),
            _ => {
                let n = s.strip_prefix("latest:").ok_or_else(bad)?;
                match n.trim().parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(Backfill::Latest(n)),
                    _ => Err(bad()),
                }
            }
        }
    }
}

impl fmt::Display for Backfill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backfill::None => f.write_str("none"),
            Backfill::Latest(n) => write!(f, "latest:{n}"),
            Backfill::All => f.write_str("all"),
        }
    }
}

impl<'de> Deserialize<'de> for Backfill {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The polling keys every polled source has, feed or shop.
#[derive(Clone, Debug)]
pub struct Polling {
    pub interval: Duration,
    pub jitter: f64,
    pub backfill: Backfill,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: u64,
    pub user_agent: Option<String>,
    pub allow_private: bool,
    pub park_after: u32,
    pub parked_interval: Duration,
    /// Politeness floor: no setting or hint polls sooner than this.
    pub min_interval: Duration,
    /// No hint or error backoff waits longer than this.
    pub max_interval: Duration,
}

impl Polling {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            interval: self.interval,
            jitter: self.jitter,
            floor: self.min_interval,
            ceiling: self.max_interval,
        }
    }

    /// What the fetcher is told for one request with these keys (no validators: callers that
    /// send them fill them in).
    pub fn fetch_options(&self, accept: &'static str) -> FetchOptions {
        FetchOptions {
            accept,
            etag: None,
            last_modified: None,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            max_body_bytes: self.max_body_bytes,
            user_agent: self.user_agent.clone(),
            allow_private: self.allow_private,
        }
    }
}

/// The fetch settings feeds and shops share: jitter, timeouts, body cap, User-Agent.
pub fn check_fetch_knobs(
    jitter: f64,
    timeout: Duration,
    connect_timeout: Duration,
    max_body_bytes: u64,
    user_agent: Option<&str>,
    problem: &mut impl FnMut(&str, String),
) {
    if !(0.0..=0.5).contains(&jitter) {
        problem(
            "jitter",
            format!("{jitter} is out of range; use a fraction from 0 to 0.5"),
        );
    }
    if timeout.is_zero() {
        problem("timeout", "must be longer than zero".into());
    }
    if connect_timeout.is_zero() {
        problem("connect_timeout", "must be longer than zero".into());
    }
    if max_body_bytes < 1024 {
        problem(
            "max_body_bytes",
            format!(
                "{max_body_bytes} bytes is too small for any feed or shop page; the default is 15 MiB"
            ),
        );
    }
    if let Some(agent) = user_agent
        && (agent.trim().is_empty() || reqwest::header::HeaderValue::from_str(agent).is_err())
    {
        problem("user_agent", "must be non-empty printable ASCII".into());
    }
}

/// The url must be absolute http(s) with a host.
pub fn check_url(raw: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{raw}` must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{raw}` has no host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backfill_forms_parse() {
        assert_eq!("none".parse(), Ok(Backfill::None));
        assert_eq!("all".parse(), Ok(Backfill::All));
        assert_eq!("latest:5".parse(), Ok(Backfill::Latest(5)));
        for bad in ["latest:0", "latest:", "latest:x", "some", ""] {
            let err = bad.parse::<Backfill>().expect_err(bad);
            assert!(err.contains("latest:N"), "{err}");
        }
    }
}

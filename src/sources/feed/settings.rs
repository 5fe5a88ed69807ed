//! `[[sources]] kind = "feed"`: the keys a feed source owns, their defaults and validation.

use std::time::Duration;

use serde::Deserialize;

use crate::settings::ConfigProblem;
use crate::settings::join;
pub use crate::sources::poll::settings::{Backfill, check_url};
use crate::sources::poll::settings::{Polling, check_fetch_knobs};

/// A feed source's settings. Every key but `url` has a default.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct FeedSettings {
    /// The feed's address (http or https).
    pub url: String,
    /// How often to poll when the feed gives no longer hint.
    #[serde(with = "crate::settings::duration")]
    pub interval: Duration,
    /// Random spread of each wait, as a fraction of it (0.1 = ±10 %), so feeds on one host do
    /// not all fire together.
    pub jitter: f64,
    pub backfill: Backfill,
    /// The whole fetch (connect, redirects, body) must finish within this.
    #[serde(with = "crate::settings::duration")]
    pub timeout: Duration,
    #[serde(with = "crate::settings::duration")]
    pub connect_timeout: Duration,
    /// Cap on the body after decompression (a gzip bomb stops here).
    pub max_body_bytes: u64,
    /// Replaces pinbridge's own User-Agent for this feed (some hosts block unknown agents).
    pub user_agent: Option<String>,
    /// Allow fetching from loopback, private and other non-public addresses.
    pub allow_private: bool,
    /// Politeness floor: no setting or hint polls sooner than this.
    #[serde(with = "crate::settings::duration")]
    pub min_interval: Duration,
    /// No hint or error backoff waits longer than this.
    #[serde(with = "crate::settings::duration")]
    pub max_interval: Duration,
    /// Skip images the feed says are narrower / lower than this (0 = no limit). Images of
    /// unknown size are kept.
    pub min_image_width: u32,
    pub min_image_height: u32,
    /// After this many consecutive failures the feed is parked: polled only every
    /// `parked_interval` until it works again, and shown as parked with the reason.
    pub park_after: u32,
    #[serde(with = "crate::settings::duration")]
    pub parked_interval: Duration,
    /// For items with no image at all, read `og:image` from the linked page (one extra
    /// request per new item, through the same guarded fetcher).
    pub image_from_page: bool,
    /// Categories added to every item of this feed, for routes' `when.category` (an OPML
    /// import puts the folders a feed was filed under here).
    pub categories: Vec<String>,
    /// Poll as often as the feed publishes: the interval follows the observed item rate
    /// between `min_interval` and `max_interval` (see `schedule::Schedule::adaptive_interval`);
    /// `interval` applies until something has been observed.
    pub adaptive: bool,
    /// At most this many items never seen before are pinned per poll (after the first); the
    /// rest are recorded as seen and skipped, never pinned later. A feed that rotates its guids
    /// would otherwise queue a Pin for every entry on every poll.
    pub max_new_items_per_poll: usize,
    /// The feed lists every item the site has (not only the newest): an item absent from
    /// full polls for longer than `removal_grace` is treated as deleted at the source.
    pub complete: bool,
    /// How long an item must stay absent from a `complete` feed before it counts as removed.
    #[serde(with = "crate::settings::duration")]
    pub removal_grace: Duration,
}

pub use crate::sources::poll::missing::DEFAULT_REMOVAL_GRACE;

/// The default of `max_new_items_per_poll`: far more than an honest feed publishes between
/// two polls, far fewer than a runaway one would queue.
pub const DEFAULT_MAX_NEW_ITEMS_PER_POLL: usize = 50;

/// The default interval between polls.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            interval: DEFAULT_INTERVAL,
            jitter: 0.1,
            backfill: Backfill::None,
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 15 * 1024 * 1024,
            user_agent: None,
            allow_private: false,
            min_interval: Duration::from_secs(5 * 60),
            max_interval: Duration::from_secs(24 * 60 * 60),
            min_image_width: 0,
            min_image_height: 0,
            park_after: 10,
            parked_interval: Duration::from_secs(24 * 60 * 60),
            image_from_page: false,
            categories: Vec::new(),
            adaptive: false,
            max_new_items_per_poll: DEFAULT_MAX_NEW_ITEMS_PER_POLL,
            complete: false,
            removal_grace: DEFAULT_REMOVAL_GRACE,
        }
    }
}

impl FeedSettings {
    /// Settings for `url` with every default (tests, the demo).
    pub fn for_url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The polling keys, as the poll loop, the schedule and the fetcher read them.
    pub fn polling(&self) -> Polling {
        Polling {
            interval: self.interval,
            jitter: self.jitter,
            backfill: self.backfill,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            max_body_bytes: self.max_body_bytes,
            user_agent: self.user_agent.clone(),
            allow_private: self.allow_private,
            park_after: self.park_after,
            parked_interval: self.parked_interval,
            min_interval: self.min_interval,
            max_interval: self.max_interval,
        }
    }

    /// Report everything wrong with these settings under `path` (e.g. `sources[2]`).
    pub fn validate(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        let mut problem = |key: &str, message: String| {
            problems.push(ConfigProblem::new(join(path, key), message));
        };
        if self.url.trim().is_empty() {
            problem(
                "url",
                "a feed needs a `url` (the address of its RSS, Atom or JSON feed)".into(),
            );
        } else if let Err(message) = check_url(&self.url) {
            problem("url", message);
        }
        let fmt = |d: Duration| humantime::format_duration(d).to_string();
        if self.min_interval < Duration::from_secs(60) {
            problem(
                "min_interval",
                format!(
                    "{} is too short; poll a feed at most once a minute",
                    fmt(self.min_interval)
                ),
            );
        }
        if self.interval < self.min_interval {
            problem(
                "interval",
                format!(
                    "{} is shorter than min_interval ({}); 15m is usual, lower min_interval only if the publisher agrees",
                    fmt(self.interval),
                    fmt(self.min_interval)
                ),
            );
        }
        if self.max_interval < self.interval {
            problem(
                "max_interval",
                format!(
                    "{} is shorter than interval ({})",
                    fmt(self.max_interval),
                    fmt(self.interval)
                ),
            );
        }
        if self.park_after == 0 {
            problem("park_after", "must be at least 1".into());
        }
        if self.max_new_items_per_poll == 0 {
            problem(
                "max_new_items_per_poll",
                format!(
                    "must be at least 1 (0 would never pin anything new); the default is {DEFAULT_MAX_NEW_ITEMS_PER_POLL}"
                ),
            );
        }
        if self.parked_interval < self.interval {
            problem(
                "parked_interval",
                format!(
                    "{} is shorter than interval ({})",
                    fmt(self.parked_interval),
                    fmt(self.interval)
                ),
            );
        }
        if self.complete && self.removal_grace < self.interval {
            problem(
                "removal_grace",
                format!(
                    "{} is shorter than interval ({}); an item must be missing from at least two polls before it counts as removed (the default is 2d)",
                    fmt(self.removal_grace),
                    fmt(self.interval)
                ),
            );
        }
        check_fetch_knobs(
            self.jitter,
            self.timeout,
            self.connect_timeout,
            self.max_body_bytes,
            self.user_agent.as_deref(),
            &mut problem,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse_section;

    fn parse(text: &str) -> (Option<FeedSettings>, Vec<ConfigProblem>) {
        let table: toml::Table = toml::from_str(text).expect("test toml");
        let mut problems = Vec::new();
        let settings: Option<FeedSettings> = parse_section(table, "sources[0]", &mut problems);
        if let Some(s) = &settings {
            s.validate("sources[0]", &mut problems);
        }
        (settings, problems)
    }

    #[test]
    fn defaults_apply_when_only_url_is_given() {
        let (s, problems) = parse(r#"url = "https://example.com/feed.xml""#);
        assert!(problems.is_empty(), "{problems:?}");
        let s = s.expect("parsed");
        assert_eq!(s.interval, Duration::from_secs(900));
        assert_eq!(s.backfill, Backfill::None);
        assert_eq!(s.timeout, Duration::from_secs(20));
        assert_eq!(s.connect_timeout, Duration::from_secs(10));
        assert_eq!(s.max_body_bytes, 15 * 1024 * 1024);
        assert!(!s.allow_private);
    }

    #[test]
    fn bad_backfill_is_reported_by_the_loader() {
        let (_, problems) = parse("url = \"https://example.com/f\"\nbackfill = \"latest:zero\"");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("latest:zero"), "{problems:?}");
    }

    #[test]
    fn every_problem_is_listed_with_its_key() {
        let (_, problems) = parse(
            "url = \"ftp://example.com/f\"\ninterval = \"5s\"\njitter = 2.0\nmax_body_bytes = 10",
        );
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "sources[0].url",
                "sources[0].interval",
                "sources[0].jitter",
                "sources[0].max_body_bytes"
            ]
        );
        assert!(problems[0].message.contains("http://"));
    }

    #[test]
    fn phase_two_keys_have_defaults_and_checks() {
        let (s, problems) = parse("url = \"https://example.com/f\"");
        assert!(problems.is_empty(), "{problems:?}");
        let s = s.expect("parsed");
        assert_eq!(s.min_interval, Duration::from_secs(300));
        assert_eq!(s.max_interval, Duration::from_secs(86_400));
        assert_eq!(
            (s.park_after, s.parked_interval),
            (10, Duration::from_secs(86_400))
        );
        assert!(!s.image_from_page);
        let (_, problems) = parse(
            "url = \"https://example.com/f\"\npark_after = 0\nparked_interval = \"1m\"\nmax_interval = \"10m\"",
        );
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "sources[0].max_interval",
                "sources[0].park_after",
                "sources[0].parked_interval"
            ]
        );
    }

    #[test]
    fn max_new_items_per_poll_defaults_to_50_and_must_be_positive() {
        let (s, _) = parse("url = \"https://example.com/f\"\nmax_new_items_per_poll = 7");
        assert_eq!(s.map(|s| s.max_new_items_per_poll), Some(7));
        assert_eq!(FeedSettings::default().max_new_items_per_poll, 50);
        let (_, problems) = parse("url = \"https://example.com/f\"\nmax_new_items_per_poll = 0");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "sources[0].max_new_items_per_poll");
    }

    #[test]
    fn missing_url_and_unknown_keys_are_named() {
        let (_, problems) = parse("interval = \"30m\"\nurll = \"https://x\"");
        assert!(
            problems
                .iter()
                .any(|p| p.path == "sources[0].urll" && p.message == "unknown key"),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.path == "sources[0].url"),
            "{problems:?}"
        );
    }
}

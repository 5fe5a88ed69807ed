//! The typed configuration: one struct per top-level table of `pinbridge.toml`.
//!
//! Every key is documented in `config/pinbridge.example.toml`; keep the two in step.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::settings::{OnChange, OnDelete, UpdateFallback};
// Sections the store and the token setup read themselves; defined in the leaf settings module
// so those layers need not import the config loader.
pub use crate::settings::{AccountConfig, StoreConfig};

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The address the outside world reaches pinbridge at (WebSub callbacks, OAuth redirects).
    pub public_url: Option<Url>,
    /// Bearer token for `/api/v1`, the status page and `/metrics`; the admin API is off without
    /// it. At least [`MIN_ADMIN_TOKEN_LEN`] characters (validation refuses shorter ones).
    pub admin_token: Option<SecretString>,
    /// A second address serving only the admin API, status page and metrics. When set, the
    /// public `listen` port serves only webhooks, WebSub callbacks, `/healthz` and a bare
    /// `/readyz`.
    pub admin_listen: Option<SocketAddr>,
    /// How long shutdown waits for in-flight work.
    #[serde(with = "super::duration")]
    pub shutdown_grace: Duration,
    /// Reload when the config file changes (checked every 2 s), besides on SIGHUP.
    pub watch_config: bool,
    /// A client must send a request's headers within this time, or the connection is closed.
    #[serde(with = "super::duration")]
    pub header_read_timeout: Duration,
    /// The longest wait for the next piece of a request body.
    #[serde(with = "super::duration")]
    pub body_read_timeout: Duration,
    /// The longest a whole request may take, body included (answered 408 past it).
    #[serde(with = "super::duration")]
    pub request_timeout: Duration,
    /// Connections open at once per listener; more are refused with 503 and closed.
    pub max_connections: usize,
}

/// The shortest admin token accepted: a guessable token would open the admin API to anyone
/// who can reach the port. `openssl rand -hex 32` gives 64 characters.
pub const MIN_ADMIN_TOKEN_LEN: usize = 32;

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: ([0, 0, 0, 0], 8080).into(),
            public_url: None,
            admin_token: None,
            admin_listen: None,
            shutdown_grace: Duration::from_secs(20),
            watch_config: false,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// `[fetch]`: how many feed, shop and page fetches run at once, in all and against one host,
/// and who they say they are from. One shared `Fetcher` applies them to every source.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct FetchConfig {
    /// Fetches in flight at once, over all hosts.
    pub max_concurrent: usize,
    /// Fetches in flight at once against one host (politeness: a site with many feeds).
    pub max_per_host: usize,
    /// Where publishers reach whoever runs this pinbridge (a URL or `mailto:`), named in the
    /// User-Agent of every source fetch. Defaults to `server.public_url`.
    pub contact: Option<String>,
}

/// Above this many fetches at once a process runs out of file descriptors (the usual soft
/// limit is 1024) before it gains anything.
pub const MAX_FETCH_CONCURRENCY: usize = 512;

impl Default for FetchConfig {
    fn default() -> Self {
        let limits = crate::sources::feed::fetch::FetchLimits::default();
        Self {
            max_concurrent: limits.global,
            max_per_host: limits.per_host,
            contact: None,
        }
    }
}

impl FetchConfig {
    /// The limits for `Fetcher::with_limits`.
    pub fn limits(&self) -> crate::sources::feed::fetch::FetchLimits {
        crate::sources::feed::fetch::FetchLimits {
            global: self.max_concurrent,
            per_host: self.max_per_host,
        }
    }

    pub fn validate(&self, problems: &mut Vec<super::ConfigProblem>) {
        let mut check = |key: &str, value: usize| {
            if value == 0 || value > MAX_FETCH_CONCURRENCY {
                problems.push(super::ConfigProblem::new(
                    format!("fetch.{key}"),
                    format!("{value} is out of range; use 1 to {MAX_FETCH_CONCURRENCY}"),
                ));
            }
        };
        check("max_concurrent", self.max_concurrent);
        check("max_per_host", self.max_per_host);
        if let Some(contact) = &self.contact
            && let Err(why) = check_contact(contact)
        {
            problems.push(super::ConfigProblem::new("fetch.contact", why));
        }
        if self.max_per_host > self.max_concurrent && self.max_concurrent > 0 {
            problems.push(super::ConfigProblem::new(
                "fetch.max_per_host",
                format!(
                    "{} is more than max_concurrent ({}): one host could never get that many",
                    self.max_per_host, self.max_concurrent
                ),
            ));
        }
    }
}

/// A contact must be something a publisher can follow: an absolute http(s) URL with a host,
/// or a `mailto:` with an address.
fn check_contact(raw: &str) -> Result<(), String> {
    let bad =
        || format!("`{raw}` is not a contact; write an http(s) URL or mailto:you@example.com");
    let url = Url::parse(raw.trim()).map_err(|_| bad())?;
    let usable = match url.scheme() {
        "http" | "https" => url.host_str().is_some_and(|h| !h.is_empty()),
        "mailto" => url.path().contains('@'),
        _ => false,
    };
    // The value goes into a request header: it must be one.
    let header_safe = reqwest::header::HeaderValue::from_str(raw.trim()).is_ok();
    if usable && header_safe {
        Ok(())
    } else {
        Err(bad())
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct PinterestConfig {
    /// API root including `/v5/`. The sandbox host or a local `pinbridge sandbox` also work.
    pub api_base: Url,
    /// Pinterest's authorize page, where the browser goes to grant access (see
    /// [`PinterestConfig::authorize_base`] for the default).
    pub authorize_url: Option<Url>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// Total time for one API request.
    #[serde(with = "super::duration")]
    pub timeout: Duration,
}

impl PinterestConfig {
    /// `authorize_url` when set; else `https://www.pinterest.com/oauth/` for Pinterest's own
    /// API hosts, and `/oauth/` on the API's host for anything else (a local
    /// `pinbridge sandbox` serves its authorize page there).
    pub fn authorize_base(&self) -> Url {
        if let Some(url) = &self.authorize_url {
            return url.clone();
        }
        let pinterest = self
            .api_base
            .host_str()
            .is_some_and(|host| host == "pinterest.com" || host.ends_with(".pinterest.com"));
        let mut url = self.api_base.clone();
        if pinterest {
            url = Url::parse("https://www.pinterest.com/oauth/").expect("static URL");
        } else {
            url.set_path("/oauth/");
            url.set_query(None);
        }
        url
    }
}

impl Default for PinterestConfig {
    fn default() -> Self {
        Self {
            api_base: Url::parse("https://api.pinterest.com/v5/").expect("static URL"),
            authorize_url: None,
            client_id: None,
            client_secret: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The keys every source has; the rest belong to its kind (see `sources::*::settings`).
#[derive(Debug, Deserialize)]
pub struct SourceCommon {
    pub id: String,
    pub kind: SourceKind,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub on_change: OnChange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Feed,
    Webhook,
    Etsy,
    Shopify,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Webhook => "webhook",
            SourceKind::Etsy => "etsy",
            SourceKind::Shopify => "shopify",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WhenConfig {
    /// Match items carrying any of these categories or tags.
    #[serde(deserialize_with = "super::one_or_many::deserialize")]
    pub category: Vec<String>,
    /// A regex the title must match.
    pub title: Option<String>,
    /// A regex the link must match.
    pub link: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RouteConfig {
    pub name: Option<String>,
    /// A source id, or `*` for all sources.
    pub source: String,
    /// Defaults to the only account when there is exactly one.
    pub account: Option<String>,
    /// A board by name (resolved through the API)…
    pub board: Option<String>,
    /// …or by id.
    pub board_id: Option<String>,
    pub section: Option<String>,
    pub section_id: Option<String>,
    /// Create the board or section when no board of that name exists.
    #[serde(default)]
    pub create_missing: bool,
    /// `public`, `protected` or `secret` (`POST /boards` privacy): for a board pinbridge
    /// creates, and a secret one also makes `pinbridge auth` ask for the secret-board scopes.
    pub board_privacy: Option<String>,
    /// The description of a board pinbridge creates.
    pub board_description: Option<String>,
    #[serde(default)]
    pub when: WhenConfig,
    /// Templates (minijinja) over the item's fields.
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    /// At least this long between two Pins on this route's board (`sync::board_pacing`).
    #[serde(default, with = "super::opt_duration")]
    pub min_spacing: Option<Duration>,
    /// What a change of an item this route pinned does, overriding its source's `on_change`
    /// for this route's Pins: `"ignore"`, `"new_pin"` (a source-level setting: set it on the
    /// source) or `"update"` (change the Pin's text).
    #[serde(default)]
    pub on_change: Option<OnChange>,
    /// `"update"` when the app may not use Pinterest's (beta) Pin update: `"ignore"`
    /// (default) or `"new_pin"`.
    #[serde(default)]
    pub update_fallback: UpdateFallback,
    /// An item deleted or unpublished at its source: `"keep"` its Pins (default) or
    /// `"delete"` the ones pinbridge made.
    #[serde(default)]
    pub on_delete: OnDelete,
    /// Adopt the Pins already on the board on first contact (`sync::adopt`).
    #[serde(default = "adopt_by_default")]
    pub adopt_existing: bool,
}

fn adopt_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct SyncConfig {
    /// Concurrent Pin creations.
    pub workers: usize,
    /// Attempts (429s excluded) before a job goes to the dead letter.
    pub max_attempts: u32,
    #[serde(with = "super::duration")]
    pub backoff_base: Duration,
    #[serde(with = "super::duration")]
    pub backoff_cap: Duration,
    /// How long a worker holds a job before another may take it over.
    #[serde(with = "super::duration")]
    pub lease: Duration,
    /// After an ambiguous create, reconcile pages the board's Pins (newest first) back to when
    /// the create was sent, at most this many pages (250 Pins each). Unset: from
    /// `reconcile_depth` if that is set, else 20.
    pub reconcile_pages: Option<u32>,
    /// …and for at most this long; a reconcile out of budget leaves the job `unknown` and looks
    /// again later, it never creates on a guess.
    #[serde(with = "super::duration")]
    pub reconcile_time: Duration,
    /// How far Pinterest's `created_at` clock may be behind ours: Pins down to this much older
    /// than the send are still looked at.
    #[serde(with = "super::duration")]
    pub reconcile_skew: Duration,
    /// Deprecated: read as a page budget of `ceil(reconcile_depth / 250)` pages when
    /// `reconcile_pages` is not set. Reconcile is bounded by time now, not by a count of Pins.
    pub reconcile_depth: Option<usize>,
}

impl SyncConfig {
    /// The page budget of one reconcile (see `reconcile_pages`).
    pub fn reconcile_page_budget(&self) -> u32 {
        const PAGE: usize = crate::pinterest::model::limits::PAGE_SIZE_MAX as usize;
        match (self.reconcile_pages, self.reconcile_depth) {
            (Some(pages), _) => pages,
            (None, Some(depth)) => depth.div_ceil(PAGE).clamp(1, u32::MAX as usize) as u32,
            (None, None) => 20,
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            max_attempts: 12,
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(3600),
            lease: Duration::from_secs(120),
            reconcile_pages: None,
            reconcile_time: Duration::from_secs(30),
            reconcile_skew: Duration::from_secs(300),
            reconcile_depth: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorize_for(api_base: &str, authorize_url: Option<&str>) -> String {
        PinterestConfig {
            api_base: api_base.parse().unwrap(),
            authorize_url: authorize_url.map(|u| u.parse().unwrap()),
            ..PinterestConfig::default()
        }
        .authorize_base()
        .to_string()
    }

    #[test]
    fn the_authorize_page_follows_the_api_unless_set() {
        let pinterest = "https://www.pinterest.com/oauth/";
        assert_eq!(
            authorize_for("https://api.pinterest.com/v5/", None),
            pinterest
        );
        assert_eq!(
            authorize_for("https://api-sandbox.pinterest.com/v5/", None),
            pinterest
        );
        // A local `pinbridge sandbox` serves its page on its own host.
        assert_eq!(
            authorize_for("http://127.0.0.1:8090/v5/", None),
            "http://127.0.0.1:8090/oauth/"
        );
        assert_eq!(
            authorize_for(
                "http://127.0.0.1:8090/v5/",
                Some("http://localhost:8090/oauth/")
            ),
            "http://localhost:8090/oauth/"
        );
        // A host merely ending in "pinterest.com" is not Pinterest's.
        assert_eq!(
            authorize_for("https://notpinterest.com/v5/", None),
            "https://notpinterest.com/oauth/"
        );
    }
}

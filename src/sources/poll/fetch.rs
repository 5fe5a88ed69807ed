//! Fetching for every polled source (feeds, shop APIs, linked pages, WebSub hubs): one shared
//! reqwest client (per connect-timeout and address policy), conditional GET, redirects followed
//! by hand so each hop is checked, and a body cap counted after decompression so a gzip bomb
//! stops at the limit (`body.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use super::body::{network_error, read_response};
pub use super::cache::CacheHints;
use super::error::{FeedError, redact};
// The request and answer types live in their own file because `body.rs` reads into them too.
pub use super::exchange::{FetchOptions, Response};

/// The User-Agent when the operator names no contact: who we are, and no address, because
/// publishers use the address in a User-Agent to reach whoever polls them and pinbridge owns none.
pub const USER_AGENT: &str = concat!("pinbridge/", env!("CARGO_PKG_VERSION"));

/// The User-Agent every source fetch sends unless the source sets its own: [`USER_AGENT`] plus,
/// when the operator gives one, the address (a URL or `mailto:`) publishers can reach them at.
pub fn user_agent_with_contact(contact: Option<&str>) -> String {
    match contact.map(str::trim).filter(|c| !c.is_empty()) {
        Some(contact) => format!("{USER_AGENT} (+{contact})"),
        None => USER_AGENT.to_string(),
    }
}

/// What feed readers accept (Miniflux's list): every feed type, then HTML and anything.
pub const FEED_ACCEPT: &str = "application/xml,application/atom+xml,application/rss+xml,application/rdf+xml,application/feed+json,text/html,*/*;q=0.9";

/// Redirect hops followed before giving up.
pub const MAX_REDIRECTS: usize = 5;

type ClientKey = (Duration, bool);

/// How many fetches may run at once, in all and against one host (politeness: a site with
/// many feeds is not hit by all of them together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchLimits {
    pub global: usize,
    pub per_host: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            global: 16,
            per_host: 2,
        }
    }
}

/// Whole polls (state read, fetch, parse, ingest, state write) in progress at once, per fetch
/// slot. Without a bound, 10,000 feeds due together start 10,000 polls: their store reads and
/// parses fill tokio's blocking pool (512 threads) and memory (docs/BENCHMARKS.md, "Memory").
/// Twice the fetch slots keeps the fetches busy while other polls parse and write.
pub const POLLS_PER_FETCH_SLOT: usize = 2;

/// The HTTP side of every feed source. Cheap to clone; clones share connections and limits.
#[derive(Clone)]
pub struct Fetcher {
    clients: Arc<Mutex<HashMap<ClientKey, Client>>>,
    global: Arc<Semaphore>,
    polls: Arc<Semaphore>,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    limits: FetchLimits,
    /// Host names dialled at a fixed address without DNS or the guard ([`Self::with_pinned_host`]).
    pinned: Arc<Vec<(String, std::net::SocketAddr)>>,
    /// Sent when a request's options name no User-Agent of their own.
    user_agent: Arc<str>,
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::with_limits(FetchLimits::default())
    }
}

impl Fetcher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: FetchLimits) -> Self {
        let limits = FetchLimits {
            global: limits.global.max(1),
            per_host: limits.per_host.max(1),
        };
        Self {
            clients: Arc::default(),
            global: Arc::new(Semaphore::new(limits.global)),
            polls: Arc::new(Semaphore::new(limits.global * POLLS_PER_FETCH_SLOT)),
            hosts: Arc::default(),
            limits,
            pinned: Arc::default(),
            user_agent: Arc::from(USER_AGENT),
        }
    }

    /// The same fetcher sending `agent` to every request that names no User-Agent of its own
    /// (see [`user_agent_with_contact`]).
    pub fn with_user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Arc::from(agent.into());
        self
    }

    /// The User-Agent sent when a request's options name none.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The same fetcher, dialling `host` at `addr` without DNS and without the address guard
    /// for that one name; every other host, and every redirect away from it, is guarded as
    /// usual. Tests use it to stand a loopback server in for a public site, which is the only
    /// way to see what the guard does with that site's redirects. Not reachable from config.
    #[doc(hidden)]
    pub fn with_pinned_host(mut self, host: &str, addr: std::net::SocketAddr) -> Self {
        let mut pinned = (*self.pinned).clone();
        pinned.push((host.to_ascii_lowercase(), addr));
        self.pinned = Arc::new(pinned);
        self.clients = Arc::default();
        self
    }

    /// The same fetcher with room for `polls` whole polls at once instead of
    /// `global × POLLS_PER_FETCH_SLOT` (benchmarks compare; at least 1).
    pub fn with_poll_limit(mut self, polls: usize) -> Self {
        self.polls = Arc::new(Semaphore::new(polls.clamp(1, Semaphore::MAX_PERMITS)));
        self
    }

    /// Wait for a turn to run a whole poll (see [`POLLS_PER_FETCH_SLOT`]); held until the poll's
    /// state is saved. `None` only if the fetcher is shutting down (then run unbounded).
    pub async fn poll_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.polls.clone().acquire_owned().await.ok()
    }

    /// Wait for a slot overall and for `host`. The permits are held for the whole fetch.
    async fn slots(
        &self,
        host: &str,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), FeedError> {
        let closed = |_| FeedError::BadUrl("the fetcher is shutting down".into());
        let global = self.global.clone().acquire_owned().await.map_err(closed)?;
        let per_host = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            // Forget hosts nobody is fetching from, so the map does not grow without bound.
            hosts.retain(|_, s| {
                Arc::strong_count(s) > 1 || s.available_permits() < self.limits.per_host
            });
            hosts
                .entry(host.to_ascii_lowercase())
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_host)))
                .clone()
        };
        let per_host = per_host.acquire_owned().await.map_err(closed)?;
        Ok((global, per_host))
    }

    /// The shared client for this connect timeout and address policy, built on first use.
    fn client(&self, connect_timeout: Duration, allow_private: bool) -> Result<Client, FeedError> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&(connect_timeout, allow_private)) {
            return Ok(client.clone());
        }
        let mut builder = Client::builder()
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .pool_idle_timeout(Duration::from_secs(10));
        // reqwest consults these before the (guarded) resolver.
        for (host, addr) in self.pinned.iter() {
            builder = builder.resolve(host, *addr);
        }
        let client = super::ssrf::guard(builder, allow_private)
            .build()
            .map_err(|e| FeedError::BadUrl(format!("could not build the HTTP client: {e}")))?;
        clients.insert((connect_timeout, allow_private), client.clone());
        Ok(client)
    }

    /// GET `url`, following up to [`MAX_REDIRECTS`] redirects, within `opts.timeout` overall.
    ///
    /// Waiting for a concurrency slot does not count against the timeout.
    pub async fn get(&self, url: &Url, opts: &FetchOptions) -> Result<Response, FeedError> {
        self.get_with_headers(url, opts, &HeaderMap::new()).await
    }

    /// [`Self::get`] with `extra` request headers (API keys, bearer tokens). They are sent only
    /// to the origin of `url`: a redirect to another origin does not carry them.
    pub async fn get_with_headers(
        &self,
        url: &Url,
        opts: &FetchOptions,
        extra: &HeaderMap,
    ) -> Result<Response, FeedError> {
        let _slots = self.slots(url.host_str().unwrap_or("")).await?;
        match tokio::time::timeout(opts.timeout, self.get_inner(url, opts, extra)).await {
            Ok(result) => result,
            Err(_) => Err(FeedError::Timeout {
                after: opts.timeout,
            }),
        }
    }

    async fn get_inner(
        &self,
        url: &Url,
        opts: &FetchOptions,
        extra: &HeaderMap,
    ) -> Result<Response, FeedError> {
        let client = self.client(opts.connect_timeout, opts.allow_private)?;
        let mut current = url.clone();
        let mut hops = 0;
        loop {
            super::ssrf::check_url(&current, opts.allow_private)?;
            let mut headers = request_headers(opts, &self.user_agent)?;
            if current.origin() == url.origin() {
                for (name, value) in extra {
                    headers.insert(name.clone(), value.clone());
                }
            }
            let response = client
                .get(current.clone())
                .headers(headers)
                .timeout(opts.timeout)
                .send()
                .await
                .map_err(|e| network_error(&current, e, opts.timeout))?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = redirect_target(&current, response.headers())?;
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(FeedError::TooManyRedirects {
                        max: MAX_REDIRECTS,
                        url: redact(&next),
                    });
                }
                current = next;
                continue;
            }
            return read_response(current, response, opts).await;
        }
    }
}

fn request_headers(opts: &FetchOptions, default_agent: &str) -> Result<HeaderMap, FeedError> {
    let mut headers = HeaderMap::new();
    let agent = opts.user_agent.as_deref().unwrap_or(default_agent);
    let agent = HeaderValue::from_str(agent)
        .map_err(|_| FeedError::BadUrl("the user_agent is not a valid header value".into()))?;
    headers.insert(header::USER_AGENT, agent);
    headers.insert(header::ACCEPT, HeaderValue::from_static(opts.accept));
    // Validators come from an earlier response; one that is not a valid header is just dropped.
    if let Some(v) = opts
        .etag
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(header::IF_NONE_MATCH, v);
    }
    if let Some(v) = opts
        .last_modified
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(header::IF_MODIFIED_SINCE, v);
    }
    Ok(headers)
}

fn redirect_target(current: &Url, headers: &HeaderMap) -> Result<Url, FeedError> {
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            FeedError::BadUrl(format!("{} redirected without a Location", redact(current)))
        })?;
    let next = current.join(location).map_err(|e| {
        FeedError::BadUrl(format!(
            "{} redirected to an unusable Location ({e})",
            redact(current)
        ))
    })?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(FeedError::Blocked {
            url: redact(&next),
            reason: "a redirect may only lead to http or https".into(),
        });
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_pinbridge_and_its_version() {
        let version = concat!("pinbridge/", env!("CARGO_PKG_VERSION"));
        // No address by default: pinbridge owns none a publisher could use.
        assert_eq!(USER_AGENT, version);
        assert_eq!(Fetcher::new().user_agent(), version);
        assert_eq!(user_agent_with_contact(None), version);
        assert_eq!(
            user_agent_with_contact(Some("mailto:ops@example.com")),
            format!("{version} (+mailto:ops@example.com)")
        );
    }

    #[tokio::test]
    async fn whole_polls_are_bounded_at_twice_the_fetch_slots() {
        use futures::FutureExt;
        let fetcher = Fetcher::with_limits(FetchLimits {
            global: 3,
            per_host: 1,
        });
        let mut turns = Vec::new();
        for _ in 0..3 * POLLS_PER_FETCH_SLOT {
            turns.push(
                fetcher
                    .poll_slot()
                    .now_or_never()
                    .flatten()
                    .expect("a free turn"),
            );
        }
        // Clones share the bound.
        let clone = fetcher.clone();
        assert!(
            clone.poll_slot().now_or_never().is_none(),
            "all turns taken"
        );
        turns.pop();
        assert!(
            clone.poll_slot().now_or_never().flatten().is_some(),
            "a turn freed"
        );

        let one = Fetcher::new().with_poll_limit(1);
        let _held = one.poll_slot().now_or_never().flatten().expect("one turn");
        assert!(one.poll_slot().now_or_never().is_none());
        assert!(
            Fetcher::new()
                .with_poll_limit(0)
                .poll_slot()
                .now_or_never()
                .is_some(),
            "at least 1"
        );
    }
}

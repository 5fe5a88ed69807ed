//! Fetching a JSON document a payload refers to (a WordPress attachment for its featured image).
//!
//! The URL comes from the payload, so a sender could aim it anywhere: the default fetcher is the
//! feed sources' SSRF-guarded one (no loopback, private or metadata addresses unless the source
//! sets `allow_private`, every redirect hop checked again), with a total timeout and a size cap.
//! Behind a trait so tests can answer without a network.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use crate::sources::poll::error::{FeedError, redact};
use crate::sources::poll::fetch::{FetchOptions, Fetcher};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("could not set up the HTTP client: {0}")]
    Client(String),
    #[error("GET {url} failed: {reason}")]
    Request { url: String, reason: String },
    #[error("GET {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: response larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("GET {url}: response is not JSON: {reason}")]
    NotJson { url: String, reason: String },
    /// The address guard refused the URL or a redirect (the message says which and why).
    #[error("{0}")]
    Blocked(String),
}

/// GETs JSON documents for payload mappers.
#[async_trait]
pub trait MediaFetcher: Send + Sync + 'static {
    /// The document at `url`; `Ok(None)` when the server says it does not exist (404, 410).
    /// Loopback and private addresses are reached only when `allow_private` (the source's
    /// setting) is true.
    async fn get_json(&self, url: &Url, allow_private: bool) -> Result<Option<Value>, FetchError>;
}

/// The default fetcher: the guarded feed fetcher with a total timeout and a size cap.
#[derive(Clone)]
pub struct HttpFetcher {
    fetcher: Fetcher,
    timeout: Duration,
    max_bytes: usize,
}

impl HttpFetcher {
    pub fn new(timeout: Duration, max_bytes: usize) -> Result<Self, FetchError> {
        Ok(Self::with_fetcher(Fetcher::new(), timeout, max_bytes))
    }

    /// Over an existing feed fetcher (sharing its connections and limits, or a test's pinned
    /// host).
    pub fn with_fetcher(fetcher: Fetcher, timeout: Duration, max_bytes: usize) -> Self {
        Self {
            fetcher,
            timeout,
            max_bytes,
        }
    }

    /// 10 s timeout, 1 MiB cap.
    pub fn standard() -> Result<Self, FetchError> {
        Ok(Self::standard_over(Fetcher::new()))
    }

    /// [`Self::standard`]'s timeout and cap over `fetcher` (the configured User-Agent).
    pub fn standard_over(fetcher: Fetcher) -> Self {
        Self::with_fetcher(fetcher, Duration::from_secs(10), 1024 * 1024)
    }
}

#[async_trait]
impl MediaFetcher for HttpFetcher {
    async fn get_json(&self, url: &Url, allow_private: bool) -> Result<Option<Value>, FetchError> {
        let opts = FetchOptions {
            accept: "application/json",
            etag: None,
            last_modified: None,
            timeout: self.timeout,
            connect_timeout: self.timeout.min(Duration::from_secs(5)),
            max_body_bytes: self.max_bytes as u64,
            user_agent: None,
            allow_private,
        };
        let shown = redact(url);
        let response = match self.fetcher.get(url, &opts).await {
            Ok(response) => response,
            Err(FeedError::Http {
                status: 404 | 410, ..
            }) => return Ok(None),
            Err(FeedError::Http { status, .. }) => {
                return Err(FetchError::Status { url: shown, status });
            }
            Err(FeedError::TooLarge { .. }) => {
                return Err(FetchError::TooLarge {
                    url: shown,
                    limit: self.max_bytes,
                });
            }
            Err(blocked @ FeedError::Blocked { .. }) => {
                return Err(FetchError::Blocked(blocked.to_string()));
            }
            Err(other) => {
                return Err(FetchError::Request {
                    url: shown,
                    reason: other.to_string(),
                });
            }
        };
        serde_json::from_slice(&response.body)
            .map(Some)
            .map_err(|e| FetchError::NotJson {
                url: shown,
                reason: e.to_string(),
            })
    }
}

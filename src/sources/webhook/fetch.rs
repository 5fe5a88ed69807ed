//! Fetching a JSON document a payload refers to (a WordPress attachment for its featured image).
//!
//! Behind a trait so that the feed work's SSRF-guarded fetcher can be plugged in; the default
//! is a plain reqwest client with timeouts, few redirects and a size cap.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

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
}

/// GETs JSON documents for payload mappers.
#[async_trait]
pub trait MediaFetcher: Send + Sync + 'static {
    /// The document at `url`; `Ok(None)` when the server says it does not exist (404, 410).
    async fn get_json(&self, url: &Url) -> Result<Option<Value>, FetchError>;
}

/// The default fetcher: reqwest with a total timeout, at most 3 redirects and a size cap.
#[derive(Clone, Debug)]
pub struct HttpFetcher {
    client: reqwest::Client,
    max_bytes: usize,
}

impl HttpFetcher {
    pub fn new(timeout: Duration, max_bytes: usize) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("pinbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(Self { client, max_bytes })
    }

    /// 10 s timeout, 1 MiB cap.
    pub fn standard() -> Result<Self, FetchError> {
        Self::new(Duration::from_secs(10), 1024 * 1024)
    }
}

#[async_trait]
impl MediaFetcher for HttpFetcher {
    async fn get_json(&self, url: &Url) -> Result<Option<Value>, FetchError> {
        let failed = |e: reqwest::Error| FetchError::Request {
            url: url.to_string(),
            reason: e.without_url().to_string(),
        };
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| FetchError::NotJson {
                url: url.to_string(),
                reason: e.to_string(),
            })
    }
}

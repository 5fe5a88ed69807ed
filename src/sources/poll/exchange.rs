//! What one fetch asks for ([`FetchOptions`]) and what it brings back ([`Response`]): the types
//! `fetch.rs` (requests, redirects) and `body.rs` (reading the answer) share.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use url::Url;

use super::cache::CacheHints;

/// How one fetch is made.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    pub accept: &'static str,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: u64,
    pub user_agent: Option<String>,
    pub allow_private: bool,
}

/// The useful parts of a final response.
#[derive(Clone, Debug)]
pub struct Response {
    /// The URL after redirects (the base for relative links).
    pub url: Url,
    pub not_modified: bool,
    pub body: Bytes,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub cache: CacheHints,
    /// All response headers (API sources read their quota headers from here).
    pub headers: HeaderMap,
}

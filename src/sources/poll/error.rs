//! Why a poll failed, in words a user can act on. The message is what `last_error` records.

use std::time::Duration;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("the feed URL is not usable: {0}")]
    BadUrl(String),
    #[error("the server answered HTTP {status}{}", reason_suffix(.status))]
    Http {
        status: u16,
        /// `Retry-After` of a 429 or 503, for the scheduler.
        retry_after: Option<Duration>,
    },
    #[error(
        "the feed is larger than the limit of {limit} bytes (raise `max_body_bytes` if it is genuine)"
    )]
    TooLarge { limit: u64 },
    #[error("could not connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("timed out after {}", humantime::format_duration(*.after))]
    Timeout { after: Duration },
    #[error("fetching {url} failed: {reason}")]
    Network {
        url: String,
        reason: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("more than {max} redirects, the last to {url}")]
    TooManyRedirects { max: usize, url: String },
    #[error("refused to fetch {url}: {reason}")]
    Blocked { url: String, reason: String },
    #[error("could not read the feed: {message}")]
    Parse { message: String },
    #[error("could not record the items: {0}")]
    Store(#[from] StoreError),
}

impl FeedError {
    pub(crate) fn parse(message: impl Into<String>) -> Self {
        FeedError::Parse {
            message: message.into(),
        }
    }

    /// A hint from the server on when to come back (`Retry-After` on 429/503).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FeedError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn reason_suffix(status: &u16) -> String {
    match reqwest::StatusCode::from_u16(*status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!(" ({reason})"),
        None => String::new(),
    }
}

/// `url` for messages and logs: credentials and query values (`?token=…`, common for private
/// feeds) hidden, as everywhere pinbridge shows a URL.
pub fn redact(url: &url::Url) -> String {
    crate::redact::url(url.as_str())
}

/// The readable reason inside a reqwest error: the innermost I/O error when there is one
/// ("Connection refused"), else reqwest's own text.
pub(crate) fn describe(err: &reqwest::Error) -> String {
    // reqwest's own text may include the URL (and so a password): it is only used as a fallback.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut innermost = err.to_string();
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => "connection reset by the server".into(),
                std::io::ErrorKind::TimedOut => "timed out".into(),
                _ => io.to_string(),
            };
        }
        innermost = e.to_string();
        cause = e.source();
    }
    innermost
}

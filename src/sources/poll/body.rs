//! Reading an answer: status and validators, then the body streamed up to its cap (a gzip bomb
//! stops at `max_body_bytes`); and turning a reqwest failure into a [`FeedError`] a user can act
//! on.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header;
use url::Url;

use super::cache::cache_hints;
use super::error::{FeedError, describe, redact};
use super::exchange::{FetchOptions, Response};

pub(super) async fn read_response(
    url: Url,
    mut response: reqwest::Response,
    opts: &FetchOptions,
) -> Result<Response, FeedError> {
    let status = response.status();
    let headers = response.headers().clone();
    let cache = cache_hints(&headers);
    if !status.is_success() && status != StatusCode::NOT_MODIFIED {
        return Err(FeedError::Http {
            status: status.as_u16(),
            retry_after: cache.retry_after,
        });
    }
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut out = Response {
        url: url.clone(),
        not_modified: status == StatusCode::NOT_MODIFIED,
        body: Bytes::new(),
        content_type: text(header::CONTENT_TYPE),
        etag: text(header::ETAG),
        last_modified: text(header::LAST_MODIFIED),
        cache,
        headers: headers.clone(),
    };
    if out.not_modified {
        return Ok(out);
    }
    // reqwest drops Content-Length when it decompresses, so a length here is the real size.
    if response
        .content_length()
        .is_some_and(|n| n > opts.max_body_bytes)
    {
        return Err(FeedError::TooLarge {
            limit: opts.max_body_bytes,
        });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| network_error(&url, e, opts.timeout))?
    {
        if (body.len() + chunk.len()) as u64 > opts.max_body_bytes {
            return Err(FeedError::TooLarge {
                limit: opts.max_body_bytes,
            });
        }
        body.extend_from_slice(&chunk);
    }
    out.body = body.freeze();
    Ok(out)
}

pub(super) fn network_error(url: &Url, err: reqwest::Error, timeout: Duration) -> FeedError {
    if err.is_timeout() {
        return FeedError::Timeout { after: timeout };
    }
    let reason = describe(&err);
    if let Some(blocked) = super::ssrf::blocked_in(&err) {
        return blocked;
    }
    if err.is_connect() {
        let target = match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => redact(url),
        };
        return FeedError::Connect { target, reason };
    }
    FeedError::Network {
        url: redact(url),
        reason,
        source: err.without_url(),
    }
}

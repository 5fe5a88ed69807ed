//! The API v5 client: one method per operation pinbridge needs. No retries except one repeat after
//! a 401 and a token refresh; the sync engine owns retries, pacing and reconciliation.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use super::error::{ApiError, error_chain, error_from};
use super::model::{
    Account, Board, BoardCreate, BoardSection, Page, Pin, PinCreate, PinUpdate, SectionCreate,
    limits,
};
use super::oauth::TokenManager;
use crate::retry_after::{RateLimitHeaders, rate_limit_wait};

/// The request-id header Pinterest puts on every answer.
pub const REQUEST_ID_HEADER: &str = "x-pinterest-rid";

/// Cheap to clone (an `Arc` inside).
#[derive(Clone, Debug)]
pub struct PinterestClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: Url,
    http: reqwest::Client,
    tokens: Arc<TokenManager>,
    page_size: u32,
}

/// One prepared call: method, path segments under the base, query, JSON body.
pub(super) struct Call<'a> {
    method: Method,
    path: &'a [&'a str],
    pub(super) query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl PinterestClient {
    /// `api_base` is the versioned root, e.g. `https://api.pinterest.com/v5/` (a missing final `/`
    /// is added).
    pub fn new(api_base: &Url, http: reqwest::Client, tokens: Arc<TokenManager>) -> Self {
        let mut base = api_base.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Self {
            inner: Arc::new(Inner {
                base,
                http,
                tokens,
                page_size: limits::PAGE_SIZE_MAX,
            }),
        }
    }

    /// Use smaller pages for the list calls (clamped to 1..=250). Mainly for tests.
    pub fn with_page_size(self, page_size: u32) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                base: inner.base.clone(),
                http: inner.http.clone(),
                tokens: inner.tokens.clone(),
                page_size: page_size.clamp(limits::PAGE_SIZE_MIN, limits::PAGE_SIZE_MAX),
            }),
        }
    }

    pub fn tokens(&self) -> &Arc<TokenManager> {
        &self.inner.tokens
    }

    /// `GET /user_account`.
    pub async fn user_account(&self) -> Result<Account, ApiError> {
        self.send(Call::get(&["user_account"])).await
    }

    /// `GET /boards`, every page.
    pub async fn list_boards(&self) -> Result<Vec<Board>, ApiError> {
        self.all_pages(&["boards"], usize::MAX).await
    }

    /// `POST /boards`.
    pub async fn create_board(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<Board, ApiError> {
        self.create_board_with_privacy(name, description, None)
            .await
    }

    /// `POST /boards` with a `privacy` (`PUBLIC`, `PROTECTED` or `SECRET`; `None` leaves
    /// Pinterest's default, public).
    pub async fn create_board_with_privacy(
        &self,
        name: &str,
        description: Option<&str>,
        privacy: Option<&str>,
    ) -> Result<Board, ApiError> {
        let body = BoardCreate {
            name: name.to_string(),
            description: description.map(str::to_string),
            privacy: privacy.map(str::to_string),
        };
        self.send(Call::post(&["boards"], &body)?).await
    }

    /// `GET /boards/{board_id}/sections`, every page.
    pub async fn list_sections(&self, board_id: &str) -> Result<Vec<BoardSection>, ApiError> {
        self.all_pages(&["boards", board_id, "sections"], usize::MAX)
            .await
    }

    /// `POST /boards/{board_id}/sections`.
    pub async fn create_section(
        &self,
        board_id: &str,
        name: &str,
    ) -> Result<BoardSection, ApiError> {
        let body = SectionCreate { name };
        self.send(Call::post(&["boards", board_id, "sections"], &body)?)
            .await
    }

    /// `POST /pins`.
    pub async fn create_pin(&self, pin: &PinCreate) -> Result<Pin, ApiError> {
        self.send(Call::post(&["pins"], pin)?).await
    }

    /// `GET /pins/{pin_id}`.
    pub async fn get_pin(&self, pin_id: &str) -> Result<Pin, ApiError> {
        self.send(Call::get(&["pins", pin_id])).await
    }

    /// `PATCH /pins/{pin_id}`: change a Pin's text fields. Pinterest marks this operation beta
    /// and "not available to all apps": see [`ApiError::update_unavailable`] for how such a
    /// refusal is told apart.
    pub async fn update_pin(&self, pin_id: &str, update: &PinUpdate) -> Result<Pin, ApiError> {
        let path = ["pins", pin_id];
        self.send(Call::with_body(Method::PATCH, &path, update)?)
            .await
    }

    /// `DELETE /pins/{pin_id}`: 204 when deleted; a Pin that is not there is `NotFound`.
    pub async fn delete_pin(&self, pin_id: &str) -> Result<(), ApiError> {
        let path = ["pins", pin_id];
        let call = Call {
            method: Method::DELETE,
            path: &path,
            query: Vec::new(),
            body: None,
        };
        self.send(call).await
    }

    /// `GET /boards/{board_id}/pins`: the newest `max` Pins, newest first.
    pub async fn board_pins(&self, board_id: &str, max: usize) -> Result<Vec<Pin>, ApiError> {
        self.all_pages(&["boards", board_id, "pins"], max).await
    }

    /// One page of a board's Pins, newest first, from `bookmark` (`None`: the first page), at
    /// the client's page size. Reconcile pages by time with this, deciding itself when to stop.
    pub async fn board_pins_page(
        &self,
        board_id: &str,
        bookmark: Option<&str>,
    ) -> Result<Page<Pin>, ApiError> {
        let path = ["boards", board_id, "pins"];
        let mut call = Call::get(&path);
        call.query
            .push(("page_size", self.inner.page_size.to_string()));
        if let Some(b) = bookmark {
            call.query.push(("bookmark", b.to_string()));
        }
        self.send(call).await
    }

    /// Follow bookmarks until the last page or `max` items.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &[&str],
        max: usize,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut bookmark: Option<String> = None;
        while out.len() < max {
            let want = (max - out.len()).min(self.inner.page_size as usize);
            let mut call = Call::get(path);
            call.query.push(("page_size", want.to_string()));
            if let Some(b) = &bookmark {
                call.query.push(("bookmark", b.clone()));
            }
            let page: Page<T> = self.send(call).await?;
            let empty = page.items.is_empty();
            out.extend(page.items);
            match page.bookmark {
                // A repeated bookmark would loop forever; an empty page ends it as well.
                Some(next) if !next.is_empty() && !empty && bookmark.as_ref() != Some(&next) => {
                    bookmark = Some(next)
                }
                _ => break,
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// Send with the current token; on 401 refresh once (single flight) and repeat once.
    pub(super) async fn send<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ApiError> {
        let url = self.url(&call);
        let span = tracing::info_span!("pinterest", method = %call.method, path = %url.path(),
            status = tracing::field::Empty, rid = tracing::field::Empty);
        async {
            let token = self.inner.tokens.access_token().await?;
            let mut resp = self.send_once(&call, &url, &token).await?;
            if resp.status() == StatusCode::UNAUTHORIZED {
                tracing::debug!(
                    "Got 401; refreshing the access token and repeating the call once."
                );
                let fresh = self.inner.tokens.refresh(&token).await?;
                resp = self.send_once(&call, &url, &fresh).await?;
            }
            let status = resp.status();
            let rid = resp
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let span = tracing::Span::current();
            span.record("status", status.as_u16());
            if let Some(r) = &rid {
                span.record("rid", r.as_str());
            }
            let retry_after = wait_asked_for(resp.headers(), self.inner.tokens.clock().now_ms());
            let body = resp.bytes().await.map_err(|e| transport(e, true))?;
            if status.is_success() {
                tracing::debug!("Pinterest call succeeded.");
                // A 204 has no body: it reads as JSON `null`, which only `()` accepts.
                let body: &[u8] = if body.is_empty() { b"null" } else { &body };
                return serde_json::from_slice(body).map_err(|e| ApiError::Decode {
                    message: format!("{e} (HTTP {status})"),
                    request_id: rid,
                });
            }
            let err = error_from(status, &body, rid, retry_after);
            if matches!(err, ApiError::NotFound { .. }) {
                // Lookups (reconciliation, board checks) expect some of these.
                tracing::debug!(error = %err, "Pinterest call found nothing.");
            } else {
                tracing::warn!(error = %err, "Pinterest call failed.");
            }
            Err(err)
        }
        .instrument(span)
        .await
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        url: &Url,
        token: &SecretString,
    ) -> Result<reqwest::Response, ApiError> {
        let mut req = self
            .inner
            .http
            .request(call.method.clone(), url.clone())
            .bearer_auth(token.expose_secret());
        if let Some(body) = &call.body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let started = std::time::Instant::now();
        let sent = req.send().await;
        let status = sent
            .as_ref()
            .map_or_else(|_| "error".to_string(), |r| r.status().as_u16().to_string());
        metrics::histogram!("pinbridge_pinterest_request_seconds", "method" => call.method.to_string(), "status" => status)
            .record(started.elapsed().as_secs_f64());
        sent.map_err(|e| {
            // A refused connection sent nothing; anything later (timeout, reset) may have been applied.
            let sent = !(e.is_connect() || e.is_builder());
            transport(e, sent)
        })
    }

    fn url(&self, call: &Call<'_>) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            // Segments are percent-encoded here, so an id can never change the path.
            segs.pop_if_empty().extend(call.path);
        }
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(call.query.iter());
        }
        url
    }
}

impl<'a> Call<'a> {
    pub(super) fn get(path: &'a [&'a str]) -> Self {
        Call {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    fn post(path: &'a [&'a str], body: &impl Serialize) -> Result<Self, ApiError> {
        Self::with_body(Method::POST, path, body)
    }

    fn with_body(
        method: Method,
        path: &'a [&'a str],
        body: &impl Serialize,
    ) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(body).map_err(|e| ApiError::Decode {
            message: format!("could not encode the request body: {e}"),
            request_id: None,
        })?;
        Ok(Call {
            method,
            path,
            query: Vec::new(),
            body: Some(body),
        })
    }
}

fn transport(e: reqwest::Error, maybe_sent: bool) -> ApiError {
    ApiError::Transport {
        message: error_chain(&e),
        maybe_sent,
    }
}

/// How long an answer asks us to wait: `Retry-After`, else `X-RateLimit-Reset` (Pinterest's
/// spec declares neither, so both are optional). The headers are logged when present because
/// they show the real quota, which the pacer otherwise has to learn from 429s.
fn wait_asked_for(
    headers: &reqwest::header::HeaderMap,
    now_ms: i64,
) -> Option<std::time::Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let rate_limit = RateLimitHeaders::read(get, now_ms);
    if rate_limit.present() {
        tracing::debug!(limit = ?rate_limit.limit, remaining = ?rate_limit.remaining,
            reset_in = ?rate_limit.reset_in, "Pinterest rate-limit headers");
    }
    rate_limit_wait(
        get(reqwest::header::RETRY_AFTER.as_str()),
        &rate_limit,
        now_ms,
    )
}

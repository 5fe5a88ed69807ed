//! `POST /sources/{id}/dry-run`: fetch and parse one polled source now, with the service's own
//! guarded fetcher, and say what a poll would pin. Nothing is written: no item, no job, no
//! validators, no schedule. `pinbridge poll --dry-run` shows the same [`PollPreview`], whether
//! it asked the running service or read the store itself.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use super::answers::ErrorBody;
use super::records::live;
use crate::http::HttpState;
use crate::item::Item;
use crate::live::parts::Task;
use crate::sources::feed::FeedSource;
use crate::sources::feed::poller::{self, DryRun};
use crate::sources::shop::ShopSource;
use crate::store::{SourceState, Store, StoreError};

/// What a poll would do with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The store knows this item already.
    Known,
    /// New on first contact: recorded as seen, not pinned (the `backfill` policy).
    Baseline,
    /// New but without an image: recorded as skipped.
    NoImage,
    /// New: it would be pinned.
    New,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PreviewItem {
    pub key: String,
    pub title: String,
    pub link: Option<String>,
    pub image_url: Option<String>,
    pub verdict: Verdict,
}

/// The source's polling state as stored (errors redacted). Times are Unix milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PollingState {
    pub last_poll: Option<i64>,
    pub next_poll: Option<i64>,
    pub error_count: u32,
    pub last_error: Option<String>,
    pub parked: Option<String>,
}

impl PollingState {
    pub fn new(state: &SourceState) -> Self {
        Self {
            last_poll: state.last_poll,
            next_poll: state.next_poll,
            error_count: state.error_count,
            last_error: state.last_error.as_deref().map(crate::redact::error),
            parked: state.parked.as_deref().map(crate::redact::error),
        }
    }

    /// Back as a store record, for the one-line summary the CLI prints.
    pub fn as_source_state(&self) -> SourceState {
        SourceState {
            last_poll: self.last_poll,
            next_poll: self.next_poll,
            error_count: self.error_count,
            last_error: self.last_error.clone(),
            parked: self.parked.clone(),
            ..SourceState::default()
        }
    }
}

/// What a poll of the source would do now, item by item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PollPreview {
    pub source: String,
    pub polling: PollingState,
    /// A feed never polled before: `backfill` decides what is pinned.
    pub first_contact: bool,
    /// The feed's `backfill` setting (feeds only).
    pub backfill: Option<String>,
    /// How many listings the shop listed (shops only; Etsy fetches only unknown ones in full).
    pub listed: Option<usize>,
    pub items: Vec<PreviewItem>,
    /// How many items would be pinned.
    pub would_pin: usize,
}

fn preview_item(item: &Item, verdict: Verdict) -> PreviewItem {
    let verdict = match verdict {
        Verdict::New if item.image_url.is_none() => Verdict::NoImage,
        other => other,
    };
    PreviewItem {
        key: item.key.to_string(),
        title: item.title.clone(),
        link: item.link.clone(),
        image_url: item.image_url.clone(),
        verdict,
    }
}

impl PollPreview {
    fn new(source: &str, state: &SourceState, items: Vec<PreviewItem>) -> Self {
        Self {
            source: source.to_string(),
            polling: PollingState::new(state),
            first_contact: false,
            backfill: None,
            listed: None,
            would_pin: items.iter().filter(|i| i.verdict == Verdict::New).count(),
            items,
        }
    }

    /// A feed's dry run as [`poller::poll_now`] found it.
    pub fn feed(feed: &FeedSource, state: &SourceState, dry: &DryRun) -> Self {
        let items = dry
            .items
            .iter()
            .map(|entry| {
                let verdict = match (entry.known, entry.baseline) {
                    (true, _) => Verdict::Known,
                    (false, true) => Verdict::Baseline,
                    (false, false) => Verdict::New,
                };
                preview_item(&entry.item, verdict)
            })
            .collect();
        Self {
            first_contact: dry.first_contact,
            backfill: Some(feed.settings().backfill.to_string()),
            ..Self::new(feed.id().as_str(), state, items)
        }
    }

    /// Fetch `feed` now and compare with the store; writes nothing.
    pub async fn of_feed(feed: &FeedSource, store: &dyn Store) -> Result<Self, String> {
        let state = store.source_state(feed.id()).await.map_err(store_error)?;
        let dry = poller::poll_now(feed, store)
            .await
            .map_err(|e| format!("polling {}: {e}", feed.display_url()))?;
        Ok(Self::feed(feed, &state, &dry))
    }

    /// Fetch `shop` now and compare with the store; writes nothing.
    pub async fn of_shop(shop: &ShopSource, store: &dyn Store) -> Result<Self, String> {
        let state = store.source_state(shop.id()).await.map_err(store_error)?;
        let fetched = shop
            .fetch(store)
            .await
            .map_err(|e| format!("polling {}: {e}", shop.id()))?;
        let mut items = Vec::with_capacity(fetched.items.len());
        for item in &fetched.items {
            let known = store
                .item(shop.id(), &item.key)
                .await
                .map_err(store_error)?
                .is_some();
            let verdict = if known { Verdict::Known } else { Verdict::New };
            items.push(preview_item(item, verdict));
        }
        Ok(Self {
            listed: Some(fetched.listed),
            ..Self::new(shop.id().as_str(), &state, items)
        })
    }
}

fn store_error(e: StoreError) -> String {
    format!("reading the store: {e}")
}

/// Fetch and parse a feed or shop source now (paused or not) with the service's own fetcher
/// and say which items are new and which would be pinned. Writes nothing.
#[utoipa::path(post, path = "/sources/{id}/dry-run", tag = "sources",
    params(("id" = String, Path, description = "The source id.")),
    responses((status = 200, description = "What a poll would do now.", body = PollPreview),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such source.", body = ErrorBody),
        (status = 409, description = "The source is not polled (a webhook source).", body = ErrorBody),
        (status = 502, description = "The fetch failed (the error says why, redacted).", body = ErrorBody)))]
pub async fn dry_run(
    State(state): State<HttpState>,
    Path(id): Path<String>,
) -> Result<Json<PollPreview>, ApiError> {
    let live = live(&state)?;
    let task = match live.polled_source(&id).await {
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no source `{id}`"),
            ));
        }
        Some(None) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("source `{id}` is a webhook source; only feeds and shops are polled"),
            ));
        }
        Some(Some(task)) => task.map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, crate::redact::error(&e))
        })?,
    };
    let store = live.store().as_ref();
    let preview = match &task {
        Task::Feed(feed) => PollPreview::of_feed(feed, store).await,
        Task::Shop(shop) => PollPreview::of_shop(shop, store).await,
    };
    preview
        .map(Json)
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, crate::redact::error(&e)))
}

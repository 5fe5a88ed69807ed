//! The admin API's item, source-list and stats handlers (jobs are in `jobs.rs`). Lists are
//! newest first and capped (`limit`, default 50, max 500).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::ApiError;
use super::answers::{ErrorBody, Forgotten, ItemAnswer, ItemList, ListQuery};
use super::config_answers::{SourceAnswer, SourceList};
use crate::http::HttpState;
use crate::item::{DedupKey, SourceId};
use crate::store::{ItemFilter, StoreStats};

pub(super) const STATES: [&str; 6] = ["pending", "leased", "retry", "unknown", "done", "dead"];
pub(super) const MAX_LIMIT: usize = 500;

impl ListQuery {
    pub(super) fn limit(&self) -> usize {
        self.limit.unwrap_or(50).clamp(1, MAX_LIMIT)
    }

    pub(super) fn state(&self) -> Result<Option<String>, ApiError> {
        match self.state.as_deref() {
            None | Some("") => Ok(None),
            Some(s) if STATES.contains(&s) => Ok(Some(s.to_string())),
            Some(s) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("unknown state `{s}`: use one of {}", STATES.join(", ")),
            )),
        }
    }
}

/// Configured sources with their polling state (ok, failing, parked, paused), their origin
/// (`file` or `api`) and their settings as in TOML.
#[utoipa::path(get, path = "/sources", tag = "sources",
    responses((status = 200, description = "The sources.", body = SourceList),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn sources(State(state): State<HttpState>) -> Result<Json<SourceList>, ApiError> {
    if let Some(live) = &state.live {
        return Ok(Json(super::sources::list_sources(live).await?));
    }
    let mut sources = Vec::new();
    for source in state.sources.iter() {
        let polled = state.store.source_state(&SourceId::new(&source.id)).await?;
        sources.push(SourceAnswer::new(source, &polled));
    }
    Ok(Json(SourceList { sources }))
}

/// Items, newest first, with their jobs.
#[utoipa::path(get, path = "/items", tag = "items", params(ListQuery),
    responses((status = 200, description = "The items.", body = ItemList),
        (status = 400, description = "A query parameter is not valid.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn items(
    State(state): State<HttpState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<ItemList>, ApiError> {
    let wanted = query.state()?;
    let limit = query.limit();
    let stored = state
        .store
        .items(ItemFilter {
            source: query.source.as_deref().map(SourceId::new),
            // With a state filter, look further back so `limit` matching items can be found.
            limit: if wanted.is_some() {
                MAX_LIMIT * 4
            } else {
                limit
            },
        })
        .await?;
    let mut items = Vec::new();
    for stored in stored {
        if items.len() >= limit {
            break;
        }
        let jobs = state
            .store
            .item_jobs(&stored.item.source, &stored.item.key)
            .await?;
        if let Some(wanted) = &wanted
            && !jobs.iter().any(|j| j.state.name() == wanted)
        {
            continue;
        }
        items.push(ItemAnswer::new(&stored, jobs));
    }
    Ok(Json(ItemList { items }))
}

/// One item and its jobs.
#[utoipa::path(get, path = "/items/{source}/{key}", tag = "items",
    params(("source" = String, Path, description = "The source id."),
        ("key" = String, Path, description = "The item's dedup key.")),
    responses((status = 200, description = "The item.", body = ItemAnswer),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such item.", body = ErrorBody)))]
pub async fn item(
    State(state): State<HttpState>,
    Path((source, key)): Path<(String, String)>,
) -> Result<Json<ItemAnswer>, ApiError> {
    let (source, key) = (SourceId::new(source), DedupKey(key));
    let Some(stored) = state.store.item(&source, &key).await? else {
        return Err(not_found_item(&source, &key));
    };
    let jobs = state.store.item_jobs(&source, &key).await?;
    Ok(Json(ItemAnswer::new(&stored, jobs)))
}

pub(super) fn not_found_item(source: &SourceId, key: &DedupKey) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no item `{key}` in source `{source}`"),
    )
}

/// Forget an item (and its unfinished jobs) so that it may be pinned again when it comes back.
#[utoipa::path(post, path = "/items/{source}/{key}/forget", tag = "items",
    params(("source" = String, Path, description = "The source id."),
        ("key" = String, Path, description = "The item's dedup key.")),
    responses((status = 200, description = "Forgotten.", body = Forgotten),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such item.", body = ErrorBody)))]
pub async fn forget(
    State(state): State<HttpState>,
    Path((source, key)): Path<(String, String)>,
) -> Result<Json<Forgotten>, ApiError> {
    let (source, key) = (SourceId::new(source), DedupKey(key));
    if !state.store.forget(&source, &key).await? {
        return Err(not_found_item(&source, &key));
    }
    Ok(Json(Forgotten { forgotten: true }))
}

/// Store counts: items, jobs by state, quarantined records, size on disk.
#[utoipa::path(get, path = "/stats", tag = "store",
    responses((status = 200, description = "The counts.", body = StoreStats),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn stats(State(state): State<HttpState>) -> Result<Json<StoreStats>, ApiError> {
    Ok(Json(state.store.stats().await?))
}

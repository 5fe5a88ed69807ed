//! Sources created, replaced, paused and resumed at runtime, and the source list with each
//! source's origin and settings. Bodies are entries with exactly the keys of a `[[sources]]`
//! TOML entry, checked with the file's own validation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use super::ApiError;
use super::answers::ErrorBody;
use super::config_answers::{Entry, SourceAnswer, SourceList};
use super::records::{api_owned, live, record_of};
use crate::http::HttpState;
use crate::item::SourceId;
use crate::live::effective::Origin;
use crate::live::{Change, Live, View};
use crate::store::{ConfigRecord, ConfigRecordKind};

type Answer = Result<(StatusCode, Json<SourceAnswer>), ApiError>;

async fn one_source(live: &Live, view: &View, id: &str) -> Result<SourceAnswer, ApiError> {
    let Some(source) = view.sources.iter().find(|s| s.id == id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no source `{id}`"),
        ));
    };
    let polled = live.store().source_state(&SourceId::new(id)).await?;
    Ok(SourceAnswer::live(source, &polled))
}

/// `GET /sources` when the live configuration is on.
pub async fn list_sources(live: &Live) -> Result<SourceList, ApiError> {
    let view = live.view();
    let mut sources = Vec::new();
    for source in &view.sources {
        let polled = live
            .store()
            .source_state(&SourceId::new(&source.id))
            .await?;
        sources.push(SourceAnswer::live(source, &polled));
    }
    Ok(SourceList { sources })
}

pub(super) fn origin_of(view: &View, id: &str) -> Option<Origin> {
    view.sources.iter().find(|s| s.id == id).map(|s| s.origin)
}

/// Add a source: the body is one `[[sources]]` entry as JSON, checked like the file. It starts
/// at once and is kept in the store.
#[utoipa::path(post, path = "/sources", tag = "sources", request_body = Entry,
    responses((status = 201, description = "The source.", body = SourceAnswer),
        (status = 400, description = "The entry would make the configuration invalid: `problems` lists each with its key (`sources[blog].url`).", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 409, description = "A source with this id exists.", body = ErrorBody)))]
pub async fn create_source(State(state): State<HttpState>, Json(body): Json<Entry>) -> Answer {
    let live = live(&state)?;
    let record = record_of(ConfigRecordKind::Source, body.0, None)?;
    if origin_of(&live.view(), &record.id).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("a source with id `{}` exists", record.id),
        ));
    }
    put_source(&live, record, StatusCode::CREATED).await
}

/// Replace a source made through the API (a file source is edited in the file: 409).
#[utoipa::path(put, path = "/sources/{id}", tag = "sources", request_body = Entry,
    params(("id" = String, Path, description = "The source id.")),
    responses((status = 200, description = "The source.", body = SourceAnswer),
        (status = 400, description = "The entry would make the configuration invalid.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such source.", body = ErrorBody),
        (status = 409, description = "The source is defined in the config file.", body = ErrorBody)))]
pub async fn replace_source(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    Json(body): Json<Entry>,
) -> Answer {
    let live = live(&state)?;
    api_owned(origin_of(&live.view(), &id), "source", &id)?;
    let record = record_of(ConfigRecordKind::Source, body.0, Some(&id))?;
    put_source(&live, record, StatusCode::OK).await
}

async fn set_paused(state: HttpState, id: String, paused: bool) -> Answer {
    let live = live(&state)?;
    if origin_of(&live.view(), &id).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no source `{id}`"),
        ));
    }
    let record = ConfigRecord {
        kind: ConfigRecordKind::PauseOverride,
        id,
        body: json!({ "paused": paused }).to_string(),
    };
    put_source(&live, record, StatusCode::OK).await
}

/// Store and apply one record about a source (the source itself, or its pause override) and
/// answer with the source as it now stands.
async fn put_source(live: &Live, record: ConfigRecord, status: StatusCode) -> Answer {
    let id = record.id.clone();
    let change = Change {
        put: vec![record],
        ..Change::default()
    };
    let view = live.change(change, true).await?;
    Ok((status, Json(one_source(live, &view, &id).await?)))
}

/// Pause a source of any origin (kept in the store across restarts).
#[utoipa::path(post, path = "/sources/{id}/pause", tag = "sources",
    params(("id" = String, Path, description = "The source id.")),
    responses((status = 200, description = "The source.", body = SourceAnswer),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such source.", body = ErrorBody)))]
pub async fn pause_source(State(state): State<HttpState>, Path(id): Path<String>) -> Answer {
    set_paused(state, id, true).await
}

/// Resume a paused source.
#[utoipa::path(post, path = "/sources/{id}/resume", tag = "sources",
    params(("id" = String, Path, description = "The source id.")),
    responses((status = 200, description = "The source.", body = SourceAnswer),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such source.", body = ErrorBody)))]
pub async fn resume_source(State(state): State<HttpState>, Path(id): Path<String>) -> Answer {
    set_paused(state, id, false).await
}

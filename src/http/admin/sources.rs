//! Sources created, replaced, paused and resumed at runtime, and the source list with each
//! source's origin and settings. Bodies are entries with exactly the keys of a `[[sources]]`
//! TOML entry, checked with the file's own validation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ApiError;
use super::records::{api_owned, live, record_of};
use crate::http::HttpState;
use crate::item::SourceId;
use crate::live::effective::Origin;
use crate::live::{Change, Live, SourceView, View};
use crate::store::{ConfigRecord, ConfigRecordKind, SourceState};

type Answer = Result<(StatusCode, Json<Value>), ApiError>;

/// One source as `GET /sources` lists it: the configured entry and its polling state.
pub fn source_json(source: &SourceView, polled: &SourceState) -> Value {
    let info = crate::http::SourceInfo {
        id: source.id.clone(),
        kind: source.kind.clone(),
        paused: source.paused,
    };
    let mut json = info.json(polled);
    json["origin"] = json!(source.origin);
    json["settings"] = source.settings.clone();
    // The settings go out as stored, query and all: this is the authenticated interface that
    // `pinbridge sources export` and read-modify-write clients use, and a redacted URL written
    // back would break the feed. Human-facing views (status page, CLI listings, logs, stored
    // errors) redact instead.
    json
}

async fn one_source(live: &Live, view: &View, id: &str) -> Result<Value, ApiError> {
    let Some(source) = view.sources.iter().find(|s| s.id == id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no source `{id}`"),
        ));
    };
    let polled = live.store().source_state(&SourceId::new(id)).await?;
    Ok(source_json(source, &polled))
}

/// `GET /sources` when the live configuration is on.
pub async fn list_sources(live: &Live) -> Result<Value, ApiError> {
    let view = live.view();
    let mut out = Vec::new();
    for source in &view.sources {
        let polled = live
            .store()
            .source_state(&SourceId::new(&source.id))
            .await?;
        out.push(source_json(source, &polled));
    }
    Ok(json!({ "sources": out }))
}

pub(super) fn origin_of(view: &View, id: &str) -> Option<Origin> {
    view.sources.iter().find(|s| s.id == id).map(|s| s.origin)
}

pub async fn create_source(State(state): State<HttpState>, Json(body): Json<Value>) -> Answer {
    let live = live(&state)?;
    let record = record_of(ConfigRecordKind::Source, body, None)?;
    if origin_of(&live.view(), &record.id).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("a source with id `{}` exists", record.id),
        ));
    }
    put_source(&live, record, StatusCode::CREATED).await
}

pub async fn replace_source(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Answer {
    let live = live(&state)?;
    api_owned(origin_of(&live.view(), &id), "source", &id)?;
    let record = record_of(ConfigRecordKind::Source, body, Some(&id))?;
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

pub async fn pause_source(State(state): State<HttpState>, Path(id): Path<String>) -> Answer {
    set_paused(state, id, true).await
}

pub async fn resume_source(State(state): State<HttpState>, Path(id): Path<String>) -> Answer {
    set_paused(state, id, false).await
}

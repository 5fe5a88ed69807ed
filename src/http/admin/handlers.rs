//! The admin API's handlers. Lists are newest first and capped (`limit`, default 50, max 500).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use crate::http::HttpState;
use crate::item::{DedupKey, SourceId};
use crate::store::{
    IngestPlan, Ingested, ItemFilter, Job, JobFilter, JobId, JobState, OnChange, StoredItem,
};

const STATES: [&str; 6] = ["pending", "leased", "retry", "unknown", "done", "dead"];
const MAX_LIMIT: usize = 500;

type Answer = Result<Json<Value>, ApiError>;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    source: Option<String>,
    state: Option<String>,
    limit: Option<usize>,
}

impl ListQuery {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(50).clamp(1, MAX_LIMIT)
    }

    fn state(&self) -> Result<Option<String>, ApiError> {
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

pub async fn sources(State(state): State<HttpState>) -> Answer {
    if let Some(live) = &state.live {
        // With origin and settings; the same state fields.
        return Ok(Json(super::sources::list_sources(live).await?));
    }
    let mut out = Vec::new();
    for source in state.sources.iter() {
        let polled = state.store.source_state(&SourceId::new(&source.id)).await?;
        out.push(source.json(&polled));
    }
    Ok(Json(json!({ "sources": out })))
}

fn item_json(stored: &StoredItem, jobs: &[Job]) -> Value {
    json!({
        "source": stored.item.source,
        "key": stored.item.key,
        "title": stored.item.title,
        "link": stored.item.link,
        "image_url": stored.item.image_url,
        "first_seen": stored.first_seen,
        "last_seen": stored.last_seen,
        "disposition": stored.disposition,
        "jobs": jobs,
        // The Pins pinbridge made for the item and what became of them since.
        "pins": crate::store::pins_of(jobs),
    })
}

pub async fn items(State(state): State<HttpState>, Query(query): Query<ListQuery>) -> Answer {
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
    let mut out = Vec::new();
    for stored in stored {
        if out.len() >= limit {
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
        out.push(item_json(&stored, &jobs));
    }
    Ok(Json(json!({ "items": out })))
}

pub async fn item(
    State(state): State<HttpState>,
    Path((source, key)): Path<(String, String)>,
) -> Answer {
    let (source, key) = (SourceId::new(source), DedupKey(key));
    let Some(stored) = state.store.item(&source, &key).await? else {
        return Err(not_found_item(&source, &key));
    };
    let jobs = state.store.item_jobs(&source, &key).await?;
    Ok(Json(item_json(&stored, &jobs)))
}

fn not_found_item(source: &SourceId, key: &DedupKey) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no item `{key}` in source `{source}`"),
    )
}

pub async fn forget(
    State(state): State<HttpState>,
    Path((source, key)): Path<(String, String)>,
) -> Answer {
    let (source, key) = (SourceId::new(source), DedupKey(key));
    if !state.store.forget(&source, &key).await? {
        return Err(not_found_item(&source, &key));
    }
    Ok(Json(json!({ "forgotten": true })))
}

pub async fn jobs(State(state): State<HttpState>, Query(query): Query<ListQuery>) -> Answer {
    let jobs = state
        .store
        .jobs(JobFilter {
            source: query.source.as_deref().map(SourceId::new),
            state: query.state()?,
            limit: query.limit(),
        })
        .await?;
    Ok(Json(json!({ "jobs": jobs })))
}

async fn find_job(state: &HttpState, id: &str) -> Result<Job, ApiError> {
    state
        .store
        .job(&JobId(id.to_string()))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no job `{id}`")))
}

pub async fn job(State(state): State<HttpState>, Path(id): Path<String>) -> Answer {
    Ok(Json(json!(find_job(&state, &id).await?)))
}

pub async fn dead_letters(
    State(state): State<HttpState>,
    Query(query): Query<ListQuery>,
) -> Answer {
    let jobs = state
        .store
        .jobs(JobFilter {
            source: query.source.as_deref().map(SourceId::new),
            state: Some("dead".into()),
            limit: query.limit(),
        })
        .await?;
    Ok(Json(json!({ "jobs": jobs })))
}

/// A dead job goes back to pending with its attempts reset. Other states: 409.
pub async fn retry(State(state): State<HttpState>, Path(id): Path<String>) -> Answer {
    let job = find_job(&state, &id).await?;
    if !matches!(job.state, JobState::Dead { .. }) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "job `{id}` is {}; only dead jobs can be retried",
                job.state.name()
            ),
        ));
    }
    let job = state.store.revive(&job.id, state.clock.now_ms()).await?;
    Ok(Json(json!(job)))
}

pub async fn retry_all_dead(State(state): State<HttpState>) -> Answer {
    let dead = state
        .store
        .jobs(JobFilter {
            source: None,
            state: Some("dead".into()),
            limit: usize::MAX,
        })
        .await?;
    let now = state.clock.now_ms();
    for job in &dead {
        state.store.revive(&job.id, now).await?;
    }
    Ok(Json(json!({ "retried": dead.len() })))
}

/// Replay: make the Pin of a `done` job again, as a new job on the same target. The item is
/// forgotten and ingested again with that one target, so the old job (and its Pin id) stays as
/// history. Refused (409) while the item has jobs that are not done: retry those instead.
pub async fn replay(State(state): State<HttpState>, Path(id): Path<String>) -> Answer {
    let job = find_job(&state, &id).await?;
    if !matches!(job.state, JobState::Done { .. }) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "job `{id}` is {}; only done jobs can be replayed (retry dead ones)",
                job.state.name()
            ),
        ));
    }
    let Some(stored) = state.store.item(&job.source, &job.item).await? else {
        return Err(not_found_item(&job.source, &job.item));
    };
    let siblings = state.store.item_jobs(&job.source, &job.item).await?;
    if let Some(open) = siblings
        .iter()
        .find(|j| !matches!(j.state, JobState::Done { .. }))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the item has job `{}` in state {}; finish or retry it first",
                open.id,
                open.state.name()
            ),
        ));
    }
    state.store.forget(&job.source, &job.item).await?;
    let plan = IngestPlan {
        targets: vec![job.target.clone()],
        skip_reason: None,
        on_change: OnChange::Ignore,
        update_routes: Vec::new(),
        delivery: None,
        replay_guard: None,
    };
    let outcome = state
        .store
        .ingest(&stored.item, plan, state.clock.now_ms())
        .await?;
    let jobs = state.store.item_jobs(&job.source, &job.item).await?;
    let new = jobs
        .into_iter()
        .find(|j| j.id != job.id && !matches!(j.state, JobState::Done { .. }));
    match (outcome, new) {
        (Ingested::New { .. }, Some(new)) => Ok(Json(json!({ "replayed": job.id, "job": new }))),
        _ => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the item was re-ingested but no new job appeared",
        )),
    }
}

pub async fn stats(State(state): State<HttpState>) -> Answer {
    Ok(Json(json!(state.store.stats().await?)))
}

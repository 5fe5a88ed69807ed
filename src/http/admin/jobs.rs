//! The admin API's job handlers: list, show, retry a dead job, replay a done one.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::ApiError;
use super::answers::{ErrorBody, JobList, ListQuery, Replayed, Retried};
use super::handlers::not_found_item;
use crate::http::HttpState;
use crate::item::SourceId;
use crate::store::{IngestPlan, Ingested, Job, JobFilter, JobId, JobState, OnChange};

/// Jobs, newest first.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(ListQuery),
    responses((status = 200, description = "The jobs.", body = JobList),
        (status = 400, description = "A query parameter is not valid.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn jobs(
    State(state): State<HttpState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<JobList>, ApiError> {
    let jobs = state
        .store
        .jobs(JobFilter {
            source: query.source.as_deref().map(SourceId::new),
            state: query.state()?,
            limit: query.limit(),
        })
        .await?;
    Ok(Json(JobList { jobs }))
}

async fn find_job(state: &HttpState, id: &str) -> Result<Job, ApiError> {
    state
        .store
        .job(&JobId(id.to_string()))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no job `{id}`")))
}

/// One job.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job id.")),
    responses((status = 200, description = "The job.", body = Job),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such job.", body = ErrorBody)))]
pub async fn job(
    State(state): State<HttpState>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(find_job(&state, &id).await?))
}

/// Dead jobs, newest first (the `state` filter is ignored).
#[utoipa::path(get, path = "/dead-letters", tag = "jobs", params(ListQuery),
    responses((status = 200, description = "The dead jobs.", body = JobList),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn dead_letters(
    State(state): State<HttpState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<JobList>, ApiError> {
    let jobs = state
        .store
        .jobs(JobFilter {
            source: query.source.as_deref().map(SourceId::new),
            state: Some("dead".into()),
            limit: query.limit(),
        })
        .await?;
    Ok(Json(JobList { jobs }))
}

/// Bring a dead job back to pending with its attempts reset. Other states: 409.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "jobs",
    params(("id" = String, Path, description = "The job id.")),
    responses((status = 200, description = "The job, now pending.", body = Job),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such job.", body = ErrorBody),
        (status = 409, description = "The job is not dead.", body = ErrorBody)))]
pub async fn retry(
    State(state): State<HttpState>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let job = find_job(&state, &id).await?;
    refuse_unless(
        matches!(job.state, JobState::Dead { .. }),
        &job,
        "only dead jobs can be retried",
    )?;
    Ok(Json(
        state.store.revive(&job.id, state.clock.now_ms()).await?,
    ))
}

/// Retry every dead job.
#[utoipa::path(post, path = "/dead-letters/retry", tag = "jobs",
    responses((status = 200, description = "How many were retried.", body = Retried),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn retry_all_dead(State(state): State<HttpState>) -> Result<Json<Retried>, ApiError> {
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
    Ok(Json(Retried {
        retried: dead.len(),
    }))
}

/// Make the Pin of a done job again: the item is forgotten and re-ingested with that job's
/// target, giving a new pending job. The old job (and its Pin id) stays as history. Refused
/// (409) while the item has jobs that are not done: retry those instead.
#[utoipa::path(post, path = "/jobs/{id}/replay", tag = "jobs",
    params(("id" = String, Path, description = "The job id.")),
    responses((status = 200, description = "The old job's id and the new job.", body = Replayed),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such job.", body = ErrorBody),
        (status = 409, description = "The job is not done, or its item has an open job.", body = ErrorBody)))]
pub async fn replay(
    State(state): State<HttpState>,
    Path(id): Path<String>,
) -> Result<Json<Replayed>, ApiError> {
    let job = find_job(&state, &id).await?;
    refuse_unless(
        matches!(job.state, JobState::Done { .. }),
        &job,
        "only done jobs can be replayed (retry dead ones)",
    )?;
    // An update or delete follows a Pin pinbridge made; making "its Pin" again would pin an
    // item its source may have removed. Replay the create instead.
    if !job.kind.is_create() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "job `{id}` is a Pin {}; only creates can be replayed",
                job.kind.name()
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
        (Ingested::New { .. }, Some(new)) => Ok(Json(Replayed {
            replayed: job.id.to_string(),
            job: new,
        })),
        _ => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the item was re-ingested but no new job appeared",
        )),
    }
}

/// 409 naming the job's state and the rule, unless `allowed`.
fn refuse_unless(allowed: bool, job: &Job, rule: &str) -> Result<(), ApiError> {
    if allowed {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        format!("job `{}` is {}; {rule}", job.id.0, job.state.name()),
    ))
}

//! `DELETE /sources/{id}`: a source made through the API is removed; jobs it left unfinished
//! either finish (`?queued=finish`) or move to the dead letter (`?queued=cancel`), and without
//! either the delete is refused while such jobs exist.

use super::ApiError;
use super::answers::ErrorBody;
use super::config_answers::{DeleteQuery, SourceDeleted};
use super::records::{api_owned, live};
use super::sources::origin_of;
use crate::http::HttpState;
use crate::item::SourceId;
use crate::live::{Change, ChangeError, Live};
use crate::store::{ConfigRecordKind, JobFilter, JobId};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

/// The reason written on jobs cancelled by `DELETE /sources/{id}?queued=cancel`.
pub const CANCELLED: &str = "cancelled: source deleted";
const UNFINISHED: [&str; 4] = ["pending", "leased", "retry", "unknown"];

/// Delete a source made through the API. With unfinished jobs, say what happens to them:
/// `queued=finish` lets them run, `queued=cancel` moves them to the dead letter ("cancelled:
/// source deleted"); without a choice: 409.
#[utoipa::path(delete, path = "/sources/{id}", tag = "sources",
    params(("id" = String, Path, description = "The source id."), DeleteQuery),
    responses((status = 200, description = "Deleted.", body = SourceDeleted),
        (status = 400, description = "`queued` is neither finish nor cancel.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such source.", body = ErrorBody),
        (status = 409, description = "The source is defined in the config file, is named by a route, or has unfinished jobs (`unfinished`) and no `queued` choice.", body = ErrorBody)))]
pub async fn delete_source(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Result<Json<SourceDeleted>, ApiError> {
    let live = live(&state)?;
    api_owned(origin_of(&live.view(), &id), "source", &id)?;
    let cancel = match query.queued.as_deref() {
        None => None,
        Some("finish") => Some(false),
        Some("cancel") => Some(true),
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("queued=`{other}`: use queued=finish or queued=cancel"),
            ));
        }
    };
    let unfinished = unfinished_jobs(&live, &id).await?;
    if !unfinished.is_empty() && cancel.is_none() {
        let mut refused = ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "source `{id}` has {} unfinished job(s): add ?queued=finish to let them run to completion or ?queued=cancel to move them to the dead letter",
                unfinished.len()
            ),
        );
        refused.body.unfinished = Some(unfinished.len());
        return Err(refused);
    }
    let change = Change {
        delete: vec![
            (ConfigRecordKind::Source, id.clone()),
            (ConfigRecordKind::PauseOverride, id.clone()),
        ],
        ..Change::default()
    };
    live.change(change, true).await.map_err(|e| match e {
        ChangeError::Invalid(problems) => ApiError::invalid(
            StatusCode::CONFLICT,
            "deleting the source would leave the configuration invalid (a route names it?)",
            &problems,
        ),
        other => ApiError::from(other),
    })?;
    // The poller is stopped and the webhook gone: no new jobs can appear for this source.
    let mut cancelled = 0;
    let mut running = 0;
    if cancel == Some(true) {
        let now = live.now_ms();
        for job in unfinished_jobs(&live, &id).await.unwrap_or_default() {
            if live.store().cancel_job(&job, CANCELLED, now).await? {
                cancelled += 1;
            } else {
                running += 1;
            }
        }
    }
    Ok(Json(SourceDeleted {
        deleted: id,
        cancelled,
        // Jobs left to finish: all of them with `finish`, those already running with `cancel`.
        finishing: if cancel == Some(true) {
            running
        } else {
            unfinished.len()
        },
    }))
}

async fn unfinished_jobs(live: &Live, id: &str) -> Result<Vec<JobId>, ApiError> {
    let mut out = Vec::new();
    for state in UNFINISHED {
        let jobs = live
            .store()
            .jobs(JobFilter {
                source: Some(SourceId::new(id)),
                state: Some(state.into()),
                limit: 0,
            })
            .await?;
        out.extend(jobs.into_iter().map(|j| j.id));
    }
    Ok(out)
}

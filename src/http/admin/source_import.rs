//! `POST /sources/import`: many sources at once, all or nothing. Entries whose id or feed URL
//! is already configured are reported as existing and skipped; `dry_run` checks without saving.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use super::ApiError;
use super::answers::{ErrorBody, Problem};
use super::config_answers::{ImportAnswer, ImportBody};
use super::records::{live, record_of};
use crate::http::HttpState;
use crate::live::{Change, ChangeError};
use crate::settings::ConfigProblem;
use crate::store::ConfigRecordKind;

/// Add many sources at once. Sources whose id or url exist are listed in `existing` and
/// skipped. All or nothing: with any problem nothing is added (400).
#[utoipa::path(post, path = "/sources/import", tag = "sources", request_body = ImportBody,
    responses((status = 200, description = "What was added and what exists.", body = ImportAnswer),
        (status = 400, description = "Nothing was imported: `problems` lists why.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn import_sources(
    State(state): State<HttpState>,
    Json(body): Json<ImportBody>,
) -> Result<Json<ImportAnswer>, ApiError> {
    let live = live(&state)?;
    let view = live.view();
    let mut ids: HashSet<String> = view.sources.iter().map(|s| s.id.clone()).collect();
    let mut urls: HashSet<String> = view
        .sources
        .iter()
        .filter_map(|s| url_of(&s.settings))
        .collect();
    let (mut added, mut existing, mut problems, mut put) = (vec![], vec![], vec![], vec![]);
    for (i, entry) in body.sources.into_iter().enumerate() {
        let id = entry.get("id").and_then(Value::as_str).map(str::to_string);
        let url = url_of(&entry);
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            problems.push(ConfigProblem::new(
                format!("sources[{i}].id"),
                "`id` is missing or not a string",
            ));
            continue;
        };
        if ids.contains(&id) || url.as_ref().is_some_and(|u| urls.contains(u)) {
            existing.push(id);
            continue;
        }
        ids.insert(id.clone());
        urls.extend(url);
        put.push(record_of(ConfigRecordKind::Source, entry, None)?);
        added.push(id);
    }
    if problems.is_empty() && !put.is_empty() {
        let change = Change {
            put,
            ..Change::default()
        };
        match live.change(change, !body.dry_run).await {
            Ok(_) => {}
            Err(ChangeError::Invalid(mut p)) => problems.append(&mut p),
            Err(e) => return Err(e.into()),
        }
    }
    if !problems.is_empty() {
        let mut refused = ApiError::new(
            StatusCode::BAD_REQUEST,
            "nothing was imported: fix the problems and send the list again",
        );
        refused.body.added = Some(Vec::new());
        refused.body.existing = Some(existing);
        refused.body.problems = Some(Problem::all(&problems));
        return Err(refused);
    }
    Ok(Json(ImportAnswer {
        added,
        existing,
        problems: Vec::new(),
        dry_run: body.dry_run,
    }))
}

/// A feed's URL, compared trimmed and without a trailing slash.
fn url_of(settings: &Value) -> Option<String> {
    let url = settings.get("url")?.as_str()?.trim();
    Some(url.trim_end_matches('/').to_string())
}

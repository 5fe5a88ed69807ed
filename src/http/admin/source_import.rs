//! `POST /sources/import`: many sources at once, all or nothing. Entries whose id or feed URL
//! is already configured are reported as existing and skipped; `dry_run` checks without saving.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::records::{live, record_of};
use crate::http::HttpState;
use crate::live::status::problems_json;
use crate::live::{Change, ChangeError};
use crate::settings::ConfigProblem;
use crate::store::ConfigRecordKind;

#[derive(Debug, Deserialize)]
pub struct ImportBody {
    sources: Vec<Value>,
    #[serde(default)]
    dry_run: bool,
}

pub async fn import_sources(
    State(state): State<HttpState>,
    Json(body): Json<ImportBody>,
) -> Result<Json<Value>, ApiError> {
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
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "nothing was imported: fix the problems and send the list again",
        )
        .with("added", json!([]))
        .with("existing", json!(existing))
        .with("problems", problems_json(&problems)));
    }
    Ok(Json(json!({
        "added": added,
        "existing": existing,
        "problems": [],
        "dry_run": body.dry_run,
    })))
}

/// A feed's URL, compared trimmed and without a trailing slash.
fn url_of(settings: &Value) -> Option<String> {
    let url = settings.get("url")?.as_str()?.trim();
    Some(url.trim_end_matches('/').to_string())
}

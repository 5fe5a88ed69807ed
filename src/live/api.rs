//! The admin API's runtime configuration routes: sources and routes created, replaced, paused,
//! resumed and deleted at runtime, and the reload status. Bodies are entries with exactly the
//! keys of a `[[sources]]` / `[[routes]]` TOML entry, checked with the file's own validation.

// The helpers return a finished `Response` as their error: it is what the handler answers, once
// per request, and boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::effective::Origin;
use super::status::problems_json;
use super::{Change, ChangeError, Live, SourceView, View};
use crate::config::ConfigProblem;
use crate::http::HttpState;
use crate::http::admin::ApiError;
use crate::item::SourceId;
use crate::store::{ConfigRecord, ConfigRecordKind, JobFilter, SourceState};

/// The reason written on jobs cancelled by `DELETE /sources/{id}?queued=cancel`.
pub const CANCELLED: &str = "cancelled: source deleted";
const UNFINISHED: [&str; 4] = ["pending", "leased", "retry", "unknown"];

fn live(state: &HttpState) -> Result<Arc<Live>, Response> {
    state.live.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "runtime configuration is not available in this process",
        )
        .into_response()
    })
}

/// Only entries made through the API are changed through it: 404 for an unknown one, 409 for
/// one the config file defines.
fn api_owned(origin: Option<Origin>, what: &str, id: &str) -> Result<(), Response> {
    match origin {
        None => Err(error(StatusCode::NOT_FOUND, format!("no {what} `{id}`"))),
        Some(Origin::File) => Err(error(
            StatusCode::CONFLICT,
            format!("{what} `{id}` is defined in the config file; edit the file"),
        )),
        Some(Origin::Api) => Ok(()),
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, message).into_response()
}

fn invalid(status: StatusCode, message: &str, problems: &[ConfigProblem]) -> Response {
    (
        status,
        Json(json!({"error": message, "problems": problems_json(problems)})),
    )
        .into_response()
}

fn change_error(e: ChangeError) -> Response {
    match e {
        ChangeError::Invalid(problems) => invalid(
            StatusCode::BAD_REQUEST,
            "the configuration would not be valid",
            &problems,
        ),
        ChangeError::Store(e) => ApiError::from(e).into_response(),
    }
}

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

async fn one_source(live: &Live, view: &View, id: &str) -> Result<Value, Response> {
    let Some(source) = view.sources.iter().find(|s| s.id == id) else {
        return Err(error(StatusCode::NOT_FOUND, format!("no source `{id}`")));
    };
    let polled = live
        .store()
        .source_state(&SourceId::new(id))
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
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

/// The body as a record: an object whose `id` (or `name`) is a string.
fn record_of(
    kind: ConfigRecordKind,
    mut body: Value,
    path_id: Option<&str>,
) -> Result<ConfigRecord, Response> {
    let (key, section) = match kind {
        ConfigRecordKind::Route => ("name", "routes"),
        _ => ("id", "sources"),
    };
    let Some(object) = body.as_object_mut() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        ));
    };
    if let (Some(expected), None) = (path_id, object.get(key)) {
        object.insert(key.into(), json!(expected));
    }
    let id = match object.get(key) {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            let message = match kind {
                ConfigRecordKind::Route => "a route made through the API needs a `name` (a string)",
                _ => "`id` is missing or not a string",
            };
            return Err(invalid(
                StatusCode::BAD_REQUEST,
                "the entry is not valid",
                &[ConfigProblem::new(format!("{section}[?].{key}"), message)],
            ));
        }
    };
    if let Some(expected) = path_id
        && expected != id
    {
        return Err(invalid(
            StatusCode::BAD_REQUEST,
            "the entry is not valid",
            &[ConfigProblem::new(
                format!("{section}[{expected}].{key}"),
                format!("the body says `{id}` but the URL says `{expected}`"),
            )],
        ));
    }
    Ok(ConfigRecord {
        kind,
        id,
        body: body.to_string(),
    })
}

fn origin_of(view: &View, id: &str) -> Option<Origin> {
    view.sources.iter().find(|s| s.id == id).map(|s| s.origin)
}

pub async fn create_source(State(state): State<HttpState>, Json(body): Json<Value>) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
    let record = match record_of(ConfigRecordKind::Source, body, None) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if origin_of(&live.view(), &record.id).is_some() {
        return error(
            StatusCode::CONFLICT,
            format!("a source with id `{}` exists", record.id),
        );
    }
    put_source(&live, record, StatusCode::CREATED).await
}

pub async fn replace_source(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
    if let Err(refused) = api_owned(origin_of(&live.view(), &id), "source", &id) {
        return refused;
    }
    let record = match record_of(ConfigRecordKind::Source, body, Some(&id)) {
        Ok(r) => r,
        Err(r) => return r,
    };
    put_source(&live, record, StatusCode::OK).await
}

async fn set_paused(state: HttpState, id: String, paused: bool) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
    if origin_of(&live.view(), &id).is_none() {
        return error(StatusCode::NOT_FOUND, format!("no source `{id}`"));
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
async fn put_source(live: &Live, record: ConfigRecord, status: StatusCode) -> Response {
    let id = record.id.clone();
    let change = Change {
        put: vec![record],
        ..Change::default()
    };
    match live.change(change, true).await {
        Ok(view) => match one_source(live, &view, &id).await {
            Ok(json) => (status, Json(json)).into_response(),
            Err(r) => r,
        },
        Err(e) => change_error(e),
    }
}

pub async fn pause_source(State(state): State<HttpState>, Path(id): Path<String>) -> Response {
    set_paused(state, id, true).await
}

pub async fn resume_source(State(state): State<HttpState>, Path(id): Path<String>) -> Response {
    set_paused(state, id, false).await
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteQuery {
    queued: Option<String>,
}

pub async fn delete_source(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
    if let Err(refused) = api_owned(origin_of(&live.view(), &id), "source", &id) {
        return refused;
    }
    let cancel = match query.queued.as_deref() {
        None => None,
        Some("finish") => Some(false),
        Some("cancel") => Some(true),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("queued=`{other}`: use queued=finish or queued=cancel"),
            );
        }
    };
    let unfinished = match unfinished_jobs(&live, &id).await {
        Ok(jobs) => jobs,
        Err(e) => return e.into_response(),
    };
    if !unfinished.is_empty() && cancel.is_none() {
        return (
            StatusCode::CONFLICT,
            Json(json!({
                "error": format!(
                    "source `{id}` has {} unfinished job(s): add ?queued=finish to let them run to completion or ?queued=cancel to move them to the dead letter",
                    unfinished.len()
                ),
                "unfinished": unfinished.len(),
            })),
        )
            .into_response();
    }
    let change = Change {
        delete: vec![
            (ConfigRecordKind::Source, id.clone()),
            (ConfigRecordKind::PauseOverride, id.clone()),
        ],
        ..Change::default()
    };
    if let Err(e) = live.change(change, true).await {
        return match e {
            ChangeError::Invalid(problems) => invalid(
                StatusCode::CONFLICT,
                "deleting the source would leave the configuration invalid (a route names it?)",
                &problems,
            ),
            other => change_error(other),
        };
    }
    // The poller is stopped and the webhook gone: no new jobs can appear for this source.
    let mut cancelled = 0;
    let mut running = 0;
    if cancel == Some(true) {
        let now = live.now_ms();
        for job in unfinished_jobs(&live, &id).await.unwrap_or_default() {
            match live.store().cancel_job(&job, CANCELLED, now).await {
                Ok(true) => cancelled += 1,
                Ok(false) => running += 1,
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
    }
    Json(json!({
        "deleted": id,
        "cancelled": cancelled,
        // Jobs left to finish: all of them with `finish`, those already running with `cancel`.
        "finishing": if cancel == Some(true) { running } else { unfinished.len() },
    }))
    .into_response()
}

async fn unfinished_jobs(live: &Live, id: &str) -> Result<Vec<crate::store::JobId>, ApiError> {
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

#[derive(Debug, Deserialize)]
pub struct ImportBody {
    sources: Vec<Value>,
    #[serde(default)]
    dry_run: bool,
}

pub async fn import_sources(
    State(state): State<HttpState>,
    Json(body): Json<ImportBody>,
) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
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
        match record_of(ConfigRecordKind::Source, entry, None) {
            Ok(record) => {
                added.push(id);
                put.push(record);
            }
            Err(r) => return r,
        }
    }
    if problems.is_empty() && !put.is_empty() {
        let change = Change {
            put,
            ..Change::default()
        };
        match live.change(change, !body.dry_run).await {
            Ok(_) => {}
            Err(ChangeError::Invalid(mut p)) => problems.append(&mut p),
            Err(e) => return change_error(e),
        }
    }
    if !problems.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": "nothing was imported: fix the problems and send the list again",
                "added": [],
                "existing": existing,
                "problems": problems_json(&problems),
            })),
        )
            .into_response();
    }
    Json(json!({
        "added": added,
        "existing": existing,
        "problems": [],
        "dry_run": body.dry_run,
    }))
    .into_response()
}

/// A feed's URL, compared trimmed and without a trailing slash.
fn url_of(settings: &Value) -> Option<String> {
    let url = settings.get("url")?.as_str()?.trim();
    Some(url.trim_end_matches('/').to_string())
}

pub async fn list_routes(State(state): State<HttpState>) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
    let routes: Vec<Value> = live.view().routes.iter().map(route_json).collect();
    Json(json!({ "routes": routes })).into_response()
}

fn route_json(route: &super::RouteView) -> Value {
    json!({"name": route.name, "origin": route.origin, "settings": route.settings})
}

fn route_origin(view: &View, name: &str) -> Option<Origin> {
    view.routes
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.origin)
}

async fn put_route(live: &Live, record: ConfigRecord, status: StatusCode) -> Response {
    let name = record.id.clone();
    let change = Change {
        put: vec![record],
        ..Change::default()
    };
    match live.change(change, true).await {
        Ok(view) => match view.routes.iter().find(|r| r.name == name) {
            Some(route) => (status, Json(route_json(route))).into_response(),
            None => error(StatusCode::INTERNAL_SERVER_ERROR, "the route vanished"),
        },
        Err(e) => change_error(e),
    }
}

pub async fn create_route(State(state): State<HttpState>, Json(body): Json<Value>) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
    let record = match record_of(ConfigRecordKind::Route, body, None) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if route_origin(&live.view(), &record.id).is_some() {
        return error(
            StatusCode::CONFLICT,
            format!("a route named `{}` exists", record.id),
        );
    }
    put_route(&live, record, StatusCode::CREATED).await
}

pub async fn replace_route(
    State(state): State<HttpState>,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
    if let Err(refused) = api_owned(route_origin(&live.view(), &name), "route", &name) {
        return refused;
    }
    let record = match record_of(ConfigRecordKind::Route, body, Some(&name)) {
        Ok(r) => r,
        Err(r) => return r,
    };
    put_route(&live, record, StatusCode::OK).await
}

pub async fn delete_route(State(state): State<HttpState>, Path(name): Path<String>) -> Response {
    let live = match live(&state) {
        Ok(live) => live,
        Err(r) => return r,
    };
    if let Err(refused) = api_owned(route_origin(&live.view(), &name), "route", &name) {
        return refused;
    }
    let change = Change {
        delete: vec![(ConfigRecordKind::Route, name.clone())],
        ..Change::default()
    };
    match live.change(change, true).await {
        Ok(_) => Json(json!({ "deleted": name })).into_response(),
        Err(e) => change_error(e),
    }
}

pub async fn config_status(State(state): State<HttpState>) -> Response {
    match live(&state) {
        Ok(live) => Json(live.status_json()).into_response(),
        Err(r) => r,
    }
}

//! Routes listed, created, replaced and deleted at runtime. Bodies are entries with exactly the
//! keys of a `[[routes]]` TOML entry (a `name` is required), checked with the file's own
//! validation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ApiError;
use super::records::{api_owned, live, record_of};
use crate::http::HttpState;
use crate::live::effective::Origin;
use crate::live::{Change, Live, RouteView, View};
use crate::store::{ConfigRecord, ConfigRecordKind};

type Answer = Result<(StatusCode, Json<Value>), ApiError>;

pub async fn list_routes(State(state): State<HttpState>) -> Result<Json<Value>, ApiError> {
    let live = live(&state)?;
    let routes: Vec<Value> = live.view().routes.iter().map(route_json).collect();
    Ok(Json(json!({ "routes": routes })))
}

fn route_json(route: &RouteView) -> Value {
    json!({"name": route.name, "origin": route.origin, "settings": route.settings})
}

fn route_origin(view: &View, name: &str) -> Option<Origin> {
    view.routes
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.origin)
}

async fn put_route(live: &Live, record: ConfigRecord, status: StatusCode) -> Answer {
    let name = record.id.clone();
    let change = Change {
        put: vec![record],
        ..Change::default()
    };
    let view = live.change(change, true).await?;
    match view.routes.iter().find(|r| r.name == name) {
        Some(route) => Ok((status, Json(route_json(route)))),
        None => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the route vanished",
        )),
    }
}

pub async fn create_route(State(state): State<HttpState>, Json(body): Json<Value>) -> Answer {
    let live = live(&state)?;
    let record = record_of(ConfigRecordKind::Route, body, None)?;
    if route_origin(&live.view(), &record.id).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("a route named `{}` exists", record.id),
        ));
    }
    put_route(&live, record, StatusCode::CREATED).await
}

pub async fn replace_route(
    State(state): State<HttpState>,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Answer {
    let live = live(&state)?;
    api_owned(route_origin(&live.view(), &name), "route", &name)?;
    let record = record_of(ConfigRecordKind::Route, body, Some(&name))?;
    put_route(&live, record, StatusCode::OK).await
}

pub async fn delete_route(
    State(state): State<HttpState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let live = live(&state)?;
    api_owned(route_origin(&live.view(), &name), "route", &name)?;
    let change = Change {
        delete: vec![(ConfigRecordKind::Route, name.clone())],
        ..Change::default()
    };
    live.change(change, true).await?;
    Ok(Json(json!({ "deleted": name })))
}

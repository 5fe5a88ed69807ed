//! Routes listed, created, replaced and deleted at runtime. Bodies are entries with exactly the
//! keys of a `[[routes]]` TOML entry (a `name` is required), checked with the file's own
//! validation.

use super::ApiError;
use super::answers::ErrorBody;
use super::config_answers::{Entry, RouteAnswer, RouteDeleted, RouteList};
use super::records::{api_owned, live, record_of};
use crate::http::HttpState;
use crate::live::effective::Origin;
use crate::live::{Change, Live, View};
use crate::store::{ConfigRecord, ConfigRecordKind};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

type Answer = Result<(StatusCode, Json<RouteAnswer>), ApiError>;

/// Routes in force with their origin (`file` or `api`) and settings.
#[utoipa::path(get, path = "/routes", tag = "routes",
    responses((status = 200, description = "The routes.", body = RouteList),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn list_routes(State(state): State<HttpState>) -> Result<Json<RouteList>, ApiError> {
    let live = live(&state)?;
    let routes = live.view().routes.iter().map(RouteAnswer::new).collect();
    Ok(Json(RouteList { routes }))
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
        Some(route) => Ok((status, Json(RouteAnswer::new(route)))),
        None => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the route vanished",
        )),
    }
}

/// Add a route: one `[[routes]]` entry as JSON; it needs a `name`.
#[utoipa::path(post, path = "/routes", tag = "routes", request_body = Entry,
    responses((status = 201, description = "The route.", body = RouteAnswer),
        (status = 400, description = "The entry would make the configuration invalid.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 409, description = "A route with this name exists.", body = ErrorBody)))]
pub async fn create_route(State(state): State<HttpState>, Json(body): Json<Entry>) -> Answer {
    let live = live(&state)?;
    let record = record_of(ConfigRecordKind::Route, body.0, None)?;
    if route_origin(&live.view(), &record.id).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("a route named `{}` exists", record.id),
        ));
    }
    put_route(&live, record, StatusCode::CREATED).await
}

/// Replace a route made through the API.
#[utoipa::path(put, path = "/routes/{name}", tag = "routes", request_body = Entry,
    params(("name" = String, Path, description = "The route name.")),
    responses((status = 200, description = "The route.", body = RouteAnswer),
        (status = 400, description = "The entry would make the configuration invalid.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such route.", body = ErrorBody),
        (status = 409, description = "The route is defined in the config file.", body = ErrorBody)))]
pub async fn replace_route(
    State(state): State<HttpState>,
    Path(name): Path<String>,
    Json(body): Json<Entry>,
) -> Answer {
    let live = live(&state)?;
    api_owned(route_origin(&live.view(), &name), "route", &name)?;
    let record = record_of(ConfigRecordKind::Route, body.0, Some(&name))?;
    put_route(&live, record, StatusCode::OK).await
}

/// Delete a route made through the API.
#[utoipa::path(delete, path = "/routes/{name}", tag = "routes",
    params(("name" = String, Path, description = "The route name.")),
    responses((status = 200, description = "Deleted.", body = RouteDeleted),
        (status = 400, description = "The configuration would not be valid without it.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody),
        (status = 404, description = "No such route.", body = ErrorBody),
        (status = 409, description = "The route is defined in the config file.", body = ErrorBody)))]
pub async fn delete_route(
    State(state): State<HttpState>,
    Path(name): Path<String>,
) -> Result<Json<RouteDeleted>, ApiError> {
    let live = live(&state)?;
    api_owned(route_origin(&live.view(), &name), "route", &name)?;
    let change = Change {
        delete: vec![(ConfigRecordKind::Route, name.clone())],
        ..Change::default()
    };
    live.change(change, true).await?;
    Ok(Json(RouteDeleted { deleted: name }))
}

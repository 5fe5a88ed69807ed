//! `GET /config/status`: the live configuration's generation and how the last reload went.

use axum::Json;
use axum::extract::State;

use super::ApiError;
use super::answers::ErrorBody;
use super::config_answers::ConfigStatus;
use super::records::live;
use crate::http::HttpState;

/// The configuration generation in force and how the last reload (start, SIGHUP, file watch)
/// went, with its problems.
#[utoipa::path(get, path = "/config/status", tag = "configuration",
    responses((status = 200, description = "The generation and the last reload.", body = ConfigStatus),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn config_status(State(state): State<HttpState>) -> Result<Json<ConfigStatus>, ApiError> {
    let (generation, reload) = live(&state)?.status();
    Ok(Json(ConfigStatus::new(generation, &reload)))
}

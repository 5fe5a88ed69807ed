//! `GET /config/status`: the live configuration's generation and how the last reload went.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::ApiError;
use super::records::live;
use crate::http::HttpState;

pub async fn config_status(State(state): State<HttpState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(live(&state)?.status_json()))
}

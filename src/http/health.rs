//! `/healthz` (the process is alive) and `/readyz` (it can do its job: store open, not draining).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::HttpState;

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

async fn ready(State(state): State<HttpState>) -> (StatusCode, Json<serde_json::Value>) {
    if state.draining.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": "draining"})),
        );
    }
    match state.store.stats().await {
        Ok(_) => (StatusCode::OK, Json(json!({"ready": true}))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": format!("store: {e}")})),
        ),
    }
}

//! Who sees what of `/readyz`. Probes and load balancers need only the status code, so anyone
//! gets that with `{"ready": true|false}`; the details (account names and their problems, store
//! errors, the configuration's reload status) need the admin token, a status-page session or
//! the admin listener; beside an admin listener the public port never shows them.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{Caller, caller};
use super::health::ready;
use super::{HttpState, Listener};

pub async fn readyz(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    let detailed = match state.listener {
        Listener::Admin => true,
        Listener::Public => false,
        Listener::Combined => caller(&state, &headers) != Caller::Anonymous,
    };
    let (status, Json(details)) = ready(State(state)).await;
    if detailed {
        return (status, Json(details)).into_response();
    }
    let ready = details.get("ready").cloned().unwrap_or(json!(false));
    (status, Json(json!({ "ready": ready }))).into_response()
}

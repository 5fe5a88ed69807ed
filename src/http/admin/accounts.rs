//! `POST /api/v1/accounts/{account}/connect`: start connecting a Pinterest account through
//! the admin API (the flow itself is `http::connect`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::http::HttpState;
use crate::http::auth::{Caller, caller};
use crate::http::connect::start;

/// `POST /api/v1/accounts/{account}/connect`: `{"authorize_url": …, "expires_at": …}`. From a
/// signed-in browser the flow is bound to it (cookie); from the admin token, to nothing.
pub async fn connect(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(account): Path<String>,
) -> Response {
    let browser = (caller(&state, &headers) == Caller::Session).then_some(&headers);
    match start(&state, &account, browser).await {
        Ok(started) => {
            let mut answer = axum::Json(serde_json::json!({
                "account": account,
                "authorize_url": started.authorize_url.as_str(),
                "expires_at": started.expires_at,
            }))
            .into_response();
            if let Some(cookie) = started.set_cookie {
                answer.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            answer
        }
        Err(e) => ApiError::new(e.status(), e.to_string()).into_response(),
    }
}

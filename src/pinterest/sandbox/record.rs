//! The layer every request passes: counts it, tags the answer with `x-pinterest-rid`, and, when
//! recording is on, keeps request and answer bodies (tests check them against the OpenAPI spec).

use std::sync::Arc;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;

use super::Inner;
use crate::pinterest::client::REQUEST_ID_HEADER;

/// Bodies larger than this are not recorded (the request then fails with 413).
const MAX_RECORDED_BODY: usize = 4 << 20;

/// One recorded request and its answer.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    /// The matched route, e.g. `/v5/boards/{board_id}/pins`; `None` for unknown paths.
    pub route: Option<String>,
    /// Path and query as sent.
    pub uri: String,
    pub request_content_type: Option<String>,
    pub request_body: Bytes,
    pub status: u16,
    pub response_body: Bytes,
    /// When the sandbox received it (its clock), so tests can check a quota was kept.
    pub at: crate::clock::Millis,
}

pub(crate) async fn common(State(sb): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    let (rid, recording) = {
        let mut st = sb.lock();
        st.stats.requests += 1;
        (
            format!("{:016x}", st.rng.random::<u64>()),
            st.recording.is_some(),
        )
    };
    let mut resp = if recording {
        record(&sb, req, next).await
    } else {
        next.run(req).await
    };
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}

async fn record(sb: &Inner, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let request_body = match to_bytes(body, MAX_RECORDED_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return Response::builder()
                .status(413)
                .body(Body::from("request body too large to record"))
                .unwrap_or_default();
        }
    };
    let mut ex = Exchange {
        method: parts.method.to_string(),
        route: parts
            .extensions
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_string()),
        uri: parts.uri.to_string(),
        request_content_type: parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        request_body: request_body.clone(),
        status: 0,
        response_body: Bytes::new(),
        at: sb.clock.now_ms(),
    };
    let resp = next
        .run(Request::from_parts(parts, Body::from(request_body)))
        .await;
    let (parts, body) = resp.into_parts();
    match to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            ex.status = parts.status.as_u16();
            ex.response_body = bytes.clone();
            if let Some(rec) = sb.lock().recording.as_mut() {
                rec.push(ex);
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        // A dropped-connection fault: not recorded, and it must still drop.
        Err(e) => {
            let failing = futures::stream::once(async move {
                Err::<Bytes, std::io::Error>(std::io::Error::other(e.to_string()))
            });
            Response::from_parts(parts, Body::from_stream(failing))
        }
    }
}

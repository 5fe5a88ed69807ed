//! The axum side: `POST /hooks/{source_id}` with a per-source body limit.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::WebhookSources;
use super::error::{Answer, Rejection};
use super::receive::process;

/// The webhook routes, for the app's HTTP server to merge.
pub fn router(hooks: Arc<WebhookSources>) -> Router {
    Router::new()
        .route("/hooks/{source_id}", post(receive))
        // Each source has its own limit, enforced below while reading.
        .layer(DefaultBodyLimit::disable())
        .with_state(hooks)
}

async fn receive(
    State(sources): State<Arc<WebhookSources>>,
    Path(source_id): Path<String>,
    request: Request,
) -> Response {
    let result = handle(&sources, &source_id, request).await;
    let outcome = match &result {
        Ok(answer) => answer.status,
        Err(rejection) => rejection.label(),
    };
    metrics::counter!("pinbridge_webhook_requests_total", "outcome" => outcome).increment(1);
    match result {
        Ok(answer) => {
            tracing::info!(source = %source_id, status = answer.status, reason = answer.reason.as_deref(), "Webhook answered.");
            answer.into_response()
        }
        Err(rejection) => {
            // The message names the failed check only; no secrets or MACs are in it.
            tracing::warn!(source = %source_id, status = rejection.status().as_u16(), error = %rejection, "Webhook rejected.");
            rejection.into_response()
        }
    }
}

async fn handle(
    sources: &WebhookSources,
    source_id: &str,
    request: Request,
) -> Result<Answer, Rejection> {
    let hook = sources.get(source_id).ok_or_else(|| {
        let shown: String = source_id.chars().take(100).collect();
        Rejection::UnknownSource(shown)
    })?;
    let limit = hook.settings.max_body_bytes;
    let (parts, body) = request.into_parts();
    if content_length(&parts.headers).is_some_and(|n| n > limit as u64) {
        return Err(Rejection::TooLarge { limit });
    }
    let body = read_capped(body, limit).await?;
    process(
        &hook,
        &parts.headers,
        &body,
        sources.ingest(),
        sources.now_ms(),
        sources.fetcher(),
    )
    .await
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Read the body, stopping as soon as it exceeds `limit` (chunked bodies have no length).
async fn read_capped(body: Body, limit: usize) -> Result<Bytes, Rejection> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| Rejection::BadRequest(format!("could not read the request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(Rejection::TooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

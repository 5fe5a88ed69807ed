//! `GET/POST /websub/{source_id}/{token}`: the hub's verification of intent and its content
//! pushes. The token is random per subscription and only sent to its hub, and a verification
//! is accepted only for a request pinbridge sent and is still waiting on, with the lease the
//! hub grants clamped: whoever merely knows a source id and its feed cannot confirm, extend or
//! freeze a subscription.
//!
//! The tokenless `/websub/{source_id}` of subscriptions made before tokens existed still takes
//! their signed pushes (until the next renewal moves the hub to a tokened URL, after which it
//! answers 410 so the hub drops the old one); a verification there is always refused (404).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use subtle::ConstantTimeEq;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::signature;
use super::state::{Status, Subscription};
use super::{WebSub, WebSubError, ms};
use crate::item::{Item, SourceId};
use crate::sources::feed::images::MinSize;
use crate::sources::feed::page::fill_page_images;
use crate::sources::feed::parse::parse_feed;
use crate::sources::feed::poller::cap_new_items;
use crate::sources::poll::report::{baseline_count, baseline_skips, submissions};

/// The longest lease recorded, whatever the hub says: the spec suggests about 10 days, and a
/// longer one would stop renewals (and with them any chance to notice a lost subscription).
pub const MAX_LEASE: Duration = Duration::from_secs(10 * 24 * 3600);
/// The shortest: a hub granting seconds would otherwise have us renewing in a loop.
pub const MIN_LEASE: Duration = Duration::from_secs(60);

/// The callback routes, to merge into the HTTP server.
pub fn router(websub: Arc<WebSub>) -> Router {
    let limit = websub.settings.max_body_bytes;
    Router::new()
        .route("/websub/{source_id}/{token}", get(verify).post(content))
        .route(
            "/websub/{source_id}",
            get(legacy_verify).post(legacy_content),
        )
        .layer(DefaultBodyLimit::max(limit))
        .with_state(websub)
}

/// Whether reading a body failed because it was longer than the limit (not a broken connection).
fn is_over_limit(err: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    (status, text.into()).into_response()
}

fn failed(err: WebSubError) -> Response {
    match err {
        WebSubError::UnknownSource(_) => answer(StatusCode::NOT_FOUND, err.to_string()),
        other => {
            tracing::error!(error = %other, "WebSub callback failed.");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "the subscription could not be read or saved; try again",
            )
        }
    }
}

/// Whether `presented` is the subscription's callback token (compared in constant time).
fn token_matches(sub: &Subscription, presented: &str) -> bool {
    sub.token
        .as_deref()
        .is_some_and(|token| bool::from(token.as_bytes().ct_eq(presented.as_bytes())))
}

/// The lease to record: what the hub granted (or what we asked for), within the bounds.
fn clamped_lease(granted: Option<&str>, asked: Duration) -> Duration {
    granted
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(asked, Duration::from_secs)
        .clamp(MIN_LEASE, MAX_LEASE)
}

/// A verification at the tokenless URL: never accepted (see the module doc).
async fn legacy_verify(Path(_id): Path<String>) -> Response {
    answer(StatusCode::NOT_FOUND, "no such subscription request")
}

/// Verification of intent: echo `hub.challenge` only for a request we sent and await.
async fn verify(
    State(websub): State<Arc<WebSub>>,
    Path((id, token)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match verify_inner(&websub, &id, &token, &query).await {
        Ok(r) => r,
        Err(e) => failed(e),
    }
}

async fn verify_inner(
    websub: &WebSub,
    id: &str,
    token: &str,
    query: &HashMap<String, String>,
) -> Result<Response, WebSubError> {
    let entry = websub.entry(id)?;
    let source = SourceId::new(id);
    let param = |k: &str| query.get(k).map(String::as_str);
    let (Some(mode), Some(topic)) = (param("hub.mode"), param("hub.topic")) else {
        return Ok(answer(
            StatusCode::BAD_REQUEST,
            "a verification needs hub.mode and hub.topic",
        ));
    };
    let _guard = entry.lock.lock().await;
    let mut sub = websub.subscription(&source).await?;
    let now = websub.now();
    let refuse = || answer(StatusCode::NOT_FOUND, "no such subscription request");
    if !token_matches(&sub, token) {
        return Ok(refuse());
    }
    let window = ms(websub.settings.pending_timeout);
    match mode {
        "subscribe" => {
            let Some(challenge) = param("hub.challenge") else {
                return Ok(answer(StatusCode::BAD_REQUEST, "hub.challenge is missing"));
            };
            if !sub.awaits("subscribe", topic, now, window) {
                tracing::warn!(source = %source, topic, "WebSub: refused a verification for no request we await.");
                return Ok(refuse());
            }
            let lease = clamped_lease(param("hub.lease_seconds"), websub.settings.lease);
            let (lease_secs, lease_ms) = (lease.as_secs(), ms(lease));
            let renew_before = ms(websub.settings.renew_before);
            sub.status = Status::Active;
            sub.awaiting = None;
            sub.lease_until = Some(now + lease_ms);
            sub.next_check = Some(now + (lease_ms - renew_before).max(lease_ms / 2).max(60_000));
            sub.note = None;
            // Durable before the hub hears yes.
            websub.save(&source, &sub).await?;
            tracing::info!(source = %source, topic, lease_secs, "WebSub subscription verified.");
            Ok(answer(StatusCode::OK, challenge))
        }
        "unsubscribe" => {
            let Some(challenge) = param("hub.challenge") else {
                return Ok(answer(StatusCode::BAD_REQUEST, "hub.challenge is missing"));
            };
            if sub.status != Status::Unsubscribing || !sub.awaits("unsubscribe", topic, now, window)
            {
                return Ok(refuse());
            }
            websub.save(&source, &Subscription::default()).await?;
            tracing::info!(source = %source, topic, "WebSub unsubscription verified.");
            Ok(answer(StatusCode::OK, challenge))
        }
        "denied" => {
            if sub.topic.as_deref() != Some(topic) {
                return Ok(refuse());
            }
            let reason = param("hub.reason").unwrap_or("no reason given");
            sub.status = Status::Denied;
            sub.awaiting = None;
            sub.lease_until = None;
            sub.note = Some(format!("the hub denied the subscription: {reason}"));
            sub.next_check = Some(now + ms(websub.settings.retry_after));
            websub.save(&source, &sub).await?;
            tracing::warn!(source = %source, topic, reason, "WebSub subscription denied.");
            Ok(answer(StatusCode::OK, "noted"))
        }
        other => Ok(answer(
            StatusCode::BAD_REQUEST,
            format!("hub.mode `{other}` is not subscribe, unsubscribe or denied"),
        )),
    }
}

/// Content distribution: check the signature, parse, ingest durably, then answer 2xx.
async fn content(
    State(websub): State<Arc<WebSub>>,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match content_inner(&websub, &id, Some(&token), &headers, body).await {
        Ok(r) => r,
        Err(e) => failed(e),
    }
}

/// A push to the tokenless URL: only for a subscription made before tokens existed.
async fn legacy_content(
    State(websub): State<Arc<WebSub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match content_inner(&websub, &id, None, &headers, body).await {
        Ok(r) => r,
        Err(e) => failed(e),
    }
}

async fn content_inner(
    websub: &WebSub,
    id: &str,
    token: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, WebSubError> {
    let entry = websub.entry(id)?;
    let source = entry.source.clone();
    let sub = websub.subscription(source.id()).await?;
    let addressed = match token {
        Some(token) => token_matches(&sub, token),
        None => sub.token.is_none(),
    };
    if !addressed {
        // Not this subscription's callback (an old one, or a guess): 410 asks a hub to drop it.
        return Ok(answer(StatusCode::GONE, "no active subscription"));
    }
    if !matches!(
        sub.status,
        Status::Active | Status::Pending | Status::Unsubscribing
    ) {
        // 410 asks the hub to drop a subscription we no longer hold (spec §7).
        return Ok(answer(StatusCode::GONE, "no active subscription"));
    }
    let Some(secret) = &sub.secret else {
        return Ok(answer(StatusCode::GONE, "no active subscription"));
    };
    // The body is read only now, for a subscription this callback really addresses, and only
    // up to the source's own limit: an unknown id or a guessed token costs no buffered body.
    let limit = usize::try_from(source.settings().max_body_bytes).unwrap_or(usize::MAX);
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(e) if is_over_limit(&e) => {
            return Ok(answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the pushed body is larger than the source's max_body_bytes",
            ));
        }
        Err(_) => {
            return Ok(answer(
                StatusCode::BAD_REQUEST,
                "the body could not be read",
            ));
        }
    };
    let body = &body;
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    use secrecy::ExposeSecret;
    if let Err(problem) = signature::verify(signature, body, secret.expose_secret().as_bytes()) {
        // The spec: a mismatch is acknowledged (so a forger learns nothing) and ignored.
        tracing::warn!(source = %source.id(), %problem, "WebSub push ignored.");
        return Ok(answer(StatusCode::ACCEPTED, "ignored"));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let settings = source.settings();
    let min_image = MinSize {
        width: settings.min_image_width,
        height: settings.min_image_height,
    };
    let (id_, bytes, base) = (source.id().clone(), body.clone(), source.url().clone());
    // Same parser, same base URL as a poll: a pushed entry gets the same dedup key and
    // fingerprint as the polled one, so the two are one item.
    let parsed = tokio::task::spawn_blocking(move || {
        parse_feed(&id_, &bytes, content_type.as_deref(), &base, min_image)
    })
    .await;
    let mut items: Vec<Item> = match parsed {
        Ok(Ok(parsed)) => parsed.items,
        Ok(Err(err)) => {
            tracing::warn!(source = %source.id(), error = %err, "WebSub push could not be read.");
            return Ok(answer(
                StatusCode::BAD_REQUEST,
                format!("the pushed content is not a readable feed: {err}"),
            ));
        }
        Err(_) => {
            return Ok(answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the parser stopped unexpectedly",
            ));
        }
    };
    let ctx = &websub.ctx;
    let state = ctx.state(source.id()).await?;
    let baseline = if state.baselined {
        0
    } else {
        baseline_count(settings.backfill, items.len())
    };
    fill_page_images(&source, ctx, &mut items, baseline).await?;
    let total = items.len();
    // A push is capped like a poll: a publisher rotating ids must not queue a Pin per push item.
    let mut skips = baseline_skips(total, baseline);
    let over_cap = cap_new_items(&source, ctx, &state, &items, &mut skips).await?;
    crate::sources::feed::cap::report(&source, over_cap);
    let batch = submissions(items, skips);
    let outcomes = if batch.is_empty() {
        Vec::new()
    } else {
        ctx.submit_many(batch).await?
    };
    let new = outcomes
        .iter()
        .filter(|o| matches!(o, crate::store::Ingested::New { .. }))
        .count();
    tracing::info!(source = %source.id(), items = total, new, "WebSub push ingested.");
    Ok(answer(
        StatusCode::OK,
        format!("received {total} items, {new} new"),
    ))
}

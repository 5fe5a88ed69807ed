//! One delivery from raw bytes to a durable store entry: verify, parse, map, submit.
//!
//! Independent of HTTP so that the fuzz tests can drive it directly; `handler.rs` only adds
//! routing and the body limit.

use axum::http::HeaderMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::{Answer, Rejection};
use super::fetch::MediaFetcher;
use super::presets::{Input, MapError, Mapped, Mapper, woocommerce};
use super::settings::{Scheme, WebhookSettings};
use super::verify::{Request, Verified, Verifier, optional_header};
use crate::ingest::{Ingest, Submission};
use crate::item::{DedupKey, Item, SourceId};
use crate::settings::ConfigProblem;
use crate::store::{Delivery, Ingested};

/// A configured webhook source, ready to receive.
#[derive(Debug)]
pub struct Hook {
    pub id: SourceId,
    pub settings: WebhookSettings,
    pub verifier: Verifier,
    pub mapper: Mapper,
}

impl Hook {
    /// Validate the settings (problems named under `path`) and build verifier and mapper.
    pub fn new(
        id: SourceId,
        settings: WebhookSettings,
        path: &str,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        settings.validate(path, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        let built = Verifier::from_settings(&settings)
            .and_then(|v| Ok((v, Mapper::from_settings(&settings)?)));
        match built {
            Ok((verifier, mapper)) => Ok(Self {
                id,
                settings,
                verifier,
                mapper,
            }),
            Err(e) => Err(vec![ConfigProblem::new(path, e)]),
        }
    }
}

/// What a delivery comes to before it reaches the store.
#[derive(Clone, Debug)]
pub enum Prepared {
    /// A sender checking the endpoint (WooCommerce's unsigned creation ping, GitHub's signed
    /// `ping` event): answer 200, store nothing.
    Ping(&'static str),
    Submit {
        item: Box<Item>,
        submission: Submission,
        /// The resource under this key left its published state: remove it first.
        unpublished: Option<DedupKey>,
    },
    /// The resource `key` was deleted or unpublished at the sender.
    Remove { key: DedupKey, reason: String },
}

/// Verify, parse and map one delivery. Touches nothing durable.
pub async fn prepare(
    hook: &Hook,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
    fetcher: &dyn MediaFetcher,
) -> Result<Prepared, Rejection> {
    if hook.settings.effective_scheme() == Scheme::Woocommerce
        && woocommerce::is_ping(headers, body)
    {
        return Ok(Prepared::Ping("woocommerce ping"));
    }
    let verified = hook.verifier.verify(&Request {
        headers,
        body,
        now_ms,
    })?;
    if hook.settings.effective_scheme() == Scheme::Github
        && optional_header(headers, "X-GitHub-Event").as_deref() == Some("ping")
    {
        return Ok(Prepared::Ping("github ping"));
    }
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| Rejection::BadRequest(format!("body is not valid JSON: {e}")))?;
    let input = Input {
        source: &hook.id,
        headers,
        doc: &doc,
    };
    let mapped = hook
        .mapper
        .map(&input, fetcher)
        .await
        .map_err(|e| match e {
            MapError::Fetch(cause) => {
                // The sender is only told to retry: which address answered what (or was refused)
                // is for the operator's log, not for whoever can post to this endpoint.
                tracing::warn!(source = %hook.id, error = %cause, "Featured image lookup failed; asking the webhook sender to retry.");
                Rejection::Unavailable(FETCH_FAILED.into())
            }
            MapError::Field(_) | MapError::MissingHeader(_) => Rejection::BadRequest(e.to_string()),
        })?;
    let horizon_ms = i64::try_from(hook.settings.delivery_horizon.as_millis()).unwrap_or(i64::MAX);
    let keep_until = now_ms.saturating_add(horizon_ms);
    let delivery = verified.delivery_id.as_ref().map(|id| Delivery {
        // Scoped by source: two senders may well use the same id scheme.
        id: format!("{}:{id}", hook.id),
        keep_until,
    });
    let replay_guard = replay_guard(hook, &verified, body, keep_until);
    Ok(match mapped {
        Mapped::Item {
            mut item,
            skip,
            unpublished,
        } => {
            let skip = skip.or_else(|| no_image(&item).then(|| NO_IMAGE.to_string()));
            let unpublished = unpublished.then(|| item.key.clone());
            if skip.is_some() {
                item.key = skipped_key(&item.key);
            }
            Prepared::Submit {
                unpublished,
                item,
                submission: Submission {
                    skip_reason: skip,
                    delivery,
                    replay_guard,
                },
            }
        }
        Mapped::Removed { key, reason } => Prepared::Remove { key, reason },
        Mapped::Ignored { reason, reference } => {
            // Recorded under its own key so `items list` shows what arrived and why nothing
            // was pinned; it never collides with a product or post key.
            let key = match reference.or(verified.delivery_id) {
                Some(r) => DedupKey::new("event", &r),
                None => DedupKey::from_content(&[&String::from_utf8_lossy(body)]),
            };
            let mut item = Item::new(hook.id.clone(), key);
            item.title = reason.clone();
            Prepared::Submit {
                unpublished: None,
                item: Box::new(item),
                submission: Submission {
                    skip_reason: Some(reason),
                    delivery,
                    replay_guard,
                },
            }
        }
    })
}

/// The digest of the signed body, remembered for the delivery horizon, when the signature
/// does not bind the delivery id: Shopify, GitHub, WooCommerce, WP Webhooks and `generic` sign
/// the body alone, so a captured request replayed under a fresh id header verifies again; Ghost
/// and `generic` over `timestamp.body` sign a time too, but a replay inside the tolerance window
/// still verifies. Schemes that sign the id (Standard Webhooks, Svix, Stripe) need none: a
/// replay keeps its id and is a duplicate by it, and a fresh id breaks the signature. A sender's
/// own retry repeats the body, so it is a duplicate either way. Two real changes of a resource
/// differ in their bodies (the Shopify, WooCommerce, Ghost and WordPress payloads carry the
/// modification time); only a `generic` payload that returns to an earlier body byte for byte
/// within the horizon would be taken for a replay.
fn replay_guard(
    hook: &Hook,
    verified: &Verified,
    body: &[u8],
    keep_until: i64,
) -> Option<Delivery> {
    if hook.verifier.signs_delivery_id() && verified.delivery_id.is_some() {
        return None;
    }
    Some(Delivery {
        // `#` after the source id: never equal to a delivery id, which has `:` there.
        id: format!("{}#sha256:{}", hook.id, hex::encode(Sha256::digest(body))),
        keep_until,
    })
}

const NO_IMAGE: &str = "no usable image";

/// The whole answer to the sender when a lookup the payload needs failed (503).
pub const FETCH_FAILED: &str = "featured image lookup failed; retry later";

fn no_image(item: &Item) -> bool {
    item.image_url
        .as_deref()
        .is_none_or(|u| u.trim().is_empty())
}

/// Where a resource that cannot be pinned yet (draft, no image) is recorded.
///
/// Not under its own key: the store keeps keys forever and treats a later delivery with the
/// same Pin fields as a duplicate (and a changed one as `Changed`, which pins only under
/// `on_change = "new_pin"`), so a draft recorded under `product:1` would never be pinned once
/// published. Under `skipped:product:1` the record shows why nothing happened, and the first
/// pinnable delivery is `New` under `product:1`.
pub fn skipped_key(key: &DedupKey) -> DedupKey {
    DedupKey(format!("skipped:{key}"))
}

/// The resource `key` was deleted or unpublished: durable before the answer, like a submit;
/// a repeat queues nothing twice.
async fn remove(
    hook: &Hook,
    ingest: &Ingest,
    key: &DedupKey,
    reason: Option<&str>,
) -> Result<(), Rejection> {
    let removed = ingest.remove(&hook.id, key).await.map_err(|e| {
        tracing::error!(source = %hook.id, key = %key, error = %e, "The store failed; asking the webhook sender to retry.");
        Rejection::Unavailable("the store is unavailable; retry later".into())
    })?;
    tracing::info!(source = %hook.id, key = %key, reason = reason.unwrap_or(""), deletes = removed.deletes, cancelled = removed.cancelled, "Item removed at its source.");
    Ok(())
}

/// [`prepare`], then submit; the answer is given only after the store made it durable.
pub async fn process(
    hook: &Hook,
    headers: &HeaderMap,
    body: &[u8],
    ingest: &Ingest,
    now_ms: i64,
    fetcher: &dyn MediaFetcher,
) -> Result<Answer, Rejection> {
    let (item, submission) = match prepare(hook, headers, body, now_ms, fetcher).await? {
        Prepared::Ping(what) => return Ok(Answer::skipped(what)),
        Prepared::Submit {
            item,
            submission,
            unpublished,
        } => {
            // Removed before the skipped record is submitted: a retry after a crash between
            // the two repeats the removal (idempotent) before it meets the duplicate record.
            if let Some(key) = unpublished {
                remove(hook, ingest, &key, submission.skip_reason.as_deref()).await?;
            }
            (item, submission)
        }
        Prepared::Remove { key, reason } => {
            remove(hook, ingest, &key, Some(&reason)).await?;
            return Ok(Answer::removed(reason));
        }
    };
    let skip = submission.skip_reason.clone();
    let key = item.key.clone();
    let outcome = ingest.submit(*item, submission).await.map_err(|e| {
        tracing::error!(source = %hook.id, key = %key, error = %e, "The store failed; asking the webhook sender to retry.");
        Rejection::Unavailable("the store is unavailable; retry later".into())
    })?;
    Ok(match (outcome, skip) {
        (Ingested::Duplicate, _) => Answer::duplicate(),
        (_, Some(reason)) => Answer::skipped(reason),
        (Ingested::New { .. } | Ingested::Changed { .. }, None) => Answer::accepted(),
    })
}

//! One delivery from raw bytes to a durable store entry: verify, parse, map, submit.
//!
//! Independent of HTTP so that the fuzz tests can drive it directly; `handler.rs` only adds
//! routing and the body limit.

use axum::http::HeaderMap;
use serde_json::Value;

use super::error::{Answer, Rejection};
use super::fetch::MediaFetcher;
use super::presets::{Input, MapError, Mapped, Mapper, woocommerce};
use super::settings::{Scheme, WebhookSettings};
use super::verify::{Request, Verifier};
use crate::config::ConfigProblem;
use crate::ingest::{Ingest, Submission};
use crate::item::{DedupKey, Item, SourceId};
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
    /// WooCommerce's unsigned creation ping: answer 200, store nothing.
    Ping,
    Submit {
        item: Box<Item>,
        submission: Submission,
    },
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
        return Ok(Prepared::Ping);
    }
    let verified = hook.verifier.verify(&Request {
        headers,
        body,
        now_ms,
    })?;
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
            MapError::Fetch(_) => Rejection::Unavailable(e.to_string()),
            MapError::Field(_) | MapError::MissingHeader(_) => Rejection::BadRequest(e.to_string()),
        })?;
    let horizon_ms = i64::try_from(hook.settings.delivery_horizon.as_millis()).unwrap_or(i64::MAX);
    let delivery = verified.delivery_id.as_ref().map(|id| Delivery {
        // Scoped by source: two senders may well use the same id scheme.
        id: format!("{}:{id}", hook.id),
        keep_until: now_ms.saturating_add(horizon_ms),
    });
    Ok(match mapped {
        Mapped::Item { item, skip } => Prepared::Submit {
            item,
            submission: Submission {
                skip_reason: skip,
                delivery,
            },
        },
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
                item: Box::new(item),
                submission: Submission {
                    skip_reason: Some(reason),
                    delivery,
                },
            }
        }
    })
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
        Prepared::Ping => return Ok(Answer::skipped("woocommerce ping")),
        Prepared::Submit { item, submission } => (item, submission),
    };
    let skip = submission.skip_reason.clone();
    let key = item.key.clone();
    let outcome = ingest.submit(*item, submission).await.map_err(|e| {
        tracing::error!(source = %hook.id, key = %key, error = %e, "webhook: store failed, asking the sender to retry");
        Rejection::Unavailable("the store is unavailable; retry later".into())
    })?;
    Ok(match (outcome, skip) {
        (Ingested::Duplicate, _) => Answer::duplicate(),
        (_, Some(reason)) => Answer::skipped(reason),
        (Ingested::New { .. } | Ingested::Changed { .. }, None) => Answer::accepted(),
    })
}

//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` over `{t}.{body}`; the `whsec_` secret
//! is used as UTF-8 bytes (not decoded). The delivery id is the event's `id` in the body.

use std::time::Duration;

use super::{Keys, Request, Verified, VerifyError, check_window, header, parse_timestamp};
use crate::sources::webhook::scheme::Algorithm;

pub const HEADER: &str = "Stripe-Signature";

#[derive(Clone, Debug)]
pub struct Stripe {
    keys: Keys,
    tolerance: Duration,
}

impl Stripe {
    pub fn new(keys: Keys, tolerance: Duration) -> Self {
        Self { keys, tolerance }
    }

    pub fn verify(&self, request: &Request<'_>) -> Result<Verified, VerifyError> {
        let text = header(request.headers, HEADER)?;
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for pair in text.split(',') {
            match pair.trim().split_once('=') {
                Some(("t", value)) if timestamp.is_none() => timestamp = Some(value.trim()),
                // A v1 that is not hex cannot match; skip it like Stripe's SDKs do.
                Some(("v1", value)) => signatures.extend(hex::decode(value.trim()).ok()),
                _ => {}
            }
        }
        let malformed = |problem: &str| VerifyError::Malformed {
            header: HEADER.into(),
            problem: problem.into(),
        };
        let ts_text = timestamp.ok_or_else(|| malformed("no `t=` timestamp"))?;
        let seconds = parse_timestamp(HEADER, ts_text)?;
        if signatures.is_empty() {
            return Err(malformed("no `v1=` hex signature"));
        }
        let parts: [&[u8]; 3] = [ts_text.as_bytes(), b".", request.body];
        if !self
            .keys
            .any_matches(Algorithm::Sha256, &parts, &signatures)
        {
            return Err(VerifyError::BadSignature);
        }
        check_window(i128::from(seconds) * 1000, request.now_ms, self.tolerance)?;
        Ok(Verified {
            delivery_id: event_id(request.body),
        })
    }
}

/// The event id (`evt_…`) at the top of a Stripe event body, if it is readable.
fn event_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Event {
        id: Option<String>,
    }
    serde_json::from_slice::<Event>(body)
        .ok()?
        .id
        .filter(|id| !id.trim().is_empty())
}

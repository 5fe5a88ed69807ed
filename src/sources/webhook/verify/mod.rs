//! Signature verification: one small verifier per scheme, chosen per source.
//!
//! Every verifier works on the raw body bytes (never re-serialised JSON), accepts any of the
//! configured secrets (rotation), compares MACs in constant time, and enforces the timestamp
//! window where the scheme signs a timestamp. Errors say which check failed and never contain a
//! secret or a computed MAC.

pub mod ghost;
pub mod header_mac;
pub mod keys;
pub mod standard;
pub mod stripe;
#[cfg(test)]
mod tests;

use std::time::Duration;

use axum::http::HeaderMap;

use super::scheme::{Algorithm, Encoding, Scheme, Signed};
use super::settings::WebhookSettings;
pub use keys::Keys;

/// Why a delivery was not accepted as authentic (answered 401).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(String),
    #[error("malformed header {header}: {problem}")]
    Malformed { header: String, problem: String },
    #[error("bad signature")]
    BadSignature,
    #[error("stale timestamp: more than {tolerance_secs}s away from this server's clock")]
    StaleTimestamp { tolerance_secs: u64 },
    #[error("header {header} does not match the configured shop")]
    WrongShop { header: String },
}

/// What a request offers for verification.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// Unix milliseconds (injected clock).
    pub now_ms: i64,
}

/// What verification established.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// The sender's delivery id (the same across its retries), when the scheme has one.
    pub delivery_id: Option<String>,
}

/// The verifier of one source.
#[derive(Clone, Debug)]
pub enum Verifier {
    /// A MAC of the body (optionally `timestamp.body`) in one header: Shopify, WooCommerce,
    /// WP Webhooks, GitHub and `generic`.
    HeaderMac(header_mac::HeaderMac),
    /// Standard Webhooks and Svix: `{id}.{timestamp}.{body}`.
    Standard(standard::StandardWebhooks),
    /// Stripe: `t=…,v1=…` over `{t}.{body}`.
    Stripe(stripe::Stripe),
    /// Ghost: `sha256=…, t=<ms>` over `{body}{t}`.
    Ghost(ghost::Ghost),
}

impl Verifier {
    /// Build the verifier for validated settings. Errors only for settings that did not validate.
    pub fn from_settings(settings: &WebhookSettings) -> Result<Self, String> {
        use header_mac::HeaderMac;
        let utf8 = Keys::utf8(&settings.secret);
        let tolerance = settings.tolerance;
        let base64 = |header: &str, delivery: &[&str]| {
            HeaderMac::body(header, Encoding::Base64, None, delivery, utf8.clone())
        };
        Ok(match settings.effective_scheme() {
            Scheme::Shopify => Verifier::HeaderMac(
                base64(
                    "X-Shopify-Hmac-Sha256",
                    &["X-Shopify-Event-Id", "X-Shopify-Webhook-Id"],
                )
                .with_shop_domain(settings.shop_domain.clone()),
            ),
            Scheme::Woocommerce => Verifier::HeaderMac(base64("X-WC-Webhook-Signature", &[])),
            Scheme::WpWebhooks => Verifier::HeaderMac(base64("X-WP-Webhook-Signature", &[])),
            Scheme::Github => Verifier::HeaderMac(HeaderMac::body(
                "X-Hub-Signature-256",
                Encoding::Hex,
                Some("sha256="),
                &["X-GitHub-Delivery"],
                utf8,
            )),
            Scheme::Generic => {
                let header = settings
                    .signature_header
                    .as_deref()
                    .ok_or("signature_header is required for scheme generic")?;
                let delivery: Vec<&str> = settings.delivery_header.as_deref().into_iter().collect();
                let mut mac = HeaderMac::body(
                    header.trim(),
                    settings.encoding.unwrap_or_default(),
                    settings.prefix.as_deref(),
                    &delivery,
                    utf8,
                )
                .with_algorithm(settings.algorithm.unwrap_or(Algorithm::Sha256));
                if settings.signed == Some(Signed::TimestampBody) {
                    let ts = settings
                        .timestamp_header
                        .as_deref()
                        .ok_or("timestamp_header is required when signed = \"timestamp.body\"")?;
                    mac = mac.with_timestamp(ts.trim(), tolerance);
                }
                Verifier::HeaderMac(mac)
            }
            Scheme::StandardWebhooks => Verifier::Standard(standard::StandardWebhooks::new(
                Keys::whsec(&settings.secret)?,
                &["webhook-"],
                tolerance,
            )),
            Scheme::Svix => Verifier::Standard(standard::StandardWebhooks::new(
                Keys::whsec(&settings.secret)?,
                &["svix-", "webhook-"],
                tolerance,
            )),
            Scheme::Stripe => Verifier::Stripe(stripe::Stripe::new(utf8, tolerance)),
            Scheme::Ghost => Verifier::Ghost(ghost::Ghost::new(utf8, tolerance)),
        })
    }

    /// Whether a verified delivery id is covered by the signature, so a replay cannot come under
    /// a fresh id: Standard Webhooks and Svix sign `{id}.{timestamp}.{body}`, and Stripe's id is
    /// the event id inside the signed body. The other schemes sign the body alone (or with a
    /// time only), so their id header can be changed at will.
    pub fn signs_delivery_id(&self) -> bool {
        matches!(self, Verifier::Standard(_) | Verifier::Stripe(_))
    }

    pub fn verify(&self, request: &Request<'_>) -> Result<Verified, VerifyError> {
        match self {
            Verifier::HeaderMac(v) => v.verify(request),
            Verifier::Standard(v) => v.verify(request),
            Verifier::Stripe(v) => v.verify(request),
            Verifier::Ghost(v) => v.verify(request),
        }
    }

    /// The header a sender must set for this verifier (for "missing header" checks elsewhere).
    pub fn signature_header(&self) -> &str {
        match self {
            Verifier::HeaderMac(v) => v.header(),
            Verifier::Standard(_) => "webhook-signature",
            Verifier::Stripe(_) => stripe::HEADER,
            Verifier::Ghost(_) => ghost::HEADER,
        }
    }
}

/// A header's value as text; missing (or empty) and non-text values are errors naming the header.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, VerifyError> {
    let value = headers
        .get(name)
        .ok_or_else(|| VerifyError::MissingHeader(name.to_string()))?;
    let text = value.to_str().map_err(|_| VerifyError::Malformed {
        header: name.to_string(),
        problem: "not visible ASCII text".into(),
    })?;
    if text.trim().is_empty() {
        return Err(VerifyError::MissingHeader(name.to_string()));
    }
    Ok(text.trim())
}

/// A header that may be absent; present but unreadable counts as absent.
pub(crate) fn optional_header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Parse a decimal integer timestamp from a header.
pub(crate) fn parse_timestamp(header: &str, text: &str) -> Result<i64, VerifyError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| VerifyError::Malformed {
            header: header.to_string(),
            problem: "the timestamp is not an integer".into(),
        })
}

/// Enforce the window in both directions. `ts_ms` and `now_ms` in Unix milliseconds.
pub(crate) fn check_window(
    ts_ms: i128,
    now_ms: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let tolerance_ms = tolerance.as_millis() as i128;
    if (i128::from(now_ms) - ts_ms).abs() > tolerance_ms {
        return Err(VerifyError::StaleTimestamp {
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

/// Decode a signature as the scheme encodes it; a malformed encoding names the header.
pub(crate) fn decode(encoding: Encoding, header: &str, text: &str) -> Result<Vec<u8>, VerifyError> {
    use base64::Engine;
    let result = match encoding {
        Encoding::Hex => hex::decode(text.trim()).map_err(|_| "the signature is not hex"),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "the signature is not base64"),
    };
    result.map_err(|problem| VerifyError::Malformed {
        header: header.to_string(),
        problem: problem.into(),
    })
}

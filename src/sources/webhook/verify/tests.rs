//! Every signed vector in `tests/fixtures/webhooks/signed-vectors.json` against its verifier,
//! and the ways a delivery must fail.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::*;
use crate::sources::webhook::settings::{Preset, WebhookSettings};

// The header-handling and generic-scheme cases, on the helpers above.
mod headers;

const VECTORS: &str = include_str!("../../../../tests/fixtures/webhooks/signed-vectors.json");

fn body_file(name: &str) -> &'static str {
    match name {
        "shopify-products-create.json" => {
            include_str!("../../../../tests/fixtures/webhooks/shopify-products-create.json")
        }
        "shopify-products-update.json" => {
            include_str!("../../../../tests/fixtures/webhooks/shopify-products-update.json")
        }
        "woocommerce-product-created.json" => {
            include_str!("../../../../tests/fixtures/webhooks/woocommerce-product-created.json")
        }
        "ghost-post-published.json" => {
            include_str!("../../../../tests/fixtures/webhooks/ghost-post-published.json")
        }
        "wordpress-rest-post.json" => {
            include_str!("../../../../tests/fixtures/webhooks/wordpress-rest-post.json")
        }
        "wp-webhooks-post-create.json" => {
            include_str!("../../../../tests/fixtures/webhooks/wp-webhooks-post-create.json")
        }
        other => panic!("unknown body file {other}"),
    }
}

struct Vector {
    name: String,
    scheme: Scheme,
    secret: String,
    other_secret: Option<String>,
    body: Vec<u8>,
    now_ms: i64,
    headers: HeaderMap,
}

fn vectors() -> Vec<Vector> {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap().to_string();
            let scheme = match name.as_str() {
                n if n.starts_with("standard-webhooks") => Scheme::StandardWebhooks,
                n if n.starts_with("shopify") => Scheme::Shopify,
                n if n.starts_with("woocommerce") => Scheme::Woocommerce,
                n if n.starts_with("ghost") => Scheme::Ghost,
                n if n.starts_with("wp-webhooks") => Scheme::WpWebhooks,
                n if n.starts_with("github") => Scheme::Github,
                n if n.starts_with("stripe") => Scheme::Stripe,
                n => panic!("no scheme for vector {n}"),
            };
            let body = match (v.get("body_inline"), v.get("body_file")) {
                (Some(Value::String(b)), _) => b.clone(),
                (_, Some(Value::String(f))) => body_file(f).to_string(),
                _ => panic!("vector {name} has no body"),
            };
            let mut headers = HeaderMap::new();
            for (k, value) in v["headers"].as_object().unwrap() {
                headers.insert(
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
                );
            }
            Vector {
                name,
                scheme,
                secret: v["secret"].as_str().unwrap().to_string(),
                other_secret: v
                    .get("other_valid_secret")
                    .and_then(|s| s.as_str())
                    .map(str::to_string),
                body: body.into_bytes(),
                now_ms: v
                    .get("now_unix")
                    .and_then(|n| n.as_i64())
                    .unwrap_or(1_768_471_203)
                    * 1000,
                headers,
            }
        })
        .collect()
}

fn verifier(scheme: Scheme, secrets: &[&str]) -> Verifier {
    let mut settings = WebhookSettings::new(Preset::Generic, secrets);
    settings.scheme = Some(scheme);
    Verifier::from_settings(&settings).unwrap()
}

fn run(v: &Vector, verifier: &Verifier, body: &[u8], now_ms: i64) -> Result<Verified, VerifyError> {
    verifier.verify(&Request {
        headers: &v.headers,
        body,
        now_ms,
    })
}

#[test]
fn every_vector_verifies_and_yields_its_delivery_id() {
    let all = vectors();
    assert_eq!(all.len(), 9);
    for v in &all {
        let verified = run(v, &verifier(v.scheme, &[&v.secret]), &v.body, v.now_ms)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let expected = match v.name.as_str() {
            "standard-webhooks-official-vector" => Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
            "standard-webhooks-rotation" => Some("msg_2rotation000000000000000001"),
            "shopify-products-create" => Some("98880550-7158-44d4-b7cd-2c97c8a091b5"),
            "shopify-products-update" => Some("4d2a7a3e-2b8d-4f7e-8b1c-0a9e6f5d4c3b"),
            "github-style-hex" => Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            "stripe-style" => Some("evt_test_webhook"),
            _ => None,
        };
        assert_eq!(verified.delivery_id.as_deref(), expected, "{}", v.name);
        if let Some(other) = &v.other_secret {
            assert!(
                run(v, &verifier(v.scheme, &[other]), &v.body, v.now_ms).is_ok(),
                "{}: other secret",
                v.name
            );
        }
    }
}

#[test]
fn a_tampered_body_or_a_wrong_secret_is_a_bad_signature() {
    for v in vectors() {
        let mut tampered = v.body.clone();
        tampered[1] ^= 0x01;
        let right = verifier(v.scheme, &[&v.secret]);
        assert_eq!(
            run(&v, &right, &tampered, v.now_ms),
            Err(VerifyError::BadSignature),
            "{}",
            v.name
        );
        let wrong_secret = match v.scheme {
            Scheme::StandardWebhooks => "whsec_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0",
            _ => "not-the-secret",
        };
        let wrong = verifier(v.scheme, &[wrong_secret]);
        assert_eq!(
            run(&v, &wrong, &v.body, v.now_ms),
            Err(VerifyError::BadSignature),
            "{}",
            v.name
        );
        // Rotation: a wrong secret listed first does not stop the right one from verifying.
        let rotated = verifier(v.scheme, &[wrong_secret, &v.secret]);
        assert!(run(&v, &rotated, &v.body, v.now_ms).is_ok(), "{}", v.name);
    }
}

#[test]
fn timestamps_outside_the_window_are_stale_in_both_directions() {
    for v in vectors() {
        if !matches!(
            v.scheme,
            Scheme::StandardWebhooks | Scheme::Stripe | Scheme::Ghost
        ) {
            continue;
        }
        let right = verifier(v.scheme, &[&v.secret]);
        for offset_s in [-301, 301, 3600, -86_400] {
            let err = run(&v, &right, &v.body, v.now_ms + offset_s * 1000).unwrap_err();
            assert!(
                matches!(err, VerifyError::StaleTimestamp { .. }),
                "{} at {offset_s}s: {err}",
                v.name
            );
            assert!(err.to_string().starts_with("stale timestamp"));
        }
        for offset_s in [-299, 299] {
            assert!(
                run(&v, &right, &v.body, v.now_ms + offset_s * 1000).is_ok(),
                "{} at {offset_s}s",
                v.name
            );
        }
    }
}

fn official() -> Vector {
    vectors().into_iter().next().unwrap()
}

#[test]
fn empty_wrong_length_and_missing_standard_signatures_fail() {
    let mut v = official();
    let right = verifier(Scheme::StandardWebhooks, &[&v.secret]);
    v.headers
        .insert("webhook-signature", HeaderValue::from_static("v1,"));
    assert_eq!(
        run(&v, &right, &v.body, v.now_ms),
        Err(VerifyError::BadSignature)
    );
    // 16 bytes where 32 are expected.
    v.headers.insert(
        "webhook-signature",
        HeaderValue::from_static("v1,AAECAwQFBgcICQoLDA0ODw=="),
    );
    assert_eq!(
        run(&v, &right, &v.body, v.now_ms),
        Err(VerifyError::BadSignature)
    );
    v.headers
        .insert("webhook-signature", HeaderValue::from_static("v1a,AAEC"));
    let err = run(&v, &right, &v.body, v.now_ms).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed header webhook-signature: no `v1,` signature"
    );
    v.headers
        .insert("webhook-signature", HeaderValue::from_static("v1,%%%"));
    let err = run(&v, &right, &v.body, v.now_ms).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed header webhook-signature: the signature is not base64"
    );
    v.headers.remove("webhook-timestamp");
    let err = run(&v, &right, &v.body, v.now_ms).unwrap_err();
    assert_eq!(err.to_string(), "missing header webhook-timestamp");
}

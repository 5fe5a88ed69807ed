//! How a verifier reads its headers (Svix and webhook-* names, missing and malformed ones, the
//! Shopify shop domain), the generic scheme's knobs, and that no error leaks a secret.

use super::*;

#[test]
fn svix_accepts_svix_and_webhook_headers() {
    let v = official();
    let svix = verifier(Scheme::Svix, &[&v.secret]);
    assert!(run(&v, &svix, &v.body, v.now_ms).is_ok());
    let mut renamed = HeaderMap::new();
    for (name, value) in &v.headers {
        let svix_name = name.as_str().replace("webhook-", "svix-");
        renamed.insert(
            HeaderName::from_bytes(svix_name.as_bytes()).unwrap(),
            value.clone(),
        );
    }
    let verified = svix
        .verify(&Request {
            headers: &renamed,
            body: &v.body,
            now_ms: v.now_ms,
        })
        .unwrap();
    assert_eq!(
        verified.delivery_id.as_deref(),
        Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk")
    );
    // Plain Standard Webhooks does not read svix-* headers.
    let standard = verifier(Scheme::StandardWebhooks, &[&v.secret]);
    let err = standard
        .verify(&Request {
            headers: &renamed,
            body: &v.body,
            now_ms: v.now_ms,
        })
        .unwrap_err();
    assert_eq!(err, VerifyError::MissingHeader("webhook-id".into()));
}

#[test]
fn missing_and_malformed_headers_are_named() {
    let all = vectors();
    let shopify = all
        .iter()
        .find(|v| v.name == "shopify-products-create")
        .unwrap();
    let mut headers = shopify.headers.clone();
    headers.remove("X-Shopify-Hmac-Sha256");
    let err = verifier(Scheme::Shopify, &[&shopify.secret])
        .verify(&Request {
            headers: &headers,
            body: &shopify.body,
            now_ms: 0,
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "missing header X-Shopify-Hmac-Sha256");

    let stripe = all.iter().find(|v| v.name == "stripe-style").unwrap();
    let mut headers = stripe.headers.clone();
    headers.insert("Stripe-Signature", HeaderValue::from_static("v1=00ff"));
    let err = verifier(Scheme::Stripe, &[&stripe.secret])
        .verify(&Request {
            headers: &headers,
            body: &stripe.body,
            now_ms: stripe.now_ms,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed header Stripe-Signature: no `t=` timestamp"
    );

    let github = all.iter().find(|v| v.name == "github-style-hex").unwrap();
    let mut headers = github.headers.clone();
    headers.insert("X-Hub-Signature-256", HeaderValue::from_static("sha1=abcd"));
    let err = verifier(Scheme::Github, &[&github.secret])
        .verify(&Request {
            headers: &headers,
            body: &github.body,
            now_ms: 0,
        })
        .unwrap_err();
    assert!(matches!(err, VerifyError::Malformed { .. }), "{err}");
}

#[test]
fn a_shopify_shop_domain_is_checked_when_configured() {
    let v = vectors()
        .into_iter()
        .find(|v| v.name == "shopify-products-create")
        .unwrap();
    let mut settings = WebhookSettings::new(Preset::Shopify, &[&v.secret]);
    settings.shop_domain = Some("example-shop.myshopify.com".into());
    assert!(run(&v, &Verifier::from_settings(&settings).unwrap(), &v.body, 0).is_ok());
    settings.shop_domain = Some("other-shop.myshopify.com".into());
    let err = run(&v, &Verifier::from_settings(&settings).unwrap(), &v.body, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "header X-Shopify-Shop-Domain does not match the configured shop"
    );
}

#[test]
fn generic_sha512_base64_with_prefix_and_timestamp() {
    use base64::Engine;
    let mut settings = WebhookSettings::new(Preset::Generic, &["generic-secret"]);
    settings.signature_header = Some("X-Signature".into());
    settings.algorithm = Some(crate::sources::webhook::settings::Algorithm::Sha512);
    settings.encoding = Some(crate::sources::webhook::settings::Encoding::Base64);
    settings.prefix = Some("v1=".into());
    settings.signed = Some(crate::sources::webhook::settings::Signed::TimestampBody);
    settings.timestamp_header = Some("X-Timestamp".into());
    settings.delivery_header = Some("X-Delivery".into());
    settings.tolerance = Duration::from_secs(60);
    let verifier = Verifier::from_settings(&settings).unwrap();
    let body = br#"{"id":1}"#;
    let mac = keys::sign(
        crate::sources::webhook::settings::Algorithm::Sha512,
        b"generic-secret",
        &[b"1700000000", b".", body],
    );
    let mut headers = HeaderMap::new();
    let sig = format!(
        "v1={}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    );
    headers.insert("X-Signature", HeaderValue::from_str(&sig).unwrap());
    headers.insert("X-Timestamp", HeaderValue::from_static("1700000000"));
    headers.insert("X-Delivery", HeaderValue::from_static("d-1"));
    let req = |now_ms| Request {
        headers: &headers,
        body,
        now_ms,
    };
    let verified = verifier.verify(&req(1_700_000_030_000)).unwrap();
    assert_eq!(verified.delivery_id.as_deref(), Some("d-1"));
    assert!(matches!(
        verifier.verify(&req(1_700_000_061_000)),
        Err(VerifyError::StaleTimestamp { .. })
    ));
    let mut other_body = body.to_vec();
    other_body.push(b' ');
    let tampered = Request {
        headers: &headers,
        body: &other_body,
        now_ms: 1_700_000_000_000,
    };
    assert_eq!(verifier.verify(&tampered), Err(VerifyError::BadSignature));
}

#[test]
fn errors_never_contain_the_secret_or_the_expected_mac() {
    for v in vectors() {
        let right = verifier(v.scheme, &[&v.secret]);
        let mut tampered = v.body.clone();
        tampered.push(b' ');
        for now in [v.now_ms, v.now_ms + 3_600_000] {
            if let Err(e) = run(&v, &right, &tampered, now) {
                let text = e.to_string();
                assert!(!text.contains(&v.secret), "{}: {text}", v.name);
                for (_, value) in &v.headers {
                    let value = value.to_str().unwrap();
                    if value.len() > 20 {
                        assert!(!text.contains(value), "{}: {text}", v.name);
                    }
                }
            }
        }
    }
}

//! Retries, semantic dedup and deliveries that must not become Pins: repeated delivery ids,
//! price-only updates, drafts, other topics, late images, the WooCommerce ping, reloads.

use pinbridge::store::ItemDisposition;

use crate::support::webhook::*;

#[tokio::test]
async fn a_repeated_delivery_id_is_a_2xx_duplicate_that_changes_nothing() {
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let h = Harness::start(vec![("std", standard_settings(secret))], 1_700_000_000_000).await;
    let first = br#"{"id":"p1","title":"First","image":"https://img.example/1.jpg"}"#;
    let reply = h
        .post(
            "std",
            &sign_standard(secret, "msg_1", 1_700_000_000, first),
            first.to_vec(),
        )
        .await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );
    // The sender retries later with a new timestamp and signature but the same id, and even a
    // different body: still the same delivery.
    h.clock.advance_ms(3_600_000);
    let retry = br#"{"id":"p1","title":"Changed","image":"https://img.example/2.jpg"}"#;
    let reply = h
        .post(
            "std",
            &sign_standard(secret, "msg_1", 1_700_003_600, retry),
            retry.to_vec(),
        )
        .await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "duplicate"),
        "{}",
        reply.text
    );
    let stored = h.item("std", "id:p1").await.unwrap();
    assert_eq!(stored.item.title, "First");
    assert_eq!(stored.changes, 0);
    assert_eq!(h.job_count().await, 1);
}

#[tokio::test]
async fn a_price_or_stock_only_update_is_a_duplicate_and_a_title_change_is_not() {
    let secret = "shpss_test";
    let h = Harness::start(vec![("shop", shopify_settings(secret))], 0).await;
    let original: serde_json::Value =
        serde_json::from_slice(&fixture("shopify-products-update.json")).unwrap();
    let send = |body: serde_json::Value, event: &'static str| {
        let bytes = serde_json::to_vec(&body).unwrap();
        let headers = vec![
            ("X-Shopify-Topic".to_string(), "products/update".to_string()),
            (
                "X-Shopify-Hmac-Sha256".to_string(),
                sign_base64(secret, &bytes),
            ),
            ("X-Shopify-Event-Id".to_string(), event.to_string()),
        ];
        let h = &h;
        async move { h.post("shop", &headers, bytes).await }
    };
    assert_eq!(send(original.clone(), "e1").await.answer(), "accepted");
    let mut sold = original.clone();
    sold["variants"][0]["price"] = "149.00".into();
    sold["variants"][0]["inventory_quantity"] = 9.into();
    sold["updated_at"] = "2011-10-21T10:00:00-04:00".into();
    assert_eq!(send(sold, "e2").await.answer(), "duplicate");
    let mut renamed = original.clone();
    renamed["title"] = "IPod Nano - 16GB".into();
    // Shopify moves `updated_at` on every edit; an edit older than the stock update above
    // would be a stale delivery and change nothing.
    renamed["updated_at"] = "2011-10-22T10:00:00-04:00".into();
    assert_eq!(send(renamed, "e3").await.answer(), "accepted");
    let stored = h.item("shop", "product:632910392").await.unwrap();
    assert_eq!(stored.changes, 1);
    assert_eq!(stored.item.title, "IPod Nano - 16GB");
}

#[tokio::test]
async fn drafts_and_other_topics_are_2xx_skipped_and_recorded() {
    let secret = "shpss_test";
    let h = Harness::start(vec![("shop", shopify_settings(secret))], 0).await;
    let mut draft: serde_json::Value =
        serde_json::from_slice(&fixture("shopify-products-update.json")).unwrap();
    draft["status"] = "draft".into();
    let body = serde_json::to_vec(&draft).unwrap();
    let headers = vec![
        ("X-Shopify-Topic".to_string(), "products/update".to_string()),
        (
            "X-Shopify-Hmac-Sha256".to_string(),
            sign_base64(secret, &body),
        ),
    ];
    let reply = h.post("shop", &headers, body).await;
    assert_eq!((reply.status, reply.answer()), (200, "skipped"));
    assert_eq!(reply.reason(), "status is \"draft\", not \"active\"");
    let stored = h.item("shop", "skipped:product:632910392").await.unwrap();
    assert_eq!(
        stored.disposition,
        ItemDisposition::Skipped {
            reason: "status is \"draft\", not \"active\"".into()
        }
    );
    // Published later with the very same Pin fields: pinned, not taken for a duplicate.
    draft["status"] = "active".into();
    let body = serde_json::to_vec(&draft).unwrap();
    let headers = vec![
        ("X-Shopify-Topic".to_string(), "products/update".to_string()),
        (
            "X-Shopify-Hmac-Sha256".to_string(),
            sign_base64(secret, &body),
        ),
    ];
    let reply = h.post("shop", &headers, body).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );
    let stored = h.item("shop", "product:632910392").await.unwrap();
    assert_eq!(stored.disposition, ItemDisposition::Queued);
    assert_eq!(h.job_count().await, 1);

    let order = br#"{"id": 450789469, "total_price": "10.00"}"#;
    let headers = vec![
        ("X-Shopify-Topic".to_string(), "orders/create".to_string()),
        (
            "X-Shopify-Hmac-Sha256".to_string(),
            sign_base64(secret, order),
        ),
    ];
    let reply = h.post("shop", &headers, order.to_vec()).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "skipped"),
        "{}",
        reply.text
    );
    assert!(
        reply
            .reason()
            .starts_with("topic orders/create is not handled")
    );
    let event = h
        .item("shop", "event:orders/create:450789469")
        .await
        .unwrap();
    assert!(matches!(event.disposition, ItemDisposition::Skipped { .. }));
    assert_eq!(h.job_count().await, 1, "only the published product");
}

#[tokio::test]
async fn the_unsigned_woocommerce_ping_gets_200_and_stores_nothing() {
    let h = Harness::start(
        vec![(
            "woo",
            settings(
                r#"preset = "woocommerce"
                                                    secret = "s""#,
            ),
        )],
        0,
    )
    .await;
    let headers = vec![(
        "Content-Type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];
    let reply = h.post("woo", &headers, b"webhook_id=12".to_vec()).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "skipped"),
        "{}",
        reply.text
    );
    assert!(h.items().await.is_empty());
    // Anything else unsigned is still refused.
    let reply = h.post("woo", &headers, b"webhook_id=12&x=1".to_vec()).await;
    assert_eq!(
        (reply.status, reply.error()),
        (401, "missing header X-WC-Webhook-Signature")
    );
}

#[tokio::test]
async fn sources_can_be_replaced_and_bad_sets_are_refused_whole() {
    let v = vector("shopify-products-update");
    let h = Harness::start(vec![("old", shopify_settings(&v.secret))], 0).await;
    assert_eq!(h.post("old", &v.headers, v.body.clone()).await.status, 200);
    let problems = h
        .sources
        .replace(vec![
            (
                pinbridge::item::SourceId::new("new"),
                shopify_settings(&v.secret),
            ),
            (
                pinbridge::item::SourceId::new("broken"),
                settings(r#"preset = "shopify""#),
            ),
        ])
        .unwrap_err();
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|p| p.starts_with("sources.broken.secret: required")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.starts_with("sources.broken.storefront_url: required")),
        "{text:?}"
    );
    assert_eq!(
        h.post("old", &v.headers, v.body.clone()).await.answer(),
        "duplicate",
        "old set kept"
    );
    h.sources
        .replace(vec![(
            pinbridge::item::SourceId::new("new"),
            shopify_settings(&v.secret),
        )])
        .unwrap();
    assert_eq!(h.post("old", &v.headers, v.body.clone()).await.status, 404);
    assert_eq!(h.post("new", &v.headers, v.body.clone()).await.status, 200);
}

#[tokio::test]
async fn a_product_whose_image_arrives_later_is_pinned_then() {
    let v = vector("shopify-products-create");
    let h = Harness::start(vec![("shop", shopify_settings(&v.secret))], 0).await;
    let reply = h.post("shop", &v.headers, v.body.clone()).await;
    assert_eq!(
        (reply.answer(), reply.reason()),
        ("skipped", "no usable image")
    );
    let mut doc: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
    doc["images"] =
        serde_json::json!([{"src": "https://cdn.shopify.example/tee.jpg", "alt": "Tee"}]);
    let body = serde_json::to_vec(&doc).unwrap();
    let headers = vec![
        ("X-Shopify-Topic".to_string(), "products/update".to_string()),
        (
            "X-Shopify-Hmac-Sha256".to_string(),
            sign_base64(&v.secret, &body),
        ),
        (
            "X-Shopify-Event-Id".to_string(),
            "another-event".to_string(),
        ),
    ];
    let reply = h.post("shop", &headers, body).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );
    let stored = h.item("shop", "product:788032119674292922").await.unwrap();
    assert_eq!(stored.item.image_alt.as_deref(), Some("Tee"));
    assert_eq!(h.job_count().await, 1);
}

#[tokio::test]
async fn a_signed_github_ping_gets_200_and_an_unsigned_one_401() {
    let h = Harness::start(
        vec![(
            "gh",
            settings(
                r#"preset = "github"
                   secret = "octo"
                   mapping = { id = "/id", title = "/title" }"#,
            ),
        )],
        0,
    )
    .await;
    let body = br#"{"zen":"Design for failure.","hook_id":1}"#;
    let mac = pinbridge::sources::webhook::verify::keys::sign(
        pinbridge::sources::webhook::settings::Algorithm::Sha256,
        b"octo",
        &[body],
    );
    let signed = vec![
        ("X-GitHub-Event".to_string(), "ping".to_string()),
        (
            "X-Hub-Signature-256".to_string(),
            format!("sha256={}", hex::encode(mac)),
        ),
    ];
    let reply = h.post("gh", &signed, body.to_vec()).await;
    assert_eq!(
        (reply.status, reply.reason()),
        (200, "github ping"),
        "{}",
        reply.text
    );
    let unsigned = vec![("X-GitHub-Event".to_string(), "ping".to_string())];
    let reply = h.post("gh", &unsigned, body.to_vec()).await;
    assert_eq!(
        (reply.status, reply.error()),
        (401, "missing header X-Hub-Signature-256")
    );
    assert!(h.items().await.is_empty());
}

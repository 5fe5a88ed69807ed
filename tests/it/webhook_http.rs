//! The receiver through a real axum server and reqwest: every signed vector is accepted and
//! mapped; every kind of bad delivery gets its documented answer and stores nothing.

use std::sync::atomic::Ordering;

use pinbridge::store::ItemDisposition;

use crate::webhook_support::*;

fn all_vector_sources() -> Vec<(&'static str, pinbridge::sources::webhook::WebhookSettings)> {
    let rotation = vector("standard-webhooks-rotation");
    vec![
        (
            "std",
            settings(
                r#"preset = "standard-webhooks"
                   secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
                   mapping = { id = "/username", title = "/email" }"#,
            ),
        ),
        (
            // The rotation vector carries two signatures; only the new key is configured here.
            "rotation",
            settings(&format!(
                r#"preset = "wordpress"
                   scheme = "standard-webhooks"
                   secret = ["{}"]"#,
                rotation.other_secret.unwrap()
            )),
        ),
        (
            "shopify",
            shopify_settings("shpss_test_client_secret_do_not_use"),
        ),
        (
            "woo",
            settings(
                r#"preset = "woocommerce"
                              secret = "wc_test_secret_do_not_use""#,
            ),
        ),
        (
            "ghost",
            settings(
                r#"preset = "ghost"
                                secret = "ghost_test_secret_do_not_use""#,
            ),
        ),
        (
            "wpwh",
            settings(
                r#"preset = "wp-webhooks"
                               secret = "wpwh_test_secret_do_not_use""#,
            ),
        ),
        (
            "github",
            settings(
                r#"preset = "github"
                   secret = "github_style_test_secret"
                   mapping = { id = "/id", title = "/title/rendered", link = "/link" }"#,
            ),
        ),
        (
            "stripe",
            settings(
                r#"preset = "stripe"
                   secret = "whsec_test_stripe_style_secret"
                   mapping = { id = "/id", title = "/object" }"#,
            ),
        ),
    ]
}

fn source_of(vector: &str) -> &'static str {
    match vector {
        "standard-webhooks-official-vector" => "std",
        "standard-webhooks-rotation" => "rotation",
        "shopify-products-create" | "shopify-products-update" => "shopify",
        "woocommerce-product-created" => "woo",
        "ghost-post-published" => "ghost",
        "wp-webhooks-post-create" => "wpwh",
        "github-style-hex" => "github",
        "stripe-style" => "stripe",
        other => panic!("no source for {other}"),
    }
}

#[tokio::test]
async fn every_signed_vector_is_accepted_and_mapped() {
    let h = Harness::start(all_vector_sources(), 0).await;
    for v in vectors() {
        h.clock.set_ms(v.now_ms);
        let reply = h.post(source_of(&v.name), &v.headers, v.body.clone()).await;
        assert_eq!(reply.status, 200, "{}: {}", v.name, reply.text);
        assert_eq!(reply.answer(), "accepted", "{}: {}", v.name, reply.text);
    }
    assert_eq!(h.store.items().len(), 9);

    let create = h
        .store
        .item("shopify", "product:788032119674292922")
        .expect("64-bit id survives");
    assert_eq!(create.item.title, "Example T-Shirt");
    assert_eq!(
        create.item.link.as_deref(),
        Some("https://shop.example.com/products/example-t-shirt")
    );
    assert_eq!(
        create.item.image_url, None,
        "Shopify's own example has no image"
    );
    assert_eq!(create.item.categories, ["example", "mens", "t-shirt"]);
    // No image: ingest records it without a job.
    assert_eq!(
        create.disposition,
        ItemDisposition::Skipped {
            reason: "no usable image".into()
        }
    );

    let update = h.store.item("shopify", "product:632910392").unwrap();
    assert_eq!(
        update.item.image_url.as_deref(),
        Some("http://static.shopify.com/s/files/1/6909/3384/products/ipod-nano.png?0")
    );
    assert_eq!(update.disposition, ItemDisposition::Queued);

    let woo = h.store.item("woo", "product:794").unwrap();
    assert_eq!(woo.item.title, "Premium Quality");
    assert_eq!(
        woo.item.link.as_deref(),
        Some("https://example.com/product/premium-quality-19/")
    );
    assert_eq!(
        woo.item.image_url.as_deref(),
        Some("https://example.com/wp-content/uploads/2017/03/T_2_front-4.jpg")
    );
    assert_eq!(woo.item.categories, ["Clothing", "T-shirts"]);

    let ghost = h
        .store
        .item("ghost", "post:6458f2a5e1d4c20001a3b9c4")
        .unwrap();
    assert_eq!(
        ghost.item.link.as_deref(),
        Some("http://127.0.0.1:2369/webhookz/")
    );
    assert_eq!(
        ghost.item.image_url.as_deref(),
        Some("http://127.0.0.1:2369/content/images/lol.jpg"),
        "feature_image is null: the first <img> of the HTML"
    );

    let wpwh = h.store.item("wpwh", "post:1234").unwrap();
    assert_eq!(wpwh.item.title, "Hello world!");
    assert_eq!(
        wpwh.item.image_url.as_deref(),
        Some("https://mydomain.com/images/image.jpg")
    );
    assert_eq!(wpwh.item.categories.len(), 2);

    let rest = h.store.item("rotation", "post:4").unwrap();
    assert_eq!(rest.item.title, "REST API Client Fixture: Post");
    assert_eq!(rest.item.link.as_deref(), Some("http://example.org/?p=4"));

    let github = h.store.item("github", "id:4").unwrap();
    assert_eq!(github.item.title, "REST API Client Fixture: Post");
    assert!(h.store.item("stripe", "id:evt_test_webhook").is_some());
    assert!(h.store.item("std", "id:test_user").is_some());
}

#[tokio::test]
async fn bad_signatures_are_401_naming_the_check_and_store_nothing() {
    let shopify = vector("shopify-products-update");
    let official = vector("standard-webhooks-official-vector");
    let mut sources = all_vector_sources();
    sources.push((
        "shopify-other-secret",
        shopify_settings("a-different-secret"),
    ));
    let h = Harness::start(sources, official.now_ms).await;

    let mut tampered = shopify.body.clone();
    tampered[10] ^= 0x20;
    type Case<'a> = (&'a str, Vec<(String, String)>, Vec<u8>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "shopify",
            shopify.headers.clone(),
            tampered,
            "bad signature",
        ),
        (
            "shopify-other-secret",
            shopify.headers.clone(),
            shopify.body.clone(),
            "bad signature",
        ),
        (
            "shopify",
            shopify.without_header("X-Shopify-Hmac-Sha256"),
            shopify.body.clone(),
            "missing header X-Shopify-Hmac-Sha256",
        ),
        (
            "std",
            official.with_header("webhook-signature", "v1,"),
            official.body.clone(),
            "bad signature",
        ),
        (
            "std",
            official.with_header("webhook-signature", "v1,AAECAwQFBgcICQoLDA0ODw=="),
            official.body.clone(),
            "bad signature",
        ),
    ];
    for (source, headers, body, expected) in cases {
        let reply = h.post(source, &headers, body).await;
        assert_eq!(reply.status, 401, "{source}: {}", reply.text);
        assert_eq!(reply.error(), expected, "{source}");
        assert!(!reply.text.contains(&shopify.secret) && !reply.text.contains(&official.secret));
    }
    // The right signature, but ten minutes later (and earlier): stale.
    for offset in [600_000, -600_000] {
        h.clock.set_ms(official.now_ms + offset);
        let reply = h
            .post("std", &official.headers, official.body.clone())
            .await;
        assert_eq!(reply.status, 401);
        assert!(
            reply.error().starts_with("stale timestamp"),
            "{}",
            reply.text
        );
    }
    assert!(h.store.items().is_empty());
    assert_eq!(h.store.deliveries(), 0);
}

#[tokio::test]
async fn a_repeated_delivery_id_is_a_2xx_duplicate_that_changes_nothing() {
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let h = Harness::start(
        vec![(
            "std",
            settings(&format!(
                r#"preset = "standard-webhooks"
                   secret = "{secret}"
                   mapping = {{ id = "/id", title = "/title", image = "/image" }}"#
            )),
        )],
        1_700_000_000_000,
    )
    .await;
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
    let stored = h.store.item("std", "id:p1").unwrap();
    assert_eq!(stored.item.title, "First");
    assert_eq!(stored.changes, 0);
    assert_eq!(h.store.jobs(), 1);
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
    assert_eq!(send(renamed, "e3").await.answer(), "accepted");
    let stored = h.store.item("shop", "product:632910392").unwrap();
    assert_eq!(stored.changes, 1);
    assert_eq!(stored.item.title, "IPod Nano - 16GB");
}

#[tokio::test]
async fn oversized_bodies_are_413_with_and_without_content_length() {
    let v = vector("shopify-products-update");
    let mut small = shopify_settings(&v.secret);
    small.max_body_bytes = 1000;
    let h = Harness::start(
        vec![("shopify", shopify_settings(&v.secret)), ("small", small)],
        0,
    )
    .await;
    let five_mib = vec![b' '; 5 * 1024 * 1024];
    let reply = h.post("shopify", &v.headers, five_mib.clone()).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert_eq!(reply.error(), "body larger than 1048576 bytes");
    // Chunked: no Content-Length, the cap applies while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        five_mib.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let reply = h.post("shopify", &v.headers, stream).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    // A per-source limit.
    let reply = h.post("small", &v.headers, v.body.clone()).await;
    assert_eq!(
        (reply.status, reply.error()),
        (413, "body larger than 1000 bytes")
    );
    assert!(h.store.items().is_empty());
}

#[tokio::test]
async fn unreadable_payloads_are_400_naming_what_and_where() {
    let secret = "shpss_test";
    let h = Harness::start(vec![("shop", shopify_settings(secret))], 0).await;
    let post = |body: &'static [u8], topic: Option<&'static str>| {
        let mut headers = vec![(
            "X-Shopify-Hmac-Sha256".to_string(),
            sign_base64(secret, body),
        )];
        if let Some(t) = topic {
            headers.push(("X-Shopify-Topic".to_string(), t.to_string()));
        }
        let h = &h;
        async move { h.post("shop", &headers, body.to_vec()).await }
    };
    let reply = post(b"{\"id\": 1, \"title\": ", Some("products/create")).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.error().starts_with("body is not valid JSON: "),
        "{}",
        reply.text
    );
    let reply = post(br#"{"id": 1, "title": 5}"#, Some("products/create")).await;
    assert_eq!(
        (reply.status, reply.error()),
        (400, "$.title: expected a string, found a number")
    );
    let reply = post(br#"{"id": 1.5, "title": "x"}"#, Some("products/create")).await;
    assert_eq!(
        (reply.status, reply.error()),
        (
            400,
            "$.id: expected a string or an integer id, found a number"
        )
    );
    let reply = post(br#"{"id": 1, "title": "x"}"#, None).await;
    assert_eq!(
        (reply.status, reply.error()),
        (400, "missing header X-Shopify-Topic")
    );
    assert!(h.store.items().is_empty());
}

#[tokio::test]
async fn unknown_sources_are_404() {
    let h = Harness::start(vec![], 0).await;
    let reply = h.post("nope", &[], b"{}".to_vec()).await;
    assert_eq!(
        (reply.status, reply.error()),
        (404, "unknown webhook source \"nope\"")
    );
}

#[tokio::test]
async fn a_store_error_is_503_with_retry_after_and_the_retry_then_succeeds() {
    let v = vector("shopify-products-update");
    let h = Harness::start(vec![("shopify", shopify_settings(&v.secret))], 0).await;
    h.store.failing.store(true, Ordering::SeqCst);
    let reply = h.post("shopify", &v.headers, v.body.clone()).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert_eq!(reply.retry_after.as_deref(), Some("30"));
    assert!(
        !reply.text.contains("disk on fire"),
        "store internals stay in the log: {}",
        reply.text
    );
    h.store.failing.store(false, Ordering::SeqCst);
    // The same delivery again: its id was not recorded by the failed attempt.
    let reply = h.post("shopify", &v.headers, v.body.clone()).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );
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
    let stored = h.store.item("shop", "product:632910392").unwrap();
    assert_eq!(
        stored.disposition,
        ItemDisposition::Skipped {
            reason: "status is \"draft\", not \"active\"".into()
        }
    );

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
        .store
        .item("shop", "event:orders/create:450789469")
        .unwrap();
    assert!(matches!(event.disposition, ItemDisposition::Skipped { .. }));
    assert_eq!(h.store.jobs(), 0);
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
    assert!(h.store.items().is_empty());
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

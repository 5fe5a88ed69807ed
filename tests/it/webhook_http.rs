//! The receiver through a real axum server and reqwest: every signed vector is accepted and
//! mapped; every kind of bad delivery gets its documented answer and stores nothing.

use pinbridge::store::ItemDisposition;

use crate::support::webhook::*;

pub(crate) fn all_vector_sources()
-> Vec<(&'static str, pinbridge::sources::webhook::WebhookSettings)> {
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

pub(crate) fn source_of(vector: &str) -> &'static str {
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
        // Payloads without any image are recorded as skipped; the rest are queued.
        let has_image = [
            "shopify-products-update",
            "woocommerce-product-created",
            "ghost-post-published",
            "wp-webhooks-post-create",
        ]
        .contains(&v.name.as_str());
        let expected = if has_image {
            ("accepted", "")
        } else {
            ("skipped", "no usable image")
        };
        assert_eq!(
            (reply.answer(), reply.reason()),
            expected,
            "{}: {}",
            v.name,
            reply.text
        );
    }
    assert_eq!(h.job_count().await, 4);
    assert_eq!(h.items().await.len(), 9);

    let create = h
        .item("shopify", "skipped:product:788032119674292922")
        .await
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
    // No image yet: recorded aside, so a later update that adds one is pinned as new.
    assert_eq!(
        create.disposition,
        ItemDisposition::Skipped {
            reason: "no usable image".into()
        }
    );

    let update = h.item("shopify", "product:632910392").await.unwrap();
    assert_eq!(
        update.item.image_url.as_deref(),
        Some("http://static.shopify.com/s/files/1/6909/3384/products/ipod-nano.png?0")
    );
    assert_eq!(update.disposition, ItemDisposition::Queued);
    assert_eq!(
        update.item.fields.get("price").map(String::as_str),
        Some("199.00"),
        "the first variant's price is there for templates"
    );

    let woo = h.item("woo", "product:794").await.unwrap();
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
        .item("ghost", "post:6458f2a5e1d4c20001a3b9c4")
        .await
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

    let wpwh = h.item("wpwh", "post:1234").await.unwrap();
    assert_eq!(wpwh.item.title, "Hello world!");
    assert_eq!(
        wpwh.item.image_url.as_deref(),
        Some("https://mydomain.com/images/image.jpg")
    );
    assert_eq!(wpwh.item.categories.len(), 2);

    let rest = h.item("rotation", "skipped:post:4").await.unwrap();
    assert_eq!(rest.item.title, "REST API Client Fixture: Post");
    assert_eq!(rest.item.link.as_deref(), Some("http://example.org/?p=4"));

    let github = h.item("github", "skipped:id:4").await.unwrap();
    assert_eq!(github.item.title, "REST API Client Fixture: Post");
    assert!(
        h.item("stripe", "skipped:id:evt_test_webhook")
            .await
            .is_some()
    );
    assert!(h.item("std", "skipped:id:test_user").await.is_some());
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
    assert!(h.items().await.is_empty());
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
    assert!(h.items().await.is_empty());
}

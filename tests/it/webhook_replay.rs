//! Replays and out-of-order deliveries over HTTP, with the real signed payloads: a captured
//! body-only-signed request replayed under a fresh id header changes nothing, and a validly
//! signed older version never overwrites a newer one.

use serde_json::Value;

use crate::support::webhook::*;

/// One body-signed preset as its sender signs it, on the real fixture payload.
struct Sender {
    source: &'static str,
    vector: &'static str,
    key: &'static str,
    /// The payload's title field and "last modified" field.
    title: &'static str,
    updated: &'static str,
    /// A time later than the fixture's, in the payload's own format.
    later: &'static str,
    signature: &'static str,
    /// Every header a sender (or an attacker) may set to a fresh delivery id.
    id_headers: &'static [&'static str],
}

const SHOPIFY: Sender = Sender {
    source: "shop",
    vector: "shopify-products-update",
    key: "product:632910392",
    title: "title",
    updated: "updated_at",
    later: "2011-10-21T09:00:00-04:00",
    signature: "X-Shopify-Hmac-Sha256",
    id_headers: &["X-Shopify-Webhook-Id", "X-Shopify-Event-Id"],
};

const WOOCOMMERCE: Sender = Sender {
    source: "woo",
    vector: "woocommerce-product-created",
    key: "product:794",
    title: "name",
    updated: "date_modified_gmt",
    later: "2017-03-24T08:00:00",
    signature: "X-WC-Webhook-Signature",
    id_headers: &["X-WC-Webhook-Delivery-ID"],
};

impl Sender {
    async fn start(&self) -> (Harness, Vector) {
        let v = vector(self.vector);
        let settings = match self.source {
            "shop" => shopify_settings(&v.secret),
            _ => settings(&format!(
                "preset = \"woocommerce\"\nsecret = \"{}\"",
                v.secret
            )),
        };
        (
            Harness::start(vec![(self.source, settings)], v.now_ms).await,
            v,
        )
    }

    /// The fixture's request with every id header set to `id`: what a replay looks like.
    fn with_fresh_id(&self, v: &Vector, id: &str) -> Vec<(String, String)> {
        let mut headers = v.headers.clone();
        for name in self.id_headers {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            headers.push((name.to_string(), id.to_string()));
        }
        headers
    }

    /// The fixture edited by `edit`, signed with the source's secret, under a new id.
    fn edited(
        &self,
        v: &Vector,
        id: &str,
        edit: impl FnOnce(&mut Value),
    ) -> (Vec<(String, String)>, Vec<u8>) {
        let mut doc: Value = serde_json::from_slice(&v.body).unwrap();
        edit(&mut doc);
        let body = serde_json::to_vec(&doc).unwrap();
        let mut headers = self.with_fresh_id(v, id);
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(self.signature));
        headers.push((self.signature.to_string(), sign_base64(&v.secret, &body)));
        (headers, body)
    }
}

/// The real request, then a second edit made within the same second (the payload's time
/// cannot order the two), then the first request replayed byte for byte under fresh id
/// headers: a 2xx duplicate that leaves the second edit in place.
async fn replay_under_a_fresh_id_changes_nothing(sender: &Sender) {
    let (h, v) = sender.start().await;
    let reply = h.post(sender.source, &v.headers, v.body.clone()).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );
    let title = sender.title;
    let (headers, body) = sender.edited(&v, "edit-2", |doc| doc[title] = "Second edit".into());
    let reply = h.post(sender.source, &headers, body).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );

    let replay = sender.with_fresh_id(&v, "fresh-id-of-a-replay");
    let reply = h.post(sender.source, &replay, v.body.clone()).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "duplicate"),
        "{}",
        reply.text
    );
    let stored = h.item(sender.source, sender.key).await.expect("stored");
    assert_eq!(stored.item.title, "Second edit", "{}", sender.vector);
    assert_eq!(stored.changes, 1);
    assert_eq!(h.job_count().await, 1);
}

#[tokio::test]
async fn a_shopify_request_replayed_under_a_fresh_webhook_id_changes_nothing() {
    replay_under_a_fresh_id_changes_nothing(&SHOPIFY).await;
}

#[tokio::test]
async fn a_woocommerce_request_replayed_under_a_fresh_delivery_id_changes_nothing() {
    replay_under_a_fresh_id_changes_nothing(&WOOCOMMERCE).await;
}

/// A newer version (later modification time), then the real, validly signed older fixture
/// under its own ids (a delayed delivery): the newer one stays, no job is queued for the old.
async fn an_older_delivery_after_a_newer_one_changes_nothing(sender: &Sender) {
    let (h, v) = sender.start().await;
    let (title, updated, later) = (sender.title, sender.updated, sender.later);
    let (headers, body) = sender.edited(&v, "v2", |doc| {
        doc[title] = "Version 2".into();
        doc[updated] = later.into();
    });
    let reply = h.post(sender.source, &headers, body).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );
    let reply = h.post(sender.source, &v.headers, v.body.clone()).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "duplicate"),
        "{}",
        reply.text
    );
    let stored = h.item(sender.source, sender.key).await.expect("stored");
    assert_eq!(stored.item.title, "Version 2", "{}", sender.vector);
    assert_eq!(stored.changes, 0);
    assert_eq!(h.job_count().await, 1);
}

#[tokio::test]
async fn an_older_shopify_update_after_a_newer_one_changes_nothing() {
    an_older_delivery_after_a_newer_one_changes_nothing(&SHOPIFY).await;
}

#[tokio::test]
async fn an_older_woocommerce_update_after_a_newer_one_changes_nothing() {
    an_older_delivery_after_a_newer_one_changes_nothing(&WOOCOMMERCE).await;
}

/// Every preset that knows its payload's modification time records it, as sent.
#[tokio::test]
async fn presets_record_the_payloads_modification_time() {
    let secret = |name: &str| vector(name).secret;
    let sources = vec![
        ("shop", shopify_settings(&secret("shopify-products-update"))),
        (
            "woo",
            settings(&format!(
                "preset = \"woocommerce\"\nsecret = \"{}\"",
                secret("woocommerce-product-created")
            )),
        ),
        (
            "ghost",
            settings(&format!(
                "preset = \"ghost\"\nsecret = \"{}\"",
                secret("ghost-post-published")
            )),
        ),
        (
            "wpwh",
            settings(&format!(
                "preset = \"wp-webhooks\"\nsecret = \"{}\"",
                secret("wp-webhooks-post-create")
            )),
        ),
    ];
    let h = Harness::start(sources, 0).await;
    let expected = [
        // 2011-10-20T14:05:13-04:00
        (
            "shopify-products-update",
            "shop",
            "product:632910392",
            1_319_133_913_000,
        ),
        // date_modified_gmt 2017-03-23T20:01:14
        (
            "woocommerce-product-created",
            "woo",
            "product:794",
            1_490_299_274_000,
        ),
        // updated_at 2026-01-15T10:00:03.000Z
        (
            "ghost-post-published",
            "ghost",
            "post:6458f2a5e1d4c20001a3b9c4",
            1_768_471_203_000,
        ),
        // post_modified_gmt 2018-11-06 14:19:18
        (
            "wp-webhooks-post-create",
            "wpwh",
            "post:1234",
            1_541_513_958_000,
        ),
    ];
    for (name, source, key, updated_ms) in expected {
        let v = vector(name);
        h.clock.set_ms(v.now_ms);
        let reply = h.post(source, &v.headers, v.body.clone()).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.text);
        let stored = h.item(source, key).await.expect(name);
        assert_eq!(stored.item.updated_ms, Some(updated_ms), "{name}");
    }
}

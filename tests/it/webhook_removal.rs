//! Removal signals from CMS and shop webhooks: a WooCommerce `product.deleted`, a trashed
//! product, and a Ghost `post.deleted` (an empty `current`, the post in `previous`) queue a
//! delete of the Pin pinbridge made, on a route whose `on_delete = "delete"`; the same
//! deliveries signed as their senders sign them.

use hmac::{Hmac, KeyInit, Mac};
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::store::*;
use serde_json::Value;
use sha2::Sha256;

use crate::support::webhook::{Harness, fixture, settings, sign_base64};

const WOO: &str = "wc_test_secret_do_not_use";
const GHOST: &str = "ghost_test_secret_do_not_use";
const NOW_MS: i64 = 1_768_471_203_000;

async fn harness() -> Harness {
    Harness::start(
        vec![
            (
                "woo",
                settings(&format!("preset = \"woocommerce\"\nsecret = \"{WOO}\"")),
            ),
            (
                "ghost",
                settings(&format!("preset = \"ghost\"\nsecret = \"{GHOST}\"")),
            ),
        ],
        NOW_MS,
    )
    .await
}

async fn woo(h: &Harness, topic: &str, body: &[u8]) -> (u16, String) {
    let headers = vec![
        ("X-WC-Webhook-Topic".to_string(), topic.to_string()),
        ("X-WC-Webhook-Signature".to_string(), sign_base64(WOO, body)),
        (
            "X-WC-Webhook-Delivery-ID".to_string(),
            format!("{topic}-{}", body.len()),
        ),
    ];
    let reply = h.post("woo", &headers, body.to_vec()).await;
    (reply.status, reply.answer().to_string())
}

/// `X-Ghost-Signature`: HMAC-SHA256 over the body followed by the millisecond time.
async fn ghost(h: &Harness, body: &[u8]) -> (u16, String) {
    let mut mac = Hmac::<Sha256>::new_from_slice(GHOST.as_bytes()).unwrap();
    mac.update(body);
    mac.update(NOW_MS.to_string().as_bytes());
    let signature = format!(
        "sha256={}, t={NOW_MS}",
        hex::encode(mac.finalize().into_bytes())
    );
    let headers = vec![("X-Ghost-Signature".to_string(), signature)];
    let reply = h.post("ghost", &headers, body.to_vec()).await;
    (reply.status, reply.answer().to_string())
}

/// Run the one queued create to done with Pin `pin`.
async fn pin_it(h: &Harness, pin: &str) {
    let lease = h.store.claim(1, 60_000, NOW_MS).await.unwrap().remove(0);
    h.store.complete(&lease, pin, NOW_MS).await.unwrap();
}

async fn delete_of(h: &Harness, source: &str, key: &str) -> Option<JobKind> {
    h.store
        .item_jobs(&SourceId::new(source), &DedupKey(key.into()))
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.kind)
        .find(|k| matches!(k, JobKind::Delete { .. }))
}

#[tokio::test]
async fn a_woocommerce_product_deleted_queues_the_delete_of_its_pin() {
    let h = harness().await;
    let created = fixture("woocommerce-product-created.json");
    let id = serde_json::from_slice::<Value>(&created).unwrap()["id"].clone();
    assert_eq!(
        woo(&h, "product.created", &created).await,
        (200, "accepted".into())
    );
    pin_it(&h, "woo-pin").await;

    let deleted = format!(r#"{{"id":{id}}}"#);
    let answer = woo(&h, "product.deleted", deleted.as_bytes()).await;
    assert_eq!(answer, (200, "removed".into()));
    let Some(JobKind::Delete { pin_id, .. }) = delete_of(&h, "woo", &format!("product:{id}")).await
    else {
        panic!("no delete queued");
    };
    assert_eq!(pin_id.as_deref(), Some("woo-pin"));
}

#[tokio::test]
async fn a_trashed_woocommerce_product_is_skipped_and_takes_its_pin_along() {
    let h = harness().await;
    let created = fixture("woocommerce-product-created.json");
    let mut doc: Value = serde_json::from_slice(&created).unwrap();
    assert_eq!(
        woo(&h, "product.created", &created).await,
        (200, "accepted".into())
    );
    pin_it(&h, "woo-pin").await;
    doc["status"] = "trash".into();
    doc["date_modified_gmt"] = "2030-01-01T00:00:00".into();
    let trashed = serde_json::to_vec(&doc).unwrap();
    assert_eq!(
        woo(&h, "product.updated", &trashed).await,
        (200, "skipped".into())
    );
    let key = format!("product:{}", doc["id"]);
    assert!(
        delete_of(&h, "woo", &key).await.is_some(),
        "a delete is queued"
    );
}

#[tokio::test]
async fn a_ghost_post_deleted_queues_the_delete_of_its_pin() {
    let h = harness().await;
    let published = fixture("ghost-post-published.json");
    let doc: Value = serde_json::from_slice(&published).unwrap();
    assert_eq!(ghost(&h, &published).await, (200, "accepted".into()));
    pin_it(&h, "ghost-pin").await;

    // Ghost's post.deleted: `current` is empty, the post as it was is in `previous`.
    let deleted = serde_json::json!({"post": {"current": {}, "previous": doc["post"]["current"]}});
    let answer = ghost(&h, &serde_json::to_vec(&deleted).unwrap()).await;
    assert_eq!(answer, (200, "removed".into()));
    let key = format!("post:{}", doc["post"]["current"]["id"].as_str().unwrap());
    let Some(JobKind::Delete { pin_id, .. }) = delete_of(&h, "ghost", &key).await else {
        panic!("no delete queued");
    };
    assert_eq!(pin_id.as_deref(), Some("ghost-pin"));
}

//! Retention in the running service: with `[store] keep_payloads`, the real app (webhooks in,
//! Pins out through the sandbox) compacts an item once the service's clock passes the horizon,
//! drops expired delivery ids, counts both in its metrics, says so on the status page and the
//! item views, and still treats a re-sent item as a duplicate and a changed one as a change.
//! Time moves by a `ManualClock`, never by sleeping.

use std::sync::Arc;

use pinbridge::clock::{Clock, ManualClock};
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::store::JobState;
use reqwest::Method;
use serde_json::json;

use crate::support::app::{AppSetup, TestApp};
use crate::support::config::{ADMIN, route, shopify_source};
use crate::support::shopify::signature;
use crate::support::wait::eventually;

const SECRET: &str = "shpss_retention";
const DAY_MS: i64 = 86_400_000;

/// A signed `products/update` for product 1 with this title and price, as delivery `id`.
async fn send(app: &TestApp, title: &str, price: &str, id: &str) -> u16 {
    let body = json!({
        "id": 1, "title": title, "body_html": "<p>Mug.</p>", "handle": "mug-1",
        "status": "active", "published_at": "2026-11-20T10:00:00-05:00",
        "variants": [{"id": 1, "price": price}],
        "images": [{"id": 2, "position": 1, "src": "https://cdn.shop.example/1.jpg"}],
        "image": {"id": 2, "src": "https://cdn.shop.example/1.jpg"}
    })
    .to_string();
    app.client
        .post(format!("{}/hooks/shop", app.base))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "products/update")
        .header("x-shopify-hmac-sha256", signature(SECRET, &body))
        .header("x-shopify-shop-domain", "live.myshopify.com")
        .header("x-shopify-webhook-id", id)
        .body(body)
        .send()
        .await
        .expect("the webhook answers")
        .status()
        .as_u16()
}

async fn page(app: &TestApp, path: &str) -> String {
    let answer = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    answer.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_payloads_are_compacted_in_the_service_and_dedup_holds() {
    let setup = AppSetup::start().await;
    let config = format!(
        "{}{}{}",
        setup.head().replace(
            "[store]\n",
            "[store]\nkeep_payloads = \"1d\"\nretention_every = \"20ms\"\n"
        ),
        shopify_source("shop", SECRET),
        route("shop", "Mugs"),
    );
    let clock = ManualClock::new(pinbridge::clock::SystemClock.now_ms());
    let app = setup
        .spawn_app_with_clock(&config, Arc::new(clock.clone()))
        .await;
    let (source, key) = (SourceId::new("shop"), DedupKey::new("product", "1"));

    assert_eq!(send(&app, "Mug", "28.00", "d-1").await, 200);
    let store = app.store.clone();
    eventually("the Pin is made", || {
        let (store, source, key) = (store.clone(), source.clone(), key.clone());
        async move {
            let jobs = store.item_jobs(&source, &key).await.unwrap();
            jobs.len() == 1 && matches!(jobs[0].state, JobState::Done { .. })
        }
    })
    .await;
    let status = page(&app, "/").await;
    assert!(
        status.contains("Item payloads are kept 1 day after an item was last seen"),
        "{status}"
    );
    assert_eq!(app.item("shop", &key).await.unwrap().compacted, None);

    // Eight days on: past the payload horizon and the webhook's 7-day delivery horizon.
    clock.advance_ms(8 * DAY_MS);
    eventually("the item is compacted", || async {
        app.item("shop", &key).await.unwrap().compacted.is_some()
    })
    .await;
    let stored = app.item("shop", &key).await.unwrap();
    assert_eq!(
        (stored.item.title.as_str(), stored.item.image_url),
        ("", None)
    );
    let (code, answer) = app.api(Method::GET, "/items/shop/product:1", None).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["payload_compacted"], json!(stored.compacted));
    assert_eq!(answer["pins"].as_array().map(Vec::len), Some(1), "{answer}");
    let item_page = page(&app, "/ui/items/shop/product:1").await;
    assert!(item_page.contains("payload compacted on"), "{item_page}");
    assert!(
        item_page.contains("data-pin="),
        "its Pin is listed: {item_page}"
    );

    eventually("the status page reports the run", || async {
        let html = page(&app, "/").await;
        html.contains("compacted: items <b>1</b>, jobs <b>0</b>")
            && html.contains("delivery ids dropped: <b>2</b>")
    })
    .await;
    let metrics = page(&app, "/metrics").await;
    let compacted = metrics
        .lines()
        .find(|l| l.starts_with("pinbridge_store_compacted_total{kind=\"item\"}"))
        .unwrap_or_else(|| panic!("no item counter: {metrics}"));
    assert!(!compacted.ends_with(" 0"), "{compacted}");
    assert!(
        metrics.contains("pinbridge_store_deliveries_expired_total"),
        "{metrics}"
    );

    // A re-sent product whose Pin fields did not change (only its price) is a duplicate.
    assert_eq!(send(&app, "Mug", "30.00", "d-2").await, 200);
    assert_eq!(store.item_jobs(&source, &key).await.unwrap().len(), 1);
    assert!(app.item("shop", &key).await.unwrap().compacted.is_some());
    // A changed one is recorded with its new payload.
    assert_eq!(send(&app, "Mug, blue", "30.00", "d-3").await, 200);
    let changed = app.item("shop", &key).await.unwrap();
    assert_eq!(
        (changed.item.title.as_str(), changed.compacted),
        ("Mug, blue", None)
    );
    assert_eq!(changed.changes, 1);

    // Shutdown stops the task with everything else.
    app.stop().await;
    setup.stop.cancel();
}

//! Board pacing across sources: one product link reaching pinbridge from a feed and from a
//! signed Shopify webhook becomes one Pin per board, even when both are pinned at the same time;
//! and `min_spacing` is validated like the rest of the file.

use std::path::Path;
use std::sync::Arc;

use pinbridge::app::App;
use pinbridge::config::{Config, SourceSettings};
use pinbridge::item::SourceId;
use pinbridge::sources::webhook::WebhookSources;
use pinbridge::store::{Job, JobState};
use tokio::net::TcpListener;

use super::sync_pacing::*;

/// Serve the app's webhook endpoint on loopback (what `serve` mounts at `/hooks/<id>`).
pub(crate) async fn serve_hooks(h: &Harness, app: &App) -> String {
    let config = h.config();
    let hooks: Vec<_> = config
        .sources
        .iter()
        .filter_map(|s| match &s.settings {
            SourceSettings::Webhook(w) => Some((SourceId::new(&s.common.id), w.as_ref().clone())),
            _ => None,
        })
        .collect();
    let sources = Arc::new(
        WebhookSources::new(hooks, app.ingest.clone(), Arc::new(h.clock.clone()))
            .expect("webhook sources"),
    );
    let router = pinbridge::sources::webhook::router(sources);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let token = h.shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
            .unwrap()
    });
    base
}

/// POST a signed Shopify `products/create` for a product with `handle`.
pub(crate) async fn send_product(base: &str, id: u64, handle: &str, title: &str) {
    let body = serde_json::json!({
        "id": id,
        "title": title,
        "body_html": "<p>A mug.</p>",
        "handle": handle,
        "status": "active",
        "published_at": "2026-11-20T10:00:00-05:00",
        "variants": [{"id": 1, "price": "10.00"}],
        "images": [{"id": 1, "position": 1, "src": "https://cdn.shop.example/mug.jpg"}],
        "image": {"id": 1, "src": "https://cdn.shop.example/mug.jpg"}
    })
    .to_string();
    let signature = crate::support::shopify::signature(SHOP_SECRET, &body);
    let http = reqwest::Client::new();
    let url = format!("{base}/hooks/shop");
    let answer = crate::support::shopify::delivery(
        &http,
        url,
        "pacing.myshopify.com",
        id,
        &body,
        &signature,
    )
    .send()
    .await
    .unwrap();
    assert!(
        answer.status().is_success(),
        "webhook refused: {}",
        answer.status()
    );
}

#[tokio::test]
async fn one_product_from_a_feed_and_a_webhook_is_one_pin_per_board() {
    // The feed's link carries tracking parameters and a fragment and another host case; the
    // webhook's link is built from the storefront URL. Both normalise to one link.
    let body = feed(&[(
        "Blue mug",
        "https://SHOP.example/products/blue-mug?utm_source=rss&amp;utm_medium=feed#reviews",
    )]);
    let routes = r#"
[[routes]]
source = "*"
board = "Products"
create_missing = true

[[routes]]
source = "*"
board = "Gifts"
create_missing = true
"#;
    let h = Harness::start(body, routes).await;
    let app = h.app().await;
    let hooks = serve_hooks(&h, &app).await;

    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 1);
    assert_eq!(h.pins_on("Gifts").len(), 1);

    send_product(&hooks, 7001, "blue-mug", "Blue Mug (shop)").await;
    h.advance(MINUTE);
    app.engine.run_due().await.unwrap();

    let products = h.pins_on("Products");
    let gifts = h.pins_on("Gifts");
    assert_eq!(products.len(), 1, "one Pin on Products: {products:?}");
    assert_eq!(gifts.len(), 1, "one Pin on Gifts: {gifts:?}");
    assert_eq!(h.sandbox.pins().len(), 2);

    // The webhook's jobs are done, pointing at the feed's Pins, and say why.
    let all = jobs(&app).await;
    let shop_jobs: Vec<&Job> = all.iter().filter(|j| j.source.as_str() == "shop").collect();
    assert_eq!(shop_jobs.len(), 2);
    for job in shop_jobs {
        let JobState::Done { pin_id, .. } = &job.state else {
            panic!("the webhook's job is not done: {:?}", job.state);
        };
        let expected = match job.target.board.as_str() {
            "Products" => &products[0].id,
            _ => &gifts[0].id,
        };
        assert_eq!(pin_id, expected);
        let note = job.last_error.as_deref().unwrap_or_default();
        assert!(
            note.contains("same link already pinned on this board by blog/"),
            "{note}"
        );
    }
    let holder = app
        .store
        .link_holder("main", "Products", "https://shop.example/products/blue-mug")
        .await
        .unwrap()
        .expect("the link is indexed");
    assert_eq!(holder.source.as_str(), "blog");
    assert_eq!(holder.pin_id.as_deref(), Some(products[0].id.as_str()));

    // A different product from the webhook is pinned as usual.
    send_product(&hooks, 7002, "red-mug", "Red Mug").await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 2);
}

#[test]
fn min_spacing_is_validated() {
    let base = r#"
[pinterest]
api_base = "http://127.0.0.1:9/v5/"
[[accounts]]
name = "main"
access_token = "t"
[[sources]]
id = "shop"
kind = "webhook"
preset = "shopify"
secret = "s"
storefront_url = "https://shop.example"
"#;
    let check = |routes: &str| -> Vec<String> {
        match Config::from_toml(&format!("{base}{routes}"), Path::new("x.toml"), &|_| None) {
            Ok(_) => Vec::new(),
            Err(e) => e.to_string().lines().map(str::to_string).collect(),
        }
    };
    let ok = check("[[routes]]\nsource = \"shop\"\nboard = \"B\"\nmin_spacing = \"15m\"\n");
    assert!(ok.is_empty(), "{ok:?}");
    let zero = check("[[routes]]\nsource = \"shop\"\nboard = \"B\"\nmin_spacing = \"0s\"\n");
    assert!(
        zero.iter()
            .any(|l| l.contains("routes[0].min_spacing") && l.contains("more than zero")),
        "{zero:?}"
    );
    let garbage = check("[[routes]]\nsource = \"shop\"\nboard = \"B\"\nmin_spacing = \"soon\"\n");
    assert!(
        garbage.iter().any(|l| l.contains("min_spacing")),
        "{garbage:?}"
    );
    let two = check(
        "[[routes]]\nsource = \"shop\"\nboard = \"B\"\nmin_spacing = \"15m\"\n[[routes]]\nsource = \"*\"\nboard = \"B\"\nmin_spacing = \"1h\"\n",
    );
    assert!(
        two.iter()
            .any(|l| l.contains("routes[1].min_spacing") && l.contains("routes[0]")),
        "{two:?}"
    );
}

#[tokio::test]
async fn a_feed_item_and_a_webhook_pinned_at_the_same_time_still_make_one_pin() {
    let body = feed(&[("Green mug", "https://shop.example/products/green-mug#top")]);
    let routes = r#"
[[routes]]
source = "*"
board = "Products"
create_missing = true
"#;
    let mut h = Harness::start(body, routes).await;
    // Two workers: both jobs are claimed together and race for the link.
    h.workers = 2;
    let app = h.app().await;
    let hooks = serve_hooks(&h, &app).await;
    poll(&app).await;
    send_product(&hooks, 7003, "green-mug", "Green Mug").await;
    assert_eq!(jobs(&app).await.len(), 2);

    app.engine.run_due().await.unwrap();
    // The loser either saw the winner's Pin, or saw it in flight and waits (at most a minute).
    h.advance(2 * MINUTE);
    app.engine.run_due().await.unwrap();

    assert_eq!(h.pins_on("Products").len(), 1, "{:?}", h.sandbox.pins());
    let all = jobs(&app).await;
    let pin_ids: Vec<&str> = all
        .iter()
        .map(|j| match &j.state {
            JobState::Done { pin_id, .. } => pin_id.as_str(),
            other => panic!("job not done: {other:?}"),
        })
        .collect();
    assert_eq!(pin_ids[0], pin_ids[1], "both point at the one Pin");
    assert_eq!(
        all.iter()
            .filter(|j| j
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("same link already pinned")))
            .count(),
        1
    );
    assert!(all.iter().all(|j| j.attempts == 0));
}

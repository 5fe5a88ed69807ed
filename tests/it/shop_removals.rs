//! Listings removed at the shop follow to Pinterest: an Etsy listing no longer `active`, a
//! Shopify product gone from the storefront. Both only after complete passes have missed it
//! for longer than `removal_grace` and the shop confirms it (Etsy's batch answers another
//! state or nothing; the product's page answers 404); one the paging merely missed is kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::feed_removals::deleting_ingest;
use crate::shop_etsy::{etsy_server, shop};
use crate::support::feed::{Sled, serve, sled_store};
use pinbridge::ingest::Ingest;
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::sources::feed::{Backfill, Fetcher};
use pinbridge::sources::shop::{ShopSource, ShopifySettings, ShopifySource, poll_cycle};
use pinbridge::store::Items;

const MINUTE: i64 = 60 * 1000;
const DAY: i64 = 24 * 60 * MINUTE;

async fn poll(src: &ShopSource, ingest: &Ingest) {
    poll_cycle(src, ingest, &CancellationToken::new())
        .await
        .expect("state saved");
}

async fn removed(store: &Sled, source: &str, key: &str) -> bool {
    store
        .store
        .item(&SourceId::new(source), &DedupKey(key.to_string()))
        .await
        .expect("item")
        .unwrap_or_else(|| panic!("{key} is recorded"))
        .removed
        .is_some()
}

#[tokio::test]
async fn an_etsy_listing_no_longer_active_is_removed_after_the_grace_and_one_the_paging_missed_is_kept()
 {
    let state = shop(4);
    let base = etsy_server(state.clone()).await;
    let src = crate::shop_etsy::source(&base, |s| s.backfill = Backfill::All);
    let store = sled_store().await;
    let (ingest, clock) = deleting_ingest(store.store.clone(), "etsy");
    poll(&src, &ingest).await;

    // Listing 2 sells out; listing 3 stays active but the active list's paging misses it.
    {
        let mut s = state.lock().unwrap();
        for l in s.listings.iter_mut() {
            match l["listing_id"].as_u64() {
                Some(2) => l["state"] = json!("sold_out"),
                Some(3) => l["hidden"] = json!(true),
                _ => {}
            }
        }
    }
    clock.advance_ms(15 * MINUTE);
    poll(&src, &ingest).await;
    assert!(
        !removed(&store, "etsy", "listing:2").await,
        "within the grace"
    );

    clock.advance_ms(3 * DAY);
    poll(&src, &ingest).await;
    assert!(
        removed(&store, "etsy", "listing:2").await,
        "sold out: removed"
    );
    assert!(
        !removed(&store, "etsy", "listing:3").await,
        "the batch answers it active: kept"
    );
    assert!(!removed(&store, "etsy", "listing:1").await);
    assert!(!removed(&store, "etsy", "listing:4").await);
}

#[tokio::test]
async fn an_etsy_pass_stopped_by_max_listings_claims_nothing() {
    let state = shop(4);
    let base = etsy_server(state.clone()).await;
    let src = crate::shop_etsy::source(&base, |s| {
        s.backfill = Backfill::All;
        s.max_listings = 2;
    });
    let store = sled_store().await;
    let (ingest, clock) = deleting_ingest(store.store.clone(), "etsy");
    poll(&src, &ingest).await;
    // The newest listing (4) sells out: the capped pass never reads to the end.
    state.lock().unwrap().listings[0]["state"] = json!("sold_out");
    for _ in 0..3 {
        clock.advance_ms(2 * DAY);
        poll(&src, &ingest).await;
    }
    assert!(!removed(&store, "etsy", "listing:4").await);
}

type Catalogue = Arc<Mutex<Vec<Value>>>;

fn product(id: u64) -> Value {
    json!({
        "id": id, "title": format!("Linen shirt {id}"), "handle": format!("linen-shirt-{id}"),
        "published_at": "2024-03-01T00:00:00Z", "variants": [{"price": "49.00"}],
        "images": [{"src": format!("https://cdn.shopify.com/s/files/{id}.jpg")}]
    })
}

/// A storefront: `products.json` lists the catalogue on page 1 (less products marked hidden,
/// as a page shift would), and `/products/<handle>.json` answers any product in it, else 404.
async fn storefront(catalogue: Catalogue) -> String {
    let router = Router::new()
        .route(
            "/products.json",
            get(
                |State(c): State<Catalogue>, Query(q): Query<HashMap<String, String>>| async move {
                    let products: Vec<Value> = if q["page"] == "1" {
                        let c = c.lock().unwrap();
                        c.iter().filter(|p| p["hidden"] != true).cloned().collect()
                    } else {
                        Vec::new()
                    };
                    axum::Json(json!({ "products": products }))
                },
            ),
        )
        .route(
            "/products/{file}",
            get(
                |State(c): State<Catalogue>, Path(file): Path<String>| async move {
                    let handle = file.trim_end_matches(".json");
                    let c = c.lock().unwrap();
                    match c.iter().find(|p| p["handle"] == handle) {
                        Some(p) => axum::Json(json!({ "product": p })).into_response(),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                },
            ),
        )
        .with_state(catalogue);
    format!("http://{}", serve(router).await)
}

fn shopify(store: &str) -> ShopSource {
    let settings = ShopifySettings {
        store: store.to_string(),
        allow_private: true,
        backfill: Backfill::All,
        ..ShopifySettings::default()
    };
    ShopSource::Shopify(Box::new(
        ShopifySource::new(SourceId::new("shop"), settings, Fetcher::new()).expect("valid"),
    ))
}

#[tokio::test]
async fn a_shopify_product_gone_from_the_storefront_is_removed_after_the_grace_and_one_still_there_is_kept()
 {
    let catalogue: Catalogue = Arc::new(Mutex::new((1..=4).map(product).collect()));
    let src = shopify(&storefront(catalogue.clone()).await);
    let store = sled_store().await;
    let (ingest, clock) = deleting_ingest(store.store.clone(), "shop");
    poll(&src, &ingest).await;

    // Product 2 is deleted; product 3 is still for sale but the listing misses it.
    {
        let mut c = catalogue.lock().unwrap();
        c.retain(|p| p["id"] != 2);
        for p in c.iter_mut().filter(|p| p["id"] == 3) {
            p["hidden"] = json!(true);
        }
    }
    clock.advance_ms(15 * MINUTE);
    poll(&src, &ingest).await;
    assert!(
        !removed(&store, "shop", "product:2").await,
        "within the grace"
    );

    clock.advance_ms(3 * DAY);
    poll(&src, &ingest).await;
    assert!(
        removed(&store, "shop", "product:2").await,
        "its page is 404: removed"
    );
    assert!(
        !removed(&store, "shop", "product:3").await,
        "its page answers: kept"
    );
    assert!(!removed(&store, "shop", "product:1").await);
}

#[test]
fn a_shop_removal_grace_shorter_than_the_interval_is_refused() {
    let settings = ShopifySettings {
        store: "https://shop.example.com".into(),
        removal_grace: Duration::from_secs(60),
        ..ShopifySettings::default()
    };
    let mut problems = Vec::new();
    settings.validate("sources[0]", &mut problems);
    assert!(
        problems.iter().any(|p| p.path.ends_with("removal_grace")),
        "{problems:?}"
    );
}

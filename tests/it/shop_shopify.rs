//! Shopify storefront sources against a loopback stand-in serving `products.json` pages (the
//! storefront shape: id, title, handle, body_html, published_at, vendor, product_type, tags as a
//! list, variants[].price as a string, images[].src) and a collection's Atom feed, through the
//! real sled store and the Ingest handle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::feed::{ingest, serve, sled_store};
use pinbridge::item::SourceId;
use pinbridge::sources::feed::{Backfill, Fetcher, PollReport};
use pinbridge::sources::shop::{ShopSource, ShopifySettings, ShopifySource, poll_cycle};

type Pages = Arc<Mutex<(Vec<Vec<Value>>, Vec<String>)>>;

fn product(id: u64, published: Option<&str>) -> Value {
    json!({
        "id": id, "title": format!("Linen shirt {id}"), "handle": format!("linen-shirt-{id}"),
        "body_html": "<p>Soft <b>linen</b>.</p>", "published_at": published,
        "created_at": "2024-01-01T10:00:00-05:00", "updated_at": "2024-02-01T10:00:00-05:00",
        "vendor": "Atelier", "product_type": "Shirts", "tags": ["linen", "summer"],
        "variants": [
            {"id": id * 10, "title": "S", "price": "49.00", "available": true},
            {"id": id * 10 + 1, "title": "M", "price": "52.00", "available": false}
        ],
        "images": [
            {"id": id * 100, "position": 1, "src": format!("https://cdn.shopify.com/s/files/{id}-front.jpg"), "width": 1200, "height": 1800},
            {"id": id * 100 + 1, "position": 2, "src": format!("https://cdn.shopify.com/s/files/{id}-back.jpg")}
        ],
        "options": [{"name": "Size", "position": 1, "values": ["S", "M"]}]
    })
}

/// Serves `pages[page-1]` for `/products.json?page=N` (an empty list past the end), and a
/// collection's Atom feed.
async fn store_server(pages: Vec<Vec<Value>>, endless: bool) -> (String, Pages) {
    let state: Pages = Arc::new(Mutex::new((pages, Vec::new())));
    let router = Router::new()
        .route(
            "/products.json",
            get(
                move |State(s): State<Pages>, Query(q): Query<HashMap<String, String>>| async move {
                    let mut s = s.lock().unwrap();
                    let page: usize = q["page"].parse().unwrap();
                    s.1.push(format!("page={page}&limit={}", q["limit"]));
                    let products = if endless {
                        vec![product(page as u64, Some("2024-03-01T00:00:00Z"))]
                    } else {
                        s.0.get(page - 1).cloned().unwrap_or_default()
                    };
                    axum::Json(json!({ "products": products }))
                },
            ),
        )
        .route(
            "/collections/summer.atom",
            get(|| async { ([("content-type", "application/atom+xml")], ATOM).into_response() }),
        )
        .with_state(state.clone());
    (format!("http://{}", serve(router).await), state)
}

const ATOM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://jadedpixel.com/-/spec/shopify">
  <id>https://shop.example.com/collections/summer.atom</id>
  <link rel="alternate" type="text/html" href="https://shop.example.com/collections/summer"/>
  <title>Atelier - Summer</title>
  <updated>2024-03-02T10:00:00-05:00</updated>
  <author><name>Atelier</name></author>
  <entry>
    <id>https://shop.example.com/products/7001</id>
    <published>2024-03-01T10:00:00-05:00</published>
    <updated>2024-03-02T10:00:00-05:00</updated>
    <link rel="alternate" type="text/html" href="https://shop.example.com/products/linen-shirt"/>
    <title>Linen shirt</title>
    <s:type>Shirts</s:type>
    <s:vendor>Atelier</s:vendor>
    <summary type="html"><![CDATA[<table><tr><td><img src="https://cdn.shopify.com/s/files/linen.jpg" alt="Linen shirt"></td><td><p>Soft linen.</p></td></tr></table>]]></summary>
    <s:variant>
      <id>https://shop.example.com/variants/70010</id>
      <title>S</title>
      <s:price currency="EUR">49.00</s:price>
    </s:variant>
  </entry>
</feed>"#;

fn source(store: &str, tweak: impl FnOnce(&mut ShopifySettings)) -> ShopSource {
    let mut settings = ShopifySettings {
        store: store.to_string(),
        allow_private: true,
        backfill: Backfill::All,
        ..ShopifySettings::default()
    };
    tweak(&mut settings);
    ShopSource::Shopify(Box::new(
        ShopifySource::new(SourceId::new("shop"), settings, Fetcher::new()).expect("valid"),
    ))
}

#[tokio::test]
async fn products_are_read_across_pages_and_unpublished_ones_skipped() {
    let (base, state) = store_server(
        vec![
            vec![
                product(3, Some("2024-03-03T09:00:00+01:00")),
                product(2, None),
                product(1, Some("2024-03-01T09:00:00+01:00")),
            ],
            vec![product(4, Some("2024-03-02T09:00:00+01:00"))],
        ],
        false,
    )
    .await;
    let src = source(&base, |_| {});
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "shop");
    let token = CancellationToken::new();

    let report = poll_cycle(&src, &ingest, &token).await.unwrap();
    assert_eq!(
        report,
        PollReport::Polled {
            items: 3,
            new: 3,
            changed: 0,
            pinned: 3,
            not_modified: false
        }
    );
    assert_eq!(
        state.lock().unwrap().1,
        ["page=1&limit=250", "page=2&limit=250", "page=3&limit=250"],
        "pages until an empty one"
    );
    let recorded = store.recorded("shop").await;
    let keys: Vec<&str> = recorded.iter().map(|r| r.item.key.as_str()).collect();
    assert_eq!(
        keys,
        ["product:1", "product:4", "product:3"],
        "published products, oldest first"
    );
    let item = &recorded[0].item;
    assert_eq!(item.title, "Linen shirt 1");
    assert_eq!(
        item.link.as_deref(),
        Some(format!("{base}/products/linen-shirt-1").as_str())
    );
    assert_eq!(
        item.image_url.as_deref(),
        Some("https://cdn.shopify.com/s/files/1-front.jpg")
    );
    assert_eq!(item.fields["price"], "49.00", "the first variant's price");
    assert_eq!(item.fields["vendor"], "Atelier");
    assert_eq!(item.categories, ["linen", "summer"]);
    assert_eq!(item.published_ms, Some(1_709_280_000_000));

    // Polled again: the same products are duplicates, nothing pins twice.
    let report = poll_cycle(&src, &ingest, &token).await.unwrap();
    assert!(
        matches!(
            report,
            PollReport::Polled {
                new: 0,
                pinned: 0,
                changed: 0,
                ..
            }
        ),
        "{report:?}"
    );
    let jobs: usize = store.recorded("shop").await.iter().map(|r| r.jobs).sum();
    assert_eq!(jobs, 3);
}

#[tokio::test]
async fn paging_stops_at_shopifys_25000_product_ceiling() {
    let (base, state) = store_server(Vec::new(), true).await;
    let src = source(&base, |s| s.backfill = Backfill::None);
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "shop");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(report, PollReport::Polled { items: 100, .. }),
        "{report:?}"
    );
    let calls = state.lock().unwrap().1.clone();
    assert_eq!(calls.len(), 100, "page × limit never passes 25,000");
    assert_eq!(calls.last().map(String::as_str), Some("page=100&limit=250"));
}

#[tokio::test]
async fn a_collection_is_read_from_its_atom_feed_keyed_by_product_id() {
    let (base, state) = store_server(Vec::new(), false).await;
    let src = source(&base, |s| s.collection = Some("summer".into()));
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "shop");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(
            report,
            PollReport::Polled {
                items: 1,
                pinned: 1,
                ..
            }
        ),
        "{report:?}"
    );
    assert!(
        state.lock().unwrap().1.is_empty(),
        "products.json is not read"
    );
    let recorded = store.recorded("shop").await;
    let item = &recorded[0].item;
    assert_eq!(item.key.as_str(), "product:7001");
    assert_eq!(item.title, "Linen shirt");
    assert_eq!(
        item.link.as_deref(),
        Some("https://shop.example.com/products/linen-shirt")
    );
    assert_eq!(
        item.image_url.as_deref(),
        Some("https://cdn.shopify.com/s/files/linen.jpg")
    );
}

#[tokio::test]
async fn a_store_that_refuses_is_recorded_as_a_readable_error() {
    let router = Router::new().route(
        "/products.json",
        get(|| async { (axum::http::StatusCode::NOT_FOUND, "Not Found") }),
    );
    let base = format!("http://{}", serve(router).await);
    let src = source(&base, |_| {});
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "shop");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    let PollReport::Failed {
        error,
        error_count: 1,
    } = report
    else {
        panic!("{report:?}")
    };
    assert_eq!(
        error,
        "Shopify products page 1: the server answered HTTP 404 (Not Found)"
    );
    assert!(!store.state("shop").await.baselined);
}

#[tokio::test]
async fn loopback_stores_are_refused_without_allow_private() {
    let (base, state) =
        store_server(vec![vec![product(1, Some("2024-03-01T00:00:00Z"))]], false).await;
    let src = source(&base, |s| s.allow_private = false);
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "shop");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    let PollReport::Failed { error, .. } = report else {
        panic!("{report:?}")
    };
    assert!(error.contains("refused to fetch"), "{error}");
    assert!(state.lock().unwrap().1.is_empty(), "the request never left");
}

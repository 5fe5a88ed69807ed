//! Etsy sources against a loopback stand-in of Open API v3 (shapes from Etsy's reference:
//! `{count, results}` pages, listings with `price {amount, divisor, currency_code}`, `tags`,
//! `url`, and `images` with `url_fullxfull`, `rank`, `alt_text` under `includes=Images`),
//! through the real sled store and the Ingest handle.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::feed::{ingest, serve, sled_store};
use pinbridge::item::SourceId;
use pinbridge::sources::feed::{Backfill, Fetcher, PollReport};
use pinbridge::sources::shop::{EtsyBudgets, EtsySettings, EtsySource, ShopSource, poll_cycle};

pub(crate) const KEY: &str = "keystring:sharedsecret";
pub(crate) const SHOP: u64 = 5551;

#[derive(Default)]
pub(crate) struct Etsy {
    /// Active listings, newest first (Etsy's order).
    pub(crate) listings: Vec<Value>,
    /// Every request: path and query.
    pub(crate) calls: Vec<String>,
    /// Answer the next N requests with 429 + `retry-after: 1`.
    pub(crate) throttle: usize,
    /// When each request arrived.
    pub(crate) times: Vec<Instant>,
}

pub(crate) type Shared = Arc<Mutex<Etsy>>;

pub(crate) fn listing(id: u64, created: i64) -> Value {
    json!({
        "listing_id": id, "user_id": 9, "shop_id": SHOP,
        "title": format!("Mug {id}"), "description": "Hand thrown.",
        "state": "active", "quantity": 3,
        "creation_timestamp": created, "created_timestamp": created,
        "original_creation_timestamp": created,
        "last_modified_timestamp": created, "updated_timestamp": created,
        "state_timestamp": created, "ending_timestamp": created + 10_000_000,
        "url": format!("https://www.etsy.com/listing/{id}/mug-{id}"),
        "tags": ["mug", "ceramic"],
        "price": {"amount": 1250 + id as i64, "divisor": 100, "currency_code": "USD"},
    })
}

pub(crate) fn with_images(mut l: Value) -> Value {
    let id = l["listing_id"].as_u64().unwrap();
    l["images"] = json!([
        {"listing_id": id, "listing_image_id": 2, "rank": 2,
         "url_75x75": "x", "url_fullxfull": format!("https://i.etsystatic.com/{id}/b.jpg"), "alt_text": null},
        {"listing_id": id, "listing_image_id": 1, "rank": 1,
         "url_75x75": "x", "url_fullxfull": format!("https://i.etsystatic.com/{id}/a.jpg"), "alt_text": format!("Mug {id} photo")},
    ]);
    l
}

/// Bookkeeping and checks every Etsy endpoint shares: the key, throttling, the call log.
/// `Some` is the refusal to answer with.
pub(crate) fn enter(s: &Shared, headers: &HeaderMap, call: String) -> Option<Response> {
    let mut s = s.lock().unwrap();
    s.calls.push(call);
    s.times.push(Instant::now());
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return Some(
            (
                StatusCode::FORBIDDEN,
                axum::Json(json!({"error": "Shared secret is required in x-api-key header."})),
            )
                .into_response(),
        );
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        return Some((StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response());
    }
    None
}

pub(crate) fn page(results: Vec<Value>, count: usize) -> Response {
    (
        [("x-remaining-today", "9000")],
        axum::Json(json!({"count": count, "results": results})),
    )
        .into_response()
}

pub(crate) fn query_usize(q: &std::collections::HashMap<String, String>, k: &str) -> usize {
    q.get(k).and_then(|v| v.parse().ok()).unwrap_or(0)
}

pub(crate) async fn etsy_server(state: Shared) -> String {
    type Q = Query<std::collections::HashMap<String, String>>;
    let router = Router::new()
        .route(
            "/v3/application/shops",
            get(|State(s): State<Shared>, h: HeaderMap, Query(q): Q| async move {
                if let Some(r) = enter(&s, &h, format!("shops?shop_name={}", q["shop_name"])) {
                    return r;
                }
                let results = if q["shop_name"] == "MugHouse" {
                    vec![json!({"shop_id": SHOP, "shop_name": "MugHouse"})]
                } else {
                    vec![]
                };
                let n = results.len();
                page(results, n)
            }),
        )
        .route(
            "/v3/application/shops/{shop}/listings/active",
            get(|State(s): State<Shared>, h: HeaderMap, Path(shop): Path<u64>, Query(q): Q| async move {
                let (limit, offset) = (query_usize(&q, "limit"), query_usize(&q, "offset"));
                if let Some(r) = enter(&s, &h, format!("active?offset={offset}&limit={limit}")) {
                    return r;
                }
                assert_eq!(shop, SHOP);
                let s = s.lock().unwrap();
                // Only active listings, less any the test hides (a listing the paging missed).
                let active: Vec<Value> = s
                    .listings
                    .iter()
                    .filter(|l| l["state"] == "active" && l["hidden"] != true)
                    .cloned()
                    .collect();
                let results = active.iter().skip(offset).take(limit.min(100)).cloned().collect();
                page(results, active.len())
            }),
        )
        .route(
            "/v3/application/listings/batch",
            get(|State(s): State<Shared>, h: HeaderMap, Query(q): Q| async move {
                let ids: Vec<u64> = q["listing_ids"].split(',').map(|i| i.parse().unwrap()).collect();
                if let Some(r) = enter(&s, &h, format!("batch n={} includes={}", ids.len(), q["includes"])) {
                    return r;
                }
                assert!(ids.len() <= 100, "Etsy allows 100 ids a call");
                let s = s.lock().unwrap();
                let results: Vec<Value> = s
                    .listings
                    .iter()
                    .filter(|l| ids.contains(&l["listing_id"].as_u64().unwrap()))
                    .cloned()
                    .map(with_images)
                    .collect();
                let n = results.len();
                page(results, n)
            }),
        )
        .route(
            "/v3/application/listings/{id}",
            get(|State(s): State<Shared>, h: HeaderMap, Path(id): Path<u64>, Query(q): Q| async move {
                if let Some(r) = enter(&s, &h, format!("listing {id} includes={}", q["includes"])) {
                    return r;
                }
                let s = s.lock().unwrap();
                match s.listings.iter().find(|l| l["listing_id"] == id) {
                    Some(l) => axum::Json(with_images(l.clone())).into_response(),
                    None => (
                        StatusCode::NOT_FOUND,
                        axum::Json(json!({"error": format!("Listing {id} not found.")})),
                    )
                        .into_response(),
                }
            }),
        )
        .with_state(state);
    format!("http://{}", serve(router).await)
}

pub(crate) fn settings(base: &str, tweak: impl FnOnce(&mut EtsySettings)) -> EtsySettings {
    let mut s = EtsySettings {
        api_base: base.to_string(),
        api_key: Some("keystring".to_string().into()),
        shared_secret: Some("sharedsecret".to_string().into()),
        shop_id: Some(SHOP),
        allow_private: true,
        ..EtsySettings::default()
    };
    tweak(&mut s);
    s
}

pub(crate) fn source(base: &str, tweak: impl FnOnce(&mut EtsySettings)) -> ShopSource {
    ShopSource::Etsy(Box::new(
        EtsySource::new(
            SourceId::new("etsy"),
            settings(base, tweak),
            Fetcher::new(),
            &EtsyBudgets::default(),
        )
        .expect("valid"),
    ))
}

/// A shop with `n` listings, newest (highest id) first.
pub(crate) fn shop(n: u64) -> Shared {
    let listings = (1..=n)
        .rev()
        .map(|id| listing(id, 1_600_000_000 + id as i64 * 60))
        .collect();
    Arc::new(Mutex::new(Etsy {
        listings,
        ..Etsy::default()
    }))
}

pub(crate) fn calls(s: &Shared) -> Vec<String> {
    s.lock().unwrap().calls.clone()
}

#[tokio::test]
async fn pages_of_100_and_one_batch_call_per_100_new_listings() {
    let state = shop(250);
    let base = etsy_server(state.clone()).await;
    let src = source(&base, |s| s.backfill = Backfill::All);
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let token = CancellationToken::new();

    let report = poll_cycle(&src, &ingest, &token).await.unwrap();
    assert_eq!(
        report,
        PollReport::Polled {
            items: 250,
            new: 250,
            changed: 0,
            pinned: 250,
            not_modified: false
        }
    );
    assert_eq!(
        calls(&state),
        [
            "active?offset=0&limit=100",
            "active?offset=100&limit=100",
            "active?offset=200&limit=100",
            "batch n=100 includes=Images",
            "batch n=100 includes=Images",
            "batch n=50 includes=Images",
        ],
        "6 calls for 250 listings, not one per listing"
    );
    let recorded = store.recorded("etsy").await;
    assert_eq!(recorded.len(), 250);
    // Oldest first: listing 1 was created first.
    let first = &recorded[0];
    assert_eq!(first.item.key.as_str(), "listing:1");
    assert_eq!(first.jobs, 1);
    assert_eq!(first.item.title, "Mug 1");
    assert_eq!(
        first.item.link.as_deref(),
        Some("https://www.etsy.com/listing/1/mug-1")
    );
    assert_eq!(
        first.item.image_url.as_deref(),
        Some("https://i.etsystatic.com/1/a.jpg")
    );
    assert_eq!(first.item.image_alt.as_deref(), Some("Mug 1 photo"));
    assert_eq!(first.item.fields["price"], "12.51");
    assert_eq!(first.item.fields["currency"], "USD");
    assert_eq!(first.item.categories, ["mug", "ceramic"]);

    // A new listing: the pages again, and one batch call for the one new id.
    state
        .lock()
        .unwrap()
        .listings
        .insert(0, listing(900, 1_700_000_000));
    let before = calls(&state).len();
    let report = poll_cycle(&src, &ingest, &token).await.unwrap();
    assert!(
        matches!(
            report,
            PollReport::Polled {
                items: 251,
                new: 1,
                pinned: 1,
                ..
            }
        ),
        "{report:?}"
    );
    assert_eq!(
        calls(&state)[before..],
        [
            "active?offset=0&limit=100",
            "active?offset=100&limit=100",
            "active?offset=200&limit=100",
            "batch n=1 includes=Images",
        ]
    );
    assert_eq!(store.state("etsy").await.error_count, 0);
}

#[tokio::test]
async fn a_renewed_listing_does_not_pin_again() {
    let state = shop(3);
    let base = etsy_server(state.clone()).await;
    let src = source(&base, |s| s.backfill = Backfill::All);
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let token = CancellationToken::new();
    poll_cycle(&src, &ingest, &token).await.unwrap();

    // Listing 2 sells and renews: same listing_id, new timestamps, back at the top.
    {
        let mut s = state.lock().unwrap();
        s.listings.retain(|l| l["listing_id"] != 2);
        s.listings.insert(0, listing(2, 1_800_000_000));
    }
    let before = calls(&state).len();
    let report = poll_cycle(&src, &ingest, &token).await.unwrap();
    assert_eq!(
        report,
        PollReport::Polled {
            items: 3,
            new: 0,
            changed: 0,
            pinned: 0,
            not_modified: false
        }
    );
    assert_eq!(
        calls(&state)[before..],
        ["active?offset=0&limit=100"],
        "no batch call for known listings"
    );
    let jobs: usize = store.recorded("etsy").await.iter().map(|r| r.jobs).sum();
    assert_eq!(jobs, 3, "one job per listing, none for the renewal");
}

#[tokio::test]
async fn first_contact_records_the_shop_as_baseline_by_default() {
    let state = shop(3);
    let base = etsy_server(state.clone()).await;
    let src = source(&base, |_| {});
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(
            report,
            PollReport::Polled {
                new: 3,
                pinned: 0,
                ..
            }
        ),
        "{report:?}"
    );
    assert!(
        store
            .recorded("etsy")
            .await
            .iter()
            .all(|r| r.jobs == 0 && r.skip_reason.is_some())
    );
}

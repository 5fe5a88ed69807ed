//! Etsy sources at their limits: 429s waited out or ending the poll, the daily budget shared
//! by sources on one key, the shop name resolved once, bad keys explained, and the API key kept
//! from other origins on redirect.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use pinbridge::item::SourceId;
use pinbridge::sources::feed::{Backfill, Fetcher, PollReport};
use pinbridge::sources::shop::{EtsyBudgets, EtsySource, ShopSource, poll_cycle};
use tokio_util::sync::CancellationToken;

use super::shop_etsy::*;
use crate::support::feed::{ingest, serve, sled_store};

#[tokio::test]
async fn a_429_is_waited_out_as_retry_after_says() {
    let state = shop(2);
    state.lock().unwrap().throttle = 1;
    let base = etsy_server(state.clone()).await;
    let src = source(&base, |s| s.backfill = Backfill::All);
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(report, PollReport::Polled { pinned: 2, .. }),
        "{report:?}"
    );
    let s = state.lock().unwrap();
    assert_eq!(
        s.calls,
        [
            "active?offset=0&limit=100",
            "active?offset=0&limit=100",
            "batch n=2 includes=Images"
        ]
    );
    assert!(
        s.times[1] - s.times[0] >= Duration::from_secs(1),
        "the retry came before Retry-After"
    );
}

#[tokio::test]
async fn a_429_asking_for_long_ends_the_poll_with_its_retry_time() {
    let state = shop(2);
    state.lock().unwrap().throttle = 10;
    let base = etsy_server(state.clone()).await;
    let src = source(&base, |_| {});
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    // Three short 429s are waited out; the fourth ends the poll.
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    let PollReport::Failed { error, .. } = report else {
        panic!("{report:?}")
    };
    assert!(error.contains("HTTP 429"), "{error}");
    assert_eq!(calls(&state).len(), 4);
    assert!(store.recorded("etsy").await.is_empty());
    assert!(!store.state("etsy").await.baselined);
}

#[tokio::test]
async fn the_daily_budget_is_respected_and_shared_by_sources_on_one_key() {
    let state = shop(250);
    let base = etsy_server(state.clone()).await;
    let budgets = EtsyBudgets::default();
    let make = |id: &str| {
        ShopSource::Etsy(Box::new(
            EtsySource::new(
                SourceId::new(id),
                settings(&base, |s| s.requests_per_day = 5),
                Fetcher::new(),
                &budgets,
            )
            .unwrap(),
        ))
    };
    let (a, b) = (make("etsy"), make("etsy2"));
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let token = CancellationToken::new();
    // 3 pages + 3 batches needed, 5 allowed: the poll fails without writing anything.
    let report = poll_cycle(&a, &ingest, &token).await.unwrap();
    let PollReport::Failed { error, .. } = report else {
        panic!("{report:?}")
    };
    assert!(
        error.contains("budget") && error.contains("requests_per_day"),
        "{error}"
    );
    assert_eq!(calls(&state).len(), 5, "no request beyond the budget");
    assert!(store.recorded("etsy").await.is_empty());
    // The other source on the same key finds the budget spent: no request at all.
    let report = poll_cycle(&b, &ingest, &token).await.unwrap();
    assert!(matches!(report, PollReport::Failed { .. }), "{report:?}");
    assert_eq!(calls(&state).len(), 5);
    // The failure is pushed back by the budget's own retry time (close to a day).
    let state = store.state("etsy2").await;
    assert!(state.next_poll.unwrap() - crate::support::feed::START_MS > 20 * 3_600_000);
}

#[tokio::test]
async fn shop_name_is_resolved_once_and_bad_keys_are_explained() {
    let state = shop(1);
    let base = etsy_server(state.clone()).await;
    let src = source(&base, |s| {
        s.shop_id = None;
        s.shop_name = Some("MugHouse".into());
    });
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let token = CancellationToken::new();
    poll_cycle(&src, &ingest, &token).await.unwrap();
    poll_cycle(&src, &ingest, &token).await.unwrap();
    let shops = calls(&state)
        .iter()
        .filter(|c| c.starts_with("shops?"))
        .count();
    assert_eq!(shops, 1);

    let missing = source(&base, |s| {
        s.shop_id = None;
        s.shop_name = Some("Nope".into());
    });
    let report = poll_cycle(&missing, &ingest, &token).await.unwrap();
    assert!(
        matches!(&report, PollReport::Failed { error, .. } if error.contains("no Etsy shop is named `Nope`")),
        "{report:?}"
    );

    let no_secret = source(&base, |s| s.shared_secret = None);
    let report = poll_cycle(&no_secret, &ingest, &token).await.unwrap();
    let PollReport::Failed { error, .. } = report else {
        panic!("{report:?}")
    };
    assert!(
        error.contains("HTTP 403") && error.contains("shared_secret"),
        "{error}"
    );
    assert!(
        !error.contains("keystring"),
        "the key never appears in errors: {error}"
    );
}

#[tokio::test]
async fn the_api_key_is_not_sent_to_another_origin_on_redirect() {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let elsewhere = Router::new()
        .route(
            "/moved",
            get(
                |State(seen): State<Arc<Mutex<Vec<Option<String>>>>>, h: HeaderMap| async move {
                    let key = h
                        .get("x-api-key")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    seen.lock().unwrap().push(key);
                    page(vec![], 0)
                },
            ),
        )
        .with_state(seen.clone());
    let other = format!("http://{}/moved", serve(elsewhere).await);
    let redirecting = Router::new().route(
        "/v3/application/shops/{shop}/listings/active",
        get(move || async move { axum::response::Redirect::temporary(&other) }),
    );
    let base = format!("http://{}", serve(redirecting).await);
    let src = source(&base, |_| {});
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(report, PollReport::Polled { items: 0, .. }),
        "{report:?}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [None],
        "the key stays with its origin"
    );
}

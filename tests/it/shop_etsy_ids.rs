//! Etsy sources that name their listings (`listing_ids`) instead of a shop, and the retired
//! favorites refused with what to use instead, against the Open API v3 stand-in.

use tokio_util::sync::CancellationToken;

use super::shop_etsy::*;
use crate::support::feed::{ingest, sled_store};
use pinbridge::item::SourceId;
use pinbridge::sources::feed::{Backfill, Fetcher, PollReport};
use pinbridge::sources::shop::{EtsyBudgets, EtsySource, poll_cycle};

#[tokio::test]
async fn listing_ids_are_read_one_by_one_and_pinned_once() {
    let state = shop(5);
    let base = etsy_server(state.clone()).await;
    let src = source(&base, |s| {
        s.shop_id = None;
        s.listing_ids = Some(vec![4, 2, 4]);
        s.backfill = Backfill::All;
    });
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(report, PollReport::Polled { pinned: 2, .. }),
        "{report:?}"
    );
    assert_eq!(
        calls(&state),
        ["listing 4 includes=Images", "listing 2 includes=Images"],
        "no shop page is read and a repeated id is asked for once"
    );
    let recorded = store.recorded("etsy").await;
    let mut keys: Vec<_> = recorded.iter().map(|r| r.item.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["listing:2", "listing:4"]);

    // The next poll knows both listings: no call, no second Pin.
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(report, PollReport::Polled { pinned: 0, .. }),
        "{report:?}"
    );
    assert_eq!(calls(&state).len(), 2, "{:?}", calls(&state));
    assert_eq!(store.recorded("etsy").await.len(), 2);
}

#[tokio::test]
async fn a_listing_id_etsy_does_not_have_is_skipped_and_the_others_pin() {
    let state = shop(3);
    let base = etsy_server(state.clone()).await;
    let src = source(&base, |s| {
        s.shop_id = None;
        s.listing_ids = Some(vec![1, 999, 3]);
        s.backfill = Backfill::All;
    });
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "etsy");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(report, PollReport::Polled { pinned: 2, .. }),
        "{report:?}"
    );
    assert!(calls(&state).contains(&"listing 999 includes=Images".to_string()));
    let recorded = store.recorded("etsy").await;
    assert_eq!(recorded.len(), 2);
    assert!(
        recorded
            .iter()
            .all(|r| r.item.key.as_str() != "listing:999")
    );
}

#[tokio::test]
async fn favorites_are_refused_with_what_to_use_instead() {
    let state = shop(3);
    let base = etsy_server(state.clone()).await;
    let refused = EtsySource::new(
        SourceId::new("etsy"),
        settings(&base, |s| {
            s.shop_id = None;
            s.favorites_of = Some("42".into());
            s.access_token = Some("42.tok".to_string().into());
        }),
        Fetcher::new(),
        &EtsyBudgets::default(),
    );
    let Err(message) = refused else {
        panic!("a favorites source must not be set up")
    };
    assert!(
        message.contains("retired the favorites endpoint")
            && message.contains("shop_id")
            && message.contains("listing_ids"),
        "{message}"
    );
    assert!(
        calls(&state).is_empty(),
        "the retired endpoint is never asked"
    );
}

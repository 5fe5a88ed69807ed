//! When the feed poller runs: the task polls at once and stops on shutdown, a feed failing again
//! and again is parked and unparked by success, and server hints set the pace.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use pinbridge::sources::feed::{PollReport, poll_cycle, run};
use tokio_util::sync::CancellationToken;

use super::feed_poller::*;
use crate::support::feed::{START_MS, fixture, ingest, serve, sled_store, source};

#[tokio::test]
async fn run_polls_at_once_and_stops_on_shutdown() {
    let (url, _) = switchable("atom.xml").await;
    let src = source("knit", &url, |_| {});
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "knit");
    let token = CancellationToken::new();
    let task = tokio::spawn(run(src, ingest, token.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !store.state("knit").await.baselined {
        assert!(
            tokio::time::Instant::now() < deadline,
            "first poll never happened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.recorded("knit").await.len(), 2);
    token.cancel();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("run returns after shutdown")
        .expect("no panic");
}

#[tokio::test]
async fn a_feed_failing_again_and_again_is_parked_and_unparked_by_success() {
    let (url, body) = switchable("malformed.xml").await;
    let src = source("blog", &url, |s| s.park_after = 3);
    let store = sled_store().await;
    let (ingest, clock) = ingest(store.store.clone(), "blog");
    let token = CancellationToken::new();
    for _ in 0..2 {
        poll_cycle(&src, &ingest, &token).await.expect("saved");
        assert_eq!(store.state("blog").await.parked, None);
    }
    poll_cycle(&src, &ingest, &token).await.expect("saved");
    let state = store.state("blog").await;
    let parked = state.parked.expect("parked after 3 failures");
    assert!(
        parked.starts_with("3 consecutive failures; retried every 1day"),
        "{parked}"
    );
    assert!(parked.contains("malformed XML"), "{parked}");
    let wait = state.next_poll.unwrap() - START_MS;
    let hour = 3_600_000;
    assert!((21 * hour..=27 * hour).contains(&wait), "{wait}");

    *body.lock().unwrap() = fixture("rss2.xml");
    clock.advance_ms(wait);
    poll_cycle(&src, &ingest, &token).await.expect("saved");
    let state = store.state("blog").await;
    assert_eq!((state.parked, state.error_count), (None, 0));
}

#[tokio::test]
async fn server_hints_set_the_pace() {
    use axum::http::{StatusCode, header};
    let router = Router::new()
        .route(
            "/cached",
            get(|| async {
                (
                    [(header::CACHE_CONTROL, "max-age=7200")],
                    fixture("atom.xml"),
                )
            }),
        )
        .route(
            "/busy",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "10800")],
                )
            }),
        );
    let addr = serve(router).await;
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "a");
    let token = CancellationToken::new();
    let hour = 3_600_000;

    let cached = source("a", &format!("http://{addr}/cached"), |_| {});
    poll_cycle(&cached, &ingest, &token).await.expect("saved");
    let wait = store.state("a").await.next_poll.unwrap() - START_MS;
    assert!(
        (hour * 18 / 10..=hour * 22 / 10).contains(&wait),
        "max-age 2h ± 10 %: {wait}"
    );

    let busy = source("b", &format!("http://{addr}/busy"), |_| {});
    let report = poll_cycle(&busy, &ingest, &token).await.expect("saved");
    assert!(
        matches!(&report, PollReport::Failed { error, .. } if error.contains("429")),
        "{report:?}"
    );
    let wait = store.state("b").await.next_poll.unwrap() - START_MS;
    assert!(
        (hour * 27 / 10..=hour * 33 / 10).contains(&wait),
        "Retry-After 3h ± 10 %: {wait}"
    );
}

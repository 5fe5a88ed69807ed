//! The poller: backfill on first contact, checkpoint only after ingest, errors and backoff,
//! the task loop with shutdown, and the dry run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::support::feed::{MemStore, START_MS, fixture, ingest, serve, sled_store, source};
use pinbridge::sources::feed::poller::BASELINE_REASON;
use pinbridge::sources::feed::{Backfill, PollReport, poll_cycle, poll_now};

/// A server whose body the test can swap between polls.
pub(crate) async fn switchable(initial: &str) -> (String, Arc<Mutex<Vec<u8>>>) {
    let body = Arc::new(Mutex::new(fixture(initial)));
    let router = Router::new()
        .route(
            "/feed",
            get(|State(b): State<Arc<Mutex<Vec<u8>>>>| async move { b.lock().unwrap().clone() }),
        )
        .with_state(body.clone());
    let addr = serve(router).await;
    (format!("http://{addr}/feed"), body)
}

pub(crate) async fn first_poll(backfill: Backfill) -> Vec<(String, Option<String>, usize)> {
    let (url, _) = switchable("rss2.xml").await;
    let src = source("blog", &url, |s| s.backfill = backfill);
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "blog");
    poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .expect("saved");
    assert!(store.state("blog").await.baselined);
    store
        .recorded("blog")
        .await
        .into_iter()
        .map(|r| (r.item.title, r.skip_reason, r.jobs))
        .collect()
}

pub(crate) fn baseline() -> Option<String> {
    Some(BASELINE_REASON.to_string())
}

// `recorded` lists items with jobs in job order (the order they were submitted), then the
// baseline ones by key.

#[tokio::test]
async fn backfill_none_records_everything_as_baseline() {
    assert_eq!(
        first_poll(Backfill::None).await,
        [
            ("Compost basics".into(), baseline(), 0),
            ("Spring bulbs".into(), baseline(), 0),
            ("Seed swap".into(), baseline(), 0),
        ]
    );
}

#[tokio::test]
async fn backfill_latest_n_pins_the_newest_n_oldest_first() {
    assert_eq!(
        first_poll(Backfill::Latest(2)).await,
        [
            ("Compost basics".into(), None, 1),
            ("Spring bulbs".into(), None, 1),
            ("Seed swap".into(), baseline(), 0),
        ]
    );
}

#[tokio::test]
async fn backfill_all_pins_everything_oldest_first() {
    assert_eq!(
        first_poll(Backfill::All).await,
        [
            ("Seed swap".into(), None, 1),
            ("Compost basics".into(), None, 1),
            ("Spring bulbs".into(), None, 1),
        ]
    );
}

#[tokio::test]
async fn one_poll_is_one_durable_batch() {
    let (url, _) = switchable("rss2.xml").await;
    let src = source("blog", &url, |_| {});
    let store = Arc::new(MemStore::default());
    let (ingest, _) = ingest(store.clone(), "blog");
    let token = CancellationToken::new();
    for _ in 0..3 {
        poll_cycle(&src, &ingest, &token).await.expect("saved");
    }
    assert_eq!(
        *store.batches.lock().unwrap(),
        3,
        "one ingest_many per poll"
    );
    assert_eq!(store.recorded().len(), 3);
}

#[tokio::test]
async fn later_polls_pin_only_new_items() {
    let (url, body) = switchable("rss2.xml").await;
    let src = source("blog", &url, |_| {});
    let store = sled_store().await;
    let (ingest, clock) = ingest(store.store.clone(), "blog");
    let token = CancellationToken::new();
    poll_cycle(&src, &ingest, &token).await.expect("saved");

    clock.advance_ms(15 * 60 * 1000);
    let again = poll_cycle(&src, &ingest, &token).await.expect("saved");
    assert_eq!(
        again,
        PollReport::Polled {
            items: 3,
            new: 0,
            changed: 0,
            pinned: 0,
            not_modified: false
        }
    );

    // A new item appears at the top of the feed.
    let text = String::from_utf8(fixture("rss2.xml")).unwrap().replace(
        "<ttl>60</ttl>",
        "<ttl>60</ttl><item><title>Pruning</title><guid>urn:shed:4</guid><media:content url=\"https://cdn.shed.example/p.jpg\" type=\"image/jpeg\"/></item>",
    );
    *body.lock().unwrap() = text.into_bytes();
    let third = poll_cycle(&src, &ingest, &token).await.expect("saved");
    assert_eq!(
        third,
        PollReport::Polled {
            items: 4,
            new: 1,
            changed: 0,
            pinned: 1,
            not_modified: false
        }
    );
    let pruning = store
        .recorded("blog")
        .await
        .into_iter()
        .find(|r| r.item.title == "Pruning")
        .unwrap();
    assert_eq!((pruning.skip_reason, pruning.jobs), (None, 1));
}

#[tokio::test]
async fn a_failing_feed_records_the_error_and_backs_off() {
    let (url, body) = switchable("malformed.xml").await;
    let src = source("blog", &url, |_| {});
    let store = sled_store().await;
    let (ingest, clock) = ingest(store.store.clone(), "blog");
    let token = CancellationToken::new();
    let minute = 60_000;

    let report = poll_cycle(&src, &ingest, &token).await.expect("saved");
    assert!(
        matches!(&report, PollReport::Failed { error_count: 1, .. }),
        "{report:?}"
    );
    let state = store.state("blog").await;
    assert_eq!(state.error_count, 1);
    assert!(
        state
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("could not read the feed: malformed XML")
    );
    assert!(!state.baselined, "no checkpoint advanced on failure");
    assert!(state.etag.is_none());
    let first_wait = state.next_poll.unwrap() - START_MS;
    assert!(
        (13 * minute..=17 * minute).contains(&first_wait),
        "{first_wait}"
    );

    // The second failure waits about twice as long (15m · 2 ± 10 %).
    *body.lock().unwrap() = fixture("html_page.html");
    poll_cycle(&src, &ingest, &token).await.expect("saved");
    let state = store.state("blog").await;
    assert_eq!(state.error_count, 2);
    assert!(
        state
            .last_error
            .as_deref()
            .unwrap()
            .contains("HTML page, not a feed")
    );
    let second_wait = state.next_poll.unwrap() - START_MS;
    assert!(
        (27 * minute..=33 * minute).contains(&second_wait),
        "{second_wait}"
    );
    assert!(store.recorded("blog").await.is_empty());

    // Recovery resets the count and baselines.
    *body.lock().unwrap() = fixture("rss2.xml");
    clock.advance_ms(30 * minute);
    poll_cycle(&src, &ingest, &token).await.expect("saved");
    let state = store.state("blog").await;
    assert_eq!(
        (state.error_count, state.last_error.clone(), state.baselined),
        (0, None, true)
    );
    // ttl 60 in the feed is longer than the 15m interval, so it sets the pace (± 10 %).
    let wait = state.next_poll.unwrap() - clock_now(&clock);
    assert!((54 * minute..=66 * minute).contains(&wait), "{wait}");
}

#[tokio::test]
async fn dry_run_tells_new_from_known_and_writes_nothing() {
    let (url, body) = switchable("jsonfeed.json").await;
    let src = source("bake", &url, |s| s.backfill = Backfill::Latest(1));
    let store = sled_store().await;

    let dry = poll_now(&src, store.store.as_ref()).await.expect("dry run");
    assert!(dry.first_contact);
    let view: Vec<(&str, bool, bool)> = dry
        .items
        .iter()
        .map(|d| (d.item.key.as_str(), d.known, d.baseline))
        .collect();
    assert_eq!(
        view,
        [("guid:bake-1", false, true), ("guid:bake-2", false, false)]
    );
    assert!(store.recorded("bake").await.is_empty());
    assert_eq!(store.state("bake").await, Default::default());

    let (ingest, _) = ingest(store.store.clone(), "bake");
    poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .expect("saved");
    *body.lock().unwrap() = String::from_utf8(fixture("jsonfeed.json"))
        .unwrap()
        .replace(
            "\"items\": [",
            "\"items\": [{\"id\": \"bake-3\", \"title\": \"Rye\"},",
        )
        .into_bytes();
    let dry = poll_now(&src, store.store.as_ref()).await.expect("dry run");
    assert!(!dry.first_contact);
    let view: Vec<(&str, bool)> = dry
        .items
        .iter()
        .map(|d| (d.item.key.as_str(), d.known))
        .collect();
    assert!(view.contains(&("guid:bake-3", false)), "{view:?}");
    assert!(view.contains(&("guid:bake-1", true)), "{view:?}");
}

#[tokio::test]
async fn image_from_page_reads_og_image_once_for_new_items() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let page_hits = Arc::new(AtomicUsize::new(0));
    let feed_body = Arc::new(Mutex::new(String::new()));
    let hits = page_hits.clone();
    let served = feed_body.clone();
    let router = Router::new()
        .route("/feed", get(move || {
            let body = served.lock().unwrap().clone();
            async move { body }
        }))
        .route("/post", get(move || {
            hits.fetch_add(1, Ordering::SeqCst);
            async { axum::response::Html(r#"<html><head><meta property="og:image" content="/og/post.jpg"></head></html>"#) }
        }))
        .route("/bare", get(|| async { axum::response::Html("<html><body>no meta</body></html>") }));
    let addr = serve(router).await;
    *feed_body.lock().unwrap() = format!(
        r#"<rss version="2.0"><channel><title>t</title>
        <item><title>Post</title><link>http://{addr}/post</link></item>
        <item><title>Bare</title><link>http://{addr}/bare</link></item>
        </channel></rss>"#
    );
    let src = source("blog", &format!("http://{addr}/feed"), |s| {
        s.image_from_page = true;
        s.backfill = Backfill::All;
    });
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "blog");
    let token = CancellationToken::new();
    poll_cycle(&src, &ingest, &token).await.expect("saved");
    let recorded = store.recorded("blog").await;
    let post = recorded.iter().find(|r| r.item.title == "Post").unwrap();
    assert_eq!(
        post.item.image_url,
        Some(format!("http://{addr}/og/post.jpg"))
    );
    assert_eq!(post.jobs, 1);
    let bare = recorded.iter().find(|r| r.item.title == "Bare").unwrap();
    assert_eq!(bare.item.image_url, None);
    assert_eq!(bare.skip_reason.as_deref(), Some("no usable image"));

    // The next poll does not read the page again and sees no change.
    let again = poll_cycle(&src, &ingest, &token).await.expect("saved");
    assert_eq!(page_hits.load(Ordering::SeqCst), 1);
    assert!(
        matches!(
            again,
            PollReport::Polled {
                new: 0,
                changed: 0,
                ..
            }
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn shutdown_while_reading_linked_pages_writes_nothing() {
    let entered = Arc::new(tokio::sync::Notify::new());
    let signal = entered.clone();
    let feed = Arc::new(Mutex::new(String::new()));
    let served = feed.clone();
    let router = Router::new()
        .route(
            "/feed",
            get(move || {
                let body = served.lock().unwrap().clone();
                async move { body }
            }),
        )
        .route(
            "/slow-page",
            get(move || {
                signal.notify_one();
                async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    "never"
                }
            }),
        );
    let addr = serve(router).await;
    *feed.lock().unwrap() = format!(
        r#"<rss version="2.0"><channel><title>t</title>
        <item><title>Slow</title><link>http://{addr}/slow-page</link></item></channel></rss>"#
    );
    let src = source("blog", &format!("http://{addr}/feed"), |s| {
        s.image_from_page = true;
        s.backfill = Backfill::All;
    });
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "blog");
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        entered.notified().await;
        cancel.cancel();
    });
    let report = tokio::time::timeout(Duration::from_secs(20), poll_cycle(&src, &ingest, &token))
        .await
        .expect("returns promptly on shutdown")
        .expect("no store error");
    assert_eq!(report, PollReport::Cancelled);
    assert!(store.recorded("blog").await.is_empty());
    assert_eq!(store.state("blog").await, Default::default());
}

pub(crate) fn clock_now(clock: &pinbridge::clock::ManualClock) -> i64 {
    use pinbridge::clock::Clock;
    clock.now_ms()
}

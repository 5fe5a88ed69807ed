//! `max_new_items_per_poll`: a feed that rotates its guids on every fetch pins at most the cap
//! per poll; the rest are recorded as seen (never pinned later) and the poll says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::support::feed::{ingest, serve, sled_store, source};
use pinbridge::sources::feed::cap::{EXTRA_KEY, reason};
use pinbridge::sources::feed::settings::DEFAULT_MAX_NEW_ITEMS_PER_POLL;
use pinbridge::sources::feed::{PollReport, poll_cycle};

const ENTRIES: usize = 120;

/// An RSS feed of [`ENTRIES`] items, each with an image, whose guids carry `round`: a new set
/// of ids every time `round` changes. Item `i` is dated `i` minutes after a fixed start.
fn rotating_feed(round: usize) -> String {
    let mut doc = String::from(r#"<rss version="2.0"><channel><title>Spinner</title>"#);
    for i in (0..ENTRIES).rev() {
        doc.push_str(&format!(
            r#"<item><title>post {i}</title><guid>r{round}-{i}</guid><pubDate>Mon, 01 Apr 2024 {:02}:{:02}:00 GMT</pubDate><enclosure url="https://cdn.example/{i}.jpg" type="image/jpeg"/></item>"#,
            i / 60,
            i % 60
        ));
    }
    doc.push_str("</channel></rss>");
    doc
}

#[tokio::test]
async fn a_feed_that_rotates_guids_pins_at_most_the_cap_per_poll() {
    // Every fetch a new round of guids, unless frozen.
    let fetches = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/feed",
            get(|State(n): State<Arc<AtomicUsize>>| async move {
                rotating_feed(n.fetch_add(1, Ordering::SeqCst).min(2))
            }),
        )
        .with_state(fetches.clone());
    let addr = serve(router).await;
    let src = source("spin", &format!("http://{addr}/feed"), |_| {});
    assert_eq!(
        src.settings().max_new_items_per_poll,
        DEFAULT_MAX_NEW_ITEMS_PER_POLL
    );
    let cap = DEFAULT_MAX_NEW_ITEMS_PER_POLL;
    let store = sled_store().await;
    let (ingest, clock) = ingest(store.store.clone(), "spin");
    let token = CancellationToken::new();

    // First contact: the backfill policy (none) records everything as baseline.
    poll_cycle(&src, &ingest, &token).await.expect("saved");
    assert!(!store.state("spin").await.extra.contains_key(EXTRA_KEY));

    // Second poll: 120 new ids, the newest `cap` pinned, the rest recorded and skipped.
    clock.advance_ms(15 * 60 * 1000);
    let report = poll_cycle(&src, &ingest, &token).await.expect("saved");
    assert_eq!(
        report,
        PollReport::Polled {
            items: ENTRIES,
            new: ENTRIES,
            changed: 0,
            pinned: cap,
            not_modified: false
        }
    );
    let recorded = store.recorded("spin").await;
    let round1: Vec<_> = recorded
        .iter()
        .filter(|r| r.item.key.0.contains("r1-"))
        .collect();
    assert_eq!(round1.len(), ENTRIES, "every item is recorded");
    let pinned: Vec<&str> = round1
        .iter()
        .filter(|r| r.jobs == 1)
        .map(|r| r.item.title.as_str())
        .collect();
    let newest: Vec<String> = (ENTRIES - cap..ENTRIES)
        .map(|i| format!("post {i}"))
        .collect();
    assert_eq!(pinned, newest, "the newest are pinned, oldest first");
    for held in round1.iter().filter(|r| r.jobs == 0) {
        assert_eq!(held.skip_reason.as_deref(), Some(reason(cap).as_str()));
    }
    let note = store.state("spin").await.extra.get(EXTRA_KEY).cloned();
    assert!(
        note.as_deref()
            .is_some_and(|n| n.starts_with(&format!("{} new items over", ENTRIES - cap))),
        "{note:?}"
    );

    // Third poll: another round, again at most the cap.
    clock.advance_ms(15 * 60 * 1000);
    let report = poll_cycle(&src, &ingest, &token).await.expect("saved");
    assert!(
        matches!(report, PollReport::Polled { new: ENTRIES, pinned, .. } if pinned == cap),
        "{report:?}"
    );

    // The ids stop rotating: nothing new, nothing held back ever pinned later, note cleared.
    clock.advance_ms(15 * 60 * 1000);
    let report = poll_cycle(&src, &ingest, &token).await.expect("saved");
    assert!(
        matches!(
            report,
            PollReport::Polled {
                new: 0,
                pinned: 0,
                ..
            }
        ),
        "{report:?}"
    );
    let recorded = store.recorded("spin").await;
    assert_eq!(recorded.len(), 3 * ENTRIES);
    assert_eq!(recorded.iter().map(|r| r.jobs).sum::<usize>(), 2 * cap);
    assert!(!store.state("spin").await.extra.contains_key(EXTRA_KEY));
    assert_eq!(fetches.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn the_cap_is_a_setting_and_first_contact_follows_backfill() {
    let router = Router::new().route("/feed", get(|| async { rotating_feed(0) }));
    let addr = serve(router).await;
    let src = source("spin", &format!("http://{addr}/feed"), |s| {
        s.max_new_items_per_poll = 5;
        s.backfill = pinbridge::sources::feed::Backfill::All;
    });
    let store = sled_store().await;
    let (ingest, _) = ingest(store.store.clone(), "spin");
    let report = poll_cycle(&src, &ingest, &CancellationToken::new())
        .await
        .expect("saved");
    // `backfill = "all"` is an explicit choice for the first poll: not capped.
    assert!(
        matches!(
            report,
            PollReport::Polled {
                pinned: ENTRIES,
                ..
            }
        ),
        "{report:?}"
    );
}

//! Several pollers of one source on one store, as several replicas sharing a store run them: the
//! source lease lets one poll, and the others, reading the schedule under the lease, find it
//! not due. In-process and fast; the real-process version is `replicas_cluster`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use pinbridge::item::SourceId;
use pinbridge::sources::feed::run;
use pinbridge::sources::lease::{Leased, SourceLease};
use pinbridge::store::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::support::feed::{ingest, serve, sled_store, source};

const RSS: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>B</title>\
    <link>https://blog.example/</link><description>d</description>\
    <item><title>One</title><link>https://blog.example/1</link><guid>1</guid></item>\
    <item><title>Two</title><link>https://blog.example/2</link><guid>2</guid></item>\
    </channel></rss>";

/// A feed server that counts its fetches.
async fn counted_feed() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { ([("content-type", "application/rss+xml")], RSS) }
        }),
    );
    let addr = serve(router).await;
    (format!("http://{addr}/feed.xml"), hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pollers_of_one_feed_fetch_it_once_per_interval() {
    let (url, hits) = counted_feed().await;
    let sled = sled_store().await;
    // The clock stands still: after the first poll the feed is not due again for the whole test.
    let (ingest, _clock) = ingest(sled.store.clone(), "blog");
    let token = CancellationToken::new();
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn(run(
                source("blog", &url, |_| {}),
                ingest.clone(),
                token.clone(),
            ))
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sled.state("blog").await.last_success.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no poll happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Give the other two every chance to poll as well (they must not).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "one fetch for three pollers"
    );
    assert_eq!(sled.recorded("blog").await.len(), 2);
    token.cancel();
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("every poller stops on shutdown")
            .expect("no panic");
    }
}

#[tokio::test]
async fn a_poll_runs_only_under_the_lease_and_only_when_due() {
    let sled = sled_store().await;
    let (ingest, _clock) = ingest(sled.store.clone(), "blog");
    let blog = SourceId::new("blog");
    let shutdown = CancellationToken::new();
    let (a, b) = (SourceLease::new(), SourceLease::new());
    let ctx = ingest.context();
    let now = ingest.now_ms();
    // Another replica holds the lease: this one does not poll.
    let held = sled
        .store
        .try_lease_source(&blog, "elsewhere", now + 60_000, now)
        .await
        .unwrap()
        .unwrap();
    let busy = a
        .poll_if_due(&ctx, &blog, &shutdown, |_| async { "polled" })
        .await
        .unwrap();
    assert!(matches!(busy, Leased::Busy), "{busy:?}");
    sled.store.release_source(&blog, held).await.unwrap();
    // Free and due (never polled): it polls, and gives the lease back afterwards.
    let polled = a
        .poll_if_due(&ctx, &blog, &shutdown, |_| async { "polled" })
        .await
        .unwrap();
    assert!(matches!(polled, Leased::Polled("polled")), "{polled:?}");
    // The schedule moved on (as a poll does): the next holder finds it not due.
    let mut state = sled.state("blog").await;
    state.next_poll = Some(now + 60_000);
    sled.store.set_source_state(&blog, &state).await.unwrap();
    let not_due = b
        .poll_if_due(&ctx, &blog, &shutdown, |_| async { "polled" })
        .await
        .unwrap();
    assert!(matches!(not_due, Leased::NotDue), "{not_due:?}");
    assert!(
        sled.store
            .try_lease_source(&blog, "elsewhere", now + 60_000, now)
            .await
            .unwrap()
            .is_some(),
        "every path gives the lease back"
    );
}

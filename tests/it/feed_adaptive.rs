//! `adaptive = true`: the poll interval follows how often the feed publishes, persisted in the
//! source's state; the publisher's hints still push it later. Also: a large poll (a backfill)
//! is recorded in batches, with progress reported after each.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use pinbridge::sources::feed::poller::SUBMIT_CHUNK;
use pinbridge::sources::feed::schedule::FREQUENCY_KEY;
use pinbridge::sources::feed::{PollReport, poll_cycle, poll_cycle_with_progress};
use tokio_util::sync::CancellationToken;

use crate::support::feed::{START_MS, ingest, serve, sled_store, source};

const HOUR: i64 = 3_600_000;

/// An RSS feed whose items were published `hours_ago` before START_MS.
fn rss(hours_ago: &[i64], ttl_minutes: Option<u32>) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>\
         <link>https://example.com/</link><description>d</description>",
    );
    if let Some(ttl) = ttl_minutes {
        out.push_str(&format!("<ttl>{ttl}</ttl>"));
    }
    for (i, h) in hours_ago.iter().enumerate() {
        let at = UNIX_EPOCH + Duration::from_millis((START_MS - h * HOUR) as u64);
        out.push_str(&format!(
            "<item><title>Post {i}</title><link>https://example.com/{i}</link>\
             <guid>g{i}-{h}</guid><pubDate>{}</pubDate>\
             <enclosure url=\"https://example.com/{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>",
            httpdate::fmt_http_date(at)
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// Serve whatever `body` holds at /feed.
async fn feed_server(body: Arc<Mutex<String>>) -> String {
    let router = Router::new().route(
        "/feed",
        get(move || {
            let body = body.lock().unwrap().clone();
            async move { ([("content-type", "application/rss+xml")], body) }
        }),
    );
    format!("http://{}/feed", serve(router).await)
}

#[tokio::test]
async fn an_adaptive_feed_is_polled_as_often_as_it_publishes() {
    let hourly: Vec<i64> = (1..=10).collect();
    let body = Arc::new(Mutex::new(rss(&hourly, None)));
    let url = feed_server(body.clone()).await;
    let sled = sled_store().await;
    let (ingest, clock) = ingest(sled.store.clone(), "*");
    let stop = CancellationToken::new();
    let adaptive = source("busy", &url, |s| {
        s.adaptive = true;
        s.jitter = 0.0;
    });
    let fixed = source("fixed", &url, |s| s.jitter = 0.0);

    // First contact (baseline): ten items an hour apart → poll again in an hour.
    poll_cycle(&adaptive, &ingest, &stop).await.unwrap();
    poll_cycle(&fixed, &ingest, &stop).await.unwrap();
    let state = sled.state("busy").await;
    assert_eq!(state.next_poll, Some(START_MS + HOUR));
    assert!(state.extra.contains_key(FREQUENCY_KEY), "persisted");
    // Without `adaptive`, the configured interval (15 minutes).
    assert_eq!(
        sled.state("fixed").await.next_poll,
        Some(START_MS + 15 * 60_000)
    );

    // Two silent days later nothing new has come: the feed is read as slower (the silence
    // counts): (58 h since the oldest item) / 10 items.
    clock.advance_ms(48 * HOUR);
    let report = poll_cycle(&adaptive, &ingest, &stop).await.unwrap();
    assert!(
        matches!(report, PollReport::Polled { new: 0, .. }),
        "{report:?}"
    );
    let now = START_MS + 48 * HOUR;
    let state = sled.state("busy").await;
    assert_eq!(state.next_poll, Some(now + 58 * HOUR / 10));

    // Then a burst: twenty new items published just now (48 h after START_MS) → faster:
    // (58 h since the oldest) / 30 items.
    let mut with_burst = hourly.clone();
    with_burst.extend(std::iter::repeat_n(-48, 20));
    *body.lock().unwrap() = rss(&with_burst, None);
    let report = poll_cycle(&adaptive, &ingest, &stop).await.unwrap();
    assert!(
        matches!(report, PollReport::Polled { new: 20, .. }),
        "{report:?}"
    );
    assert_eq!(
        sled.state("busy").await.next_poll,
        Some(now + 58 * HOUR / 30)
    );

    // Hints still win when they say later: hourly items (relative to now) but <ttl> 3 hours.
    let recent: Vec<i64> = hourly.iter().map(|h| h - 48).collect();
    *body.lock().unwrap() = rss(&recent, Some(180));
    let slow = source("ttl", &url, |s| {
        s.adaptive = true;
        s.jitter = 0.0;
    });
    poll_cycle(&slow, &ingest, &stop).await.unwrap();
    assert_eq!(sled.state("ttl").await.next_poll, Some(now + 3 * HOUR));
}

#[tokio::test]
async fn a_large_poll_is_recorded_in_batches_with_progress() {
    let total = 2 * SUBMIT_CHUNK + 200;
    let ages: Vec<i64> = (1..=total as i64).collect();
    let url = feed_server(Arc::new(Mutex::new(rss(&ages, None)))).await;
    let sled = sled_store().await;
    let (ingest, _clock) = ingest(sled.store.clone(), "*");
    let feed = source("big", &url, |s| s.max_body_bytes = 64 * 1024 * 1024);
    let seen = Mutex::new(Vec::new());
    let report = poll_cycle_with_progress(&feed, &ingest, &CancellationToken::new(), &|d, t| {
        seen.lock().unwrap().push((d, t))
    })
    .await
    .unwrap();
    assert!(
        matches!(report, PollReport::Polled { items, new, .. } if items == total && new == total),
        "{report:?}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (SUBMIT_CHUNK, total),
            (2 * SUBMIT_CHUNK, total),
            (total, total)
        ]
    );
    assert_eq!(sled.recorded("big").await.len(), total);
    assert!(sled.state("big").await.baselined);
}

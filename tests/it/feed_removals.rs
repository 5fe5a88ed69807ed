//! `complete = true` feeds: an item that stays gone from full polls past `removal_grace` is
//! removed at the source (its Pins follow on `on_delete = "delete"` routes); one that comes
//! back in time is not; a 304 or a failed poll proves nothing; a feed that is not complete
//! never removes anything.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::support::feed::{START_MS, sled_store, source};
use crate::support::feed_server::FeedServer;
use pinbridge::clock::{Clock, ManualClock};
use pinbridge::ingest::{Ingest, IngestConfig, RoutePolicy};
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::settings::OnDelete;
use pinbridge::sources::feed::{FeedSettings, FeedSource, poll_cycle};
use pinbridge::sources::poll::missing::missing_since;
use pinbridge::store::sled::SledStore;
use pinbridge::store::{Items, Millis};
use pinbridge::sync::route::{RouteRule, Routes, When};

const MINUTE: i64 = 60 * 1000;
const DAY: i64 = 24 * 60 * MINUTE;

/// An RSS feed titled `title` listing the posts `ids` (guid `post-<id>`).
fn feed(title: &str, ids: &[u32]) -> String {
    let entries: String = ids
        .iter()
        .map(|i| {
            format!(
                "<item><title>Post {i}</title><link>https://shop.example/p/{i}</link><guid>post-{i}</guid>\
                 <enclosure url=\"https://shop.example/img/{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title>\
         <link>https://shop.example/</link><description>d</description>{entries}</channel></rss>"
    )
}

/// Ingest over `store` with one route from `id` whose Pins follow deletions.
pub(crate) fn deleting_ingest(store: Arc<SledStore>, id: &str) -> (Ingest, ManualClock) {
    let clock = ManualClock::new(START_MS);
    let config = IngestConfig {
        routes: Routes::new(vec![RouteRule {
            name: "r0".into(),
            source: id.into(),
            account: "main".into(),
            board: "Board".into(),
            section: None,
            when: When::default(),
        }]),
        on_change: HashMap::new(),
        policies: HashMap::from([(
            "r0".to_string(),
            RoutePolicy {
                on_change: None,
                on_delete: OnDelete::Delete,
            },
        )]),
    };
    let ingest = Ingest::new(store, Arc::new(clock.clone()), config, Default::default());
    (ingest, clock)
}

struct Case {
    server: FeedServer,
    src: FeedSource,
    store: crate::support::feed::Sled,
    ingest: Ingest,
    clock: ManualClock,
}

async fn case(complete: bool, first: &[u32]) -> Case {
    let server = FeedServer::builder(feed("v0", first)).etag().start().await;
    let src = source("shop", &server.url, |s| {
        s.complete = complete;
        s.removal_grace = Duration::from_secs(2 * 24 * 60 * 60);
    });
    let store = sled_store().await;
    let (ingest, clock) = deleting_ingest(store.store.clone(), "shop");
    Case {
        server,
        src,
        store,
        ingest,
        clock,
    }
}

impl Case {
    async fn poll(&self) {
        poll_cycle(&self.src, &self.ingest, &CancellationToken::new())
            .await
            .expect("state saved");
    }

    async fn removed(&self, id: u32) -> Option<Millis> {
        let key = DedupKey(format!("guid:post-{id}"));
        self.store
            .store
            .item(&SourceId::new("shop"), &key)
            .await
            .expect("item")
            .unwrap_or_else(|| panic!("post {id} is recorded"))
            .removed
            .map(|m| m.at)
    }

    async fn missing(&self) -> Vec<String> {
        missing_since(&self.store.state("shop").await)
            .into_keys()
            .map(|k| k.0)
            .collect()
    }
}

#[tokio::test]
async fn an_item_gone_from_a_complete_feed_past_the_grace_is_removed_and_a_304_or_failure_proves_nothing()
 {
    let c = case(true, &[1, 2, 3]).await;
    c.poll().await;
    assert_eq!(c.removed(3).await, None);

    // Post 3 disappears: noted as missing, not removed.
    c.server.set_body(feed("v1", &[1, 2]));
    c.clock.advance_ms(15 * MINUTE);
    c.poll().await;
    assert_eq!(c.missing().await, vec!["guid:post-3".to_string()]);
    assert_eq!(c.removed(3).await, None);

    // Three days on, the server answers 304: that lists nothing, so nothing is removed.
    c.clock.advance_ms(3 * DAY);
    c.poll().await;
    assert_eq!(c.server.not_modified(), 1);
    assert_eq!(c.removed(3).await, None);

    // A failing poll proves nothing either.
    c.server.set_status(503);
    c.clock.advance_ms(DAY);
    c.poll().await;
    assert_eq!(c.removed(3).await, None);
    assert_eq!(c.missing().await, vec!["guid:post-3".to_string()]);

    // The next full listing still lacks it, and the grace is long past: removed.
    c.server.set_status(200);
    c.server.set_body(feed("v2", &[1, 2]));
    c.clock.advance_ms(DAY);
    c.poll().await;
    assert_eq!(c.removed(3).await, Some(c.clock.now_ms()));
    assert_eq!(c.removed(1).await, None);
    assert_eq!(c.removed(2).await, None);
    assert!(
        c.missing().await.is_empty(),
        "reported once, then forgotten"
    );
}

#[tokio::test]
async fn an_item_that_comes_back_before_the_grace_is_kept() {
    let c = case(true, &[1, 2, 3]).await;
    c.poll().await;
    c.server.set_body(feed("v1", &[1, 2]));
    c.clock.advance_ms(15 * MINUTE);
    c.poll().await;
    assert_eq!(c.missing().await.len(), 1);

    // Back a day later: the mark is cleared.
    c.server.set_body(feed("v2", &[1, 2, 3]));
    c.clock.advance_ms(DAY);
    c.poll().await;
    assert!(c.missing().await.is_empty());

    // Gone again: the grace starts over, so a day and a half later it is still kept…
    c.server.set_body(feed("v3", &[1, 2]));
    c.clock.advance_ms(15 * MINUTE);
    c.poll().await;
    c.server.set_body(feed("v4", &[1, 2]));
    c.clock.advance_ms(DAY + DAY / 2);
    c.poll().await;
    assert_eq!(c.removed(3).await, None);

    // …and removed once it has been gone two days.
    c.server.set_body(feed("v5", &[1, 2]));
    c.clock.advance_ms(DAY);
    c.poll().await;
    assert!(c.removed(3).await.is_some());
}

#[tokio::test]
async fn a_feed_that_is_not_complete_never_removes_an_absent_item() {
    let c = case(false, &[1, 2, 3]).await;
    c.poll().await;
    for (round, days) in [(1, 1), (2, 3), (3, 10)] {
        c.server.set_body(feed(&format!("v{round}"), &[1, 2]));
        c.clock.advance_ms(days * DAY);
        c.poll().await;
    }
    assert_eq!(c.removed(3).await, None);
    assert!(c.missing().await.is_empty(), "no bookkeeping at all");
}

#[test]
fn a_removal_grace_shorter_than_the_interval_is_refused_for_a_complete_feed() {
    let mut settings = FeedSettings::for_url("https://shop.example/feed.xml");
    settings.complete = true;
    settings.removal_grace = Duration::from_secs(60);
    let mut problems = Vec::new();
    settings.validate("sources[0]", &mut problems);
    assert!(
        problems.iter().any(|p| p.path.contains("removal_grace")),
        "{problems:?}"
    );
    // The same grace on a feed that is not complete is never used, so it is not checked.
    settings.complete = false;
    let mut problems = Vec::new();
    settings.validate("sources[0]", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
}

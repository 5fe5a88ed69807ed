//! Shared helpers for the feed tests: fixtures and a loopback server (from `feed_server`), the real
//! sled store in a tempdir (with views of what it recorded), and a small in-memory `Store`
//! that counts `ingest_many` calls (to check one durable batch per poll).

use std::collections::HashMap;
use std::sync::Arc;

use pinbridge::clock::ManualClock;
use pinbridge::ingest::{Ingest, IngestConfig};
use pinbridge::item::SourceId;
use pinbridge::sources::feed::images::MinSize;
use pinbridge::sources::feed::parse::{ParsedFeed, parse_feed};
use pinbridge::sources::feed::{FeedSettings, FeedSource, Fetcher};
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::*;
use pinbridge::sync::route::{RouteRule, Routes, When};
use url::Url;

mod mem_store;
pub use mem_store::{MemStore, Recorded};

pub use super::feed_server::{fixture, serve};

/// A feed source for `url` that may fetch from loopback (the test server).
pub fn source(id: &str, url: &str, tweak: impl FnOnce(&mut FeedSettings)) -> FeedSource {
    let mut settings = FeedSettings::for_url(url);
    settings.allow_private = true;
    tweak(&mut settings);
    FeedSource::new(SourceId::new(id), settings, Fetcher::new()).expect("valid source")
}

pub const START_MS: Millis = 1_700_000_000_000;

/// An ingest handle over `store` with one route from `source_id` to a board.
pub fn ingest<S: Store>(store: Arc<S>, source_id: &str) -> (Ingest, ManualClock) {
    let clock = ManualClock::new(START_MS);
    let config = IngestConfig {
        routes: Routes::new(vec![RouteRule {
            name: "r0".into(),
            source: source_id.into(),
            account: "main".into(),
            board: "Board".into(),
            section: None,
            when: When::default(),
        }]),
        on_change: HashMap::new(),
        policies: HashMap::new(),
    };
    let ingest = Ingest::new(store, Arc::new(clock.clone()), config, Default::default());
    (ingest, clock)
}

/// The real sled store in a temporary directory.
pub struct Sled {
    pub store: Arc<SledStore>,
    _dir: tempfile::TempDir,
}

pub async fn sled_store() -> Sled {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open_async(dir.path().join("store"), SledOptions::default(), None)
        .await
        .expect("open sled");
    Sled {
        store: Arc::new(store),
        _dir: dir,
    }
}

impl Sled {
    /// Every item of `source` as recorded, ordered by its first job (creation order), items
    /// without jobs last by key.
    pub async fn recorded(&self, source: &str) -> Vec<Recorded> {
        let filter = ItemFilter {
            source: Some(SourceId::new(source)),
            limit: 10_000,
        };
        let mut out = Vec::new();
        for stored in self.store.items(filter).await.expect("items") {
            let jobs = self
                .store
                .item_jobs(&stored.item.source, &stored.item.key)
                .await
                .expect("jobs");
            out.push((
                jobs.iter().map(|j| j.id.clone()).min(),
                Recorded {
                    skip_reason: match stored.disposition {
                        ItemDisposition::Skipped { reason } => Some(reason),
                        ItemDisposition::Queued => None,
                    },
                    fingerprint: stored.fingerprint,
                    jobs: jobs.len(),
                    item: stored.item,
                },
            ));
        }
        out.sort_by(|a, b| match (&a.0, &b.0) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.1.item.key.cmp(&b.1.item.key),
        });
        out.into_iter().map(|(_, r)| r).collect()
    }

    pub async fn state(&self, source: &str) -> SourceState {
        self.store
            .source_state(&SourceId::new(source))
            .await
            .expect("state")
    }
}

/// Parse the fixture `name` as if fetched from `url`, with the default image size rules.
pub fn parse_fixture(name: &str, url: &str) -> Result<ParsedFeed, String> {
    parse_feed(
        &SourceId::new("s"),
        &fixture(name),
        None,
        &Url::parse(url).expect("url"),
        MinSize::default(),
    )
    .map_err(|e| e.to_string())
}

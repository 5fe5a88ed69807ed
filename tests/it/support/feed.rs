//! Shared helpers for the feed tests: fixtures and a loopback server (from `feed_server`), the real
//! sled store in a tempdir (with views of what it recorded), and a small in-memory `Store`
//! that counts `ingest_many` calls (to check one durable batch per poll).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pinbridge::clock::ManualClock;
use pinbridge::ingest::{Ingest, IngestConfig};
use pinbridge::item::{DedupKey, Fingerprint, Item, SourceId};
use pinbridge::sources::feed::images::MinSize;
use pinbridge::sources::feed::parse::{ParsedFeed, parse_feed};
use pinbridge::sources::feed::{FeedSettings, FeedSource, Fetcher};
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::*;
use pinbridge::sync::route::{RouteRule, Routes, When};
use url::Url;

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

#[derive(Clone, Debug)]
pub struct Recorded {
    pub item: Item,
    pub fingerprint: Fingerprint,
    pub skip_reason: Option<String>,
    pub jobs: usize,
}

/// In-memory store: ingest dedups by (source, key) and remembers the plan; source state is kept.
#[derive(Default)]
pub struct MemStore {
    pub items: Mutex<Vec<((SourceId, DedupKey), Recorded)>>,
    pub states: Mutex<HashMap<SourceId, SourceState>>,
    /// Number of ingest_many calls (one per poll that had items).
    pub batches: Mutex<usize>,
}

impl MemStore {
    pub fn recorded(&self) -> Vec<Recorded> {
        self.items
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }
    fn ingest_one(&self, item: &Item, plan: IngestPlan) -> Ingested {
        let mut items = self.items.lock().unwrap();
        let key = (item.source.clone(), item.key.clone());
        if let Some((_, known)) = items.iter_mut().find(|(k, _)| *k == key) {
            if known.fingerprint == item.fingerprint() {
                return Ingested::Duplicate;
            }
            known.item = item.clone();
            known.fingerprint = item.fingerprint();
            return Ingested::Changed { jobs: 0 };
        }
        let jobs = if plan.skip_reason.is_some() {
            0
        } else {
            plan.targets.len()
        };
        items.push((
            key,
            Recorded {
                item: item.clone(),
                fingerprint: item.fingerprint(),
                skip_reason: plan.skip_reason,
                jobs,
            },
        ));
        Ingested::New { jobs }
    }
}

fn unsupported<T>() -> StoreResult<T> {
    Err(StoreError::Io(
        "not supported by the feed tests' store".into(),
    ))
}

#[async_trait]
impl Store for MemStore {
    async fn ingest(&self, item: &Item, plan: IngestPlan, _now: Millis) -> StoreResult<Ingested> {
        Ok(self.ingest_one(item, plan))
    }
    async fn ingest_many(
        &self,
        batch: Vec<(Item, IngestPlan)>,
        _now: Millis,
    ) -> StoreResult<Vec<Ingested>> {
        *self.batches.lock().unwrap() += 1;
        Ok(batch
            .into_iter()
            .map(|(item, plan)| self.ingest_one(&item, plan))
            .collect())
    }
    async fn claim(&self, _: usize, _: i64, _: Millis) -> StoreResult<Vec<Lease>> {
        unsupported()
    }
    async fn extend(&self, _: &Lease, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn complete(&self, _: &Lease, _: &str, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn retry(
        &self,
        _: &Lease,
        _: Millis,
        _: &str,
        _: Attempt,
        _: Millis,
    ) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn mark_unknown(
        &self,
        _: &Lease,
        _: &str,
        _: Millis,
        _: Millis,
    ) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn dead(&self, _: &Lease, _: &str, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn revive(&self, _: &JobId, _: Millis) -> StoreResult<Job> {
        unsupported()
    }
    async fn job(&self, _: &JobId) -> StoreResult<Option<Job>> {
        unsupported()
    }
    async fn jobs(&self, _: JobFilter) -> StoreResult<Vec<Job>> {
        unsupported()
    }
    async fn item_jobs(&self, _: &SourceId, _: &DedupKey) -> StoreResult<Vec<Job>> {
        unsupported()
    }
    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>> {
        let items = self.items.lock().unwrap();
        Ok(items
            .iter()
            .find(|((s, k), _)| s == source && k == key)
            .map(|(_, r)| StoredItem {
                item: r.item.clone(),
                fingerprint: r.fingerprint,
                first_seen: 0,
                last_seen: 0,
                changes: 0,
                disposition: match &r.skip_reason {
                    Some(reason) => ItemDisposition::Skipped {
                        reason: reason.clone(),
                    },
                    None => ItemDisposition::Queued,
                },
            }))
    }
    async fn items(&self, _: ItemFilter) -> StoreResult<Vec<StoredItem>> {
        unsupported()
    }
    async fn forget(&self, _: &SourceId, _: &DedupKey) -> StoreResult<bool> {
        unsupported()
    }
    async fn source_state(&self, source: &SourceId) -> StoreResult<SourceState> {
        Ok(self
            .states
            .lock()
            .unwrap()
            .get(source)
            .cloned()
            .unwrap_or_default())
    }
    async fn set_source_state(&self, source: &SourceId, state: &SourceState) -> StoreResult<()> {
        self.states
            .lock()
            .unwrap()
            .insert(source.clone(), state.clone());
        Ok(())
    }
    async fn account_state(&self, _: &str) -> StoreResult<AccountState> {
        unsupported()
    }
    async fn set_account_state(&self, _: &str, _: &AccountState) -> StoreResult<()> {
        unsupported()
    }
    async fn purge_deliveries(&self, _: Millis) -> StoreResult<u64> {
        unsupported()
    }
    async fn stats(&self) -> StoreResult<StoreStats> {
        unsupported()
    }
    async fn quarantined(&self) -> StoreResult<Vec<Quarantined>> {
        unsupported()
    }
    async fn close(&self) -> StoreResult<()> {
        Ok(())
    }
    // One poller per source in these tests: the source lease is always granted.
    async fn try_lease_source(
        &self,
        _: &SourceId,
        _: &str,
        _: Millis,
        _: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        Ok(Some(LeaseToken(1)))
    }
    async fn release_source(&self, _: &SourceId, _: LeaseToken) -> StoreResult<()> {
        Ok(())
    }
    async fn take_write_slot(
        &self,
        _: &str,
        _: f64,
        _: u32,
        _: Millis,
    ) -> StoreResult<Result<(), Millis>> {
        unsupported()
    }
    async fn reserve_daily_pin(&self, _: &str, _: i64, _: u32) -> StoreResult<Option<u32>> {
        unsupported()
    }
    async fn block_account(&self, _: &str, _: Millis) -> StoreResult<()> {
        unsupported()
    }
    async fn account_quota(&self, _: &str) -> StoreResult<AccountQuota> {
        unsupported()
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

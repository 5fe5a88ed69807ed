//! Shared helpers for the feed tests: fixtures, a real axum server on 127.0.0.1:0, and a small
//! in-memory `Store` with real ingest / source-state behaviour (the sled store is built in
//! parallel; the poller only needs these methods).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use pinbridge::clock::ManualClock;
use pinbridge::ingest::{Ingest, IngestConfig};
use pinbridge::item::{DedupKey, Fingerprint, Item, SourceId};
use pinbridge::sources::feed::{FeedSettings, FeedSource, Fetcher};
use pinbridge::store::*;
use pinbridge::sync::route::{RouteRule, Routes, When};

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Serve `router` on an ephemeral loopback port.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    addr
}

/// A feed source for `url` that may fetch from loopback (the test server).
pub fn source(id: &str, url: &str, tweak: impl FnOnce(&mut FeedSettings)) -> FeedSource {
    let mut settings = FeedSettings::for_url(url);
    settings.allow_private = true;
    tweak(&mut settings);
    FeedSource::new(SourceId::new(id), settings, Fetcher::new()).expect("valid source")
}

pub const START_MS: Millis = 1_700_000_000_000;

/// An ingest handle over `store` with one route from `source_id` to a board.
pub fn ingest(store: Arc<MemStore>, source_id: &str) -> (Ingest, ManualClock) {
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
    pub fn state(&self, id: &str) -> SourceState {
        self.states
            .lock()
            .unwrap()
            .get(&SourceId::new(id))
            .cloned()
            .unwrap_or_default()
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
}

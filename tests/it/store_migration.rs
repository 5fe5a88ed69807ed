//! A store written by the first release (schema 1, `tests/fixtures/sled-v1/`) opens, migrates
//! and serves everything it held; a migration stopped at any step finishes on the next open.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{MigrationHook, SCHEMA_VERSION, SledOptions, SledStore, testing};
use pinbridge::store::{
    AccountState, ConfigRecord, Delivery, IngestPlan, Ingested, ItemFilter, Job, JobFilter,
    JobState, LinkHolder, SourceState, StoreError, StoredItem,
};

use crate::support::plans::plan;

/// Unpack the fixture into a temp dir: the store at `<dir>/store`, its manifest parsed.
pub(crate) fn unpack() -> (tempfile::TempDir, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sled-v1/store.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar runs");
    assert!(status.success(), "unpacking {}", fixture.display());
    let manifest = std::fs::read(dir.path().join("manifest.json")).unwrap();
    let manifest = serde_json::from_slice(&manifest).unwrap();
    let path = dir.path().join("store");
    (dir, path, manifest)
}

fn field<T: serde::de::DeserializeOwned>(manifest: &Value, name: &str) -> T {
    serde_json::from_value(manifest[name].clone()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(crate) async fn open(
    path: &Path,
    hook: Option<MigrationHook>,
) -> Result<SledStore, StoreError> {
    let opts = SledOptions {
        migration_hook: hook,
        ..SledOptions::default()
    };
    // sled's threads may hold the directory lock a moment after the last handle is dropped.
    for _ in 0..100 {
        match SledStore::open_async(path.to_path_buf(), opts.clone(), None).await {
            Err(e) if e.to_string().contains("could not acquire lock") => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            other => return other,
        }
    }
    panic!("the store stayed locked")
}

/// Every item, job, delivery id, count and state record of the manifest is served.
pub(crate) async fn assert_serves_everything(store: &SledStore, manifest: &Value) {
    let items: Vec<StoredItem> = field(manifest, "items");
    assert_eq!(store.items(ItemFilter::default()).await.unwrap(), items);
    for entry in manifest["item_jobs"].as_array().unwrap() {
        let source = SourceId::new(entry["source"].as_str().unwrap());
        let key = DedupKey(entry["key"].as_str().unwrap().to_string());
        let ids: Vec<String> = field(entry, "jobs");
        let served: Vec<String> = store
            .item_jobs(&source, &key)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id.0)
            .collect();
        assert_eq!(served, ids, "jobs of {key:?}");
    }
    let jobs: Vec<Job> = field(manifest, "jobs");
    let served = store
        .jobs(JobFilter {
            limit: 0,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(served.len(), jobs.len());
    for (was, now) in jobs.iter().zip(&served) {
        if matches!(was.state, JobState::Leased { .. }) {
            // Leased by the process that wrote the store: reconciled before any retry.
            assert_eq!(
                (&now.id, &now.kind, now.attempts),
                (&was.id, &was.kind, was.attempts)
            );
            assert!(
                matches!(now.state, JobState::Unknown { .. }),
                "{:?}",
                now.state
            );
        } else {
            assert_eq!(now, was);
        }
    }
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.items, manifest["stats_items"].as_u64().unwrap());
    let mut by_state: std::collections::BTreeMap<String, u64> = field(manifest, "jobs_by_state");
    let leased = std::mem::take(by_state.get_mut("leased").unwrap());
    *by_state.get_mut("unknown").unwrap() += leased;
    assert_eq!(stats.jobs_by_state, by_state);
    assert_eq!(stats.quarantined, 0);

    let account: AccountState = field(manifest, "account");
    assert_eq!(store.account_state("main").await.unwrap(), account);
    let source: SourceState = field(manifest, "source_state");
    assert_eq!(
        store.source_state(&SourceId::new("blog")).await.unwrap(),
        source
    );
    let records: Vec<ConfigRecord> = field(manifest, "config_records");
    assert_eq!(store.config_records().await.unwrap(), records);
    let holders: Vec<Option<LinkHolder>> = field(manifest, "link_holders");
    let links = items.iter().filter_map(|s| s.item.link.clone());
    for (link, holder) in links.zip(holders) {
        assert_eq!(
            store.link_holder("main", "b", &link).await.unwrap(),
            holder,
            "{link}"
        );
    }
    let last_pin: Option<i64> = field(manifest, "board_last_pin");
    assert_eq!(store.board_last_pin("main", "b").await.unwrap(), last_pin);
    let adopted: Option<i64> = field(manifest, "board_adopted");
    assert_eq!(store.board_adopted("main", "b").await.unwrap(), adopted);
}

/// Every recorded delivery id is still a duplicate, and every item still deduplicates.
pub(crate) async fn assert_dedups(store: &SledStore, manifest: &Value) {
    let items: Vec<StoredItem> = field(manifest, "items");
    for (n, id) in field::<Vec<String>>(manifest, "deliveries")
        .iter()
        .enumerate()
    {
        let seen = Delivery {
            id: id.clone(),
            keep_until: i64::MAX,
        };
        let mut p = plan();
        // The delivery id, or (every other time) the replay guard recorded beside it.
        if n % 2 == 0 {
            p.delivery = Some(seen);
        } else {
            p.replay_guard = Some(Delivery {
                id: format!("replay:digest-{}", n + 1),
                ..seen
            });
        }
        // A fresh key under a known delivery id: the delivery decides.
        let mut fresh = items[0].item.clone();
        fresh.source = SourceId::new("shop");
        fresh.key = DedupKey::new("id", &format!("never-seen-{n}"));
        assert_eq!(
            store.ingest(&fresh, p, 1).await.unwrap(),
            Ingested::Duplicate,
            "{id}"
        );
    }
    for stored in &items {
        // Recorded without jobs, so an item removed at its source is not a comeback here.
        let plain = IngestPlan {
            skip_reason: Some("checking dedup".into()),
            ..plan()
        };
        assert_eq!(
            store.ingest(&stored.item, plain, 2).await.unwrap(),
            Ingested::Duplicate,
            "{:?}",
            stored.item.key
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_the_first_release_migrates_and_serves_everything() {
    let (_dir, path, manifest) = unpack();
    let store = open(&path, None).await.unwrap();
    assert_serves_everything(&store, &manifest).await;
    assert_dedups(&store, &manifest).await;
    store.close().await.unwrap();
    drop(store);
    {
        let db = open_raw(&path).await;
        let names: Vec<String> = db
            .tree_names()
            .iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
        for retired in ["dedup", "item_jobs", "deliveries_by_time"] {
            assert!(
                !names.iter().any(|n| n == retired),
                "{retired} still there: {names:?}"
            );
        }
        let version = db
            .open_tree(testing::META)
            .unwrap()
            .get(testing::SCHEMA_KEY)
            .unwrap();
        assert_eq!(version.unwrap(), testing::encode(&SCHEMA_VERSION));
        // Every hot record is in the compact layout now.
        for tree in [testing::ITEMS, testing::JOBS, testing::DELIVERIES] {
            for entry in db.open_tree(tree).unwrap().iter() {
                let (_, raw) = entry.unwrap();
                assert_eq!(raw[0], 2, "a record of {tree} was not rewritten");
            }
        }
    }
    // Opening again changes nothing.
    let store = open(&path, None).await.unwrap();
    assert_eq!(
        store.items(ItemFilter::default()).await.unwrap(),
        field::<Vec<StoredItem>>(&manifest, "items")
    );
    store.close().await.unwrap();
}

async fn open_raw(path: &Path) -> sled::Db {
    for _ in 0..100 {
        match testing::open_raw(path) {
            Ok(db) => return db,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    panic!("the store stayed locked")
}

/// A hook that fails at its `stop_at`-th step (counting from 1); counts every step it sees.
fn stop_at(stop: usize, seen: Arc<AtomicUsize>) -> MigrationHook {
    MigrationHook(Arc::new(move |step: &str| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == stop {
            return Err(std::io::Error::other(format!("stopped at {step}")));
        }
        Ok(())
    }))
}

/// How many steps a whole migration of the fixture takes (more than 20: items, jobs, delivery
/// ids, the version write, each drop).
pub(crate) async fn migration_steps() -> usize {
    let (_dir, path, _) = unpack();
    let seen = Arc::new(AtomicUsize::new(0));
    let store = open(&path, Some(stop_at(0, seen.clone()))).await.unwrap();
    store.close().await.unwrap();
    let steps = seen.load(Ordering::SeqCst);
    assert!(steps > 20, "only {steps} steps");
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_stopped_at_any_step_finishes_on_the_next_open() {
    let steps = migration_steps().await;
    // Stopping at every step (items, jobs, delivery ids, the version write, each drop).
    for stop in 1..=steps {
        let (_dir, path, manifest) = unpack();
        let seen = Arc::new(AtomicUsize::new(0));
        let first = open(&path, Some(stop_at(stop, seen))).await;
        let Err(err) = first else {
            panic!("step {stop} of {steps} did not stop the migration");
        };
        assert!(err.to_string().contains("migration stopped"), "{err}");
        let store = open(&path, None).await.unwrap();
        assert_serves_everything(&store, &manifest).await;
        assert_dedups(&store, &manifest).await;
        store.close().await.unwrap();
    }
}

//! sled-only store tests: reopening, damaged records, schema guard, group commit.

use std::path::Path;
use std::sync::Arc;

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{Compression, SCHEMA_VERSION, SledOptions, SledStore, testing};
use pinbridge::store::{Ingested, ItemFilter, JobFilter, JobState, SourceState, StoreError};

use crate::support::plans::plan;
use crate::support::sled::conf_says_compressed;

const T0: i64 = 1_700_000_000_000;

fn item(key: &str) -> Item {
    let mut item = Item::new(SourceId::new("blog"), DedupKey::new("guid", key));
    item.title = format!("Title {key}");
    item.image_url = Some(format!("https://example.com/{key}.jpg"));
    item
}

async fn open(path: &Path) -> Result<SledStore, StoreError> {
    SledStore::open_async(path.to_path_buf(), SledOptions::default(), None).await
}

/// Open again after a previous handle was dropped: sled's background threads may hold the
/// directory lock for a moment after the drop, so a lock error is retried briefly.
async fn reopen(path: &Path) -> SledStore {
    for _ in 0..100 {
        match open(path).await {
            Ok(store) => return store,
            Err(e) if e.to_string().contains("could not acquire lock") => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the store stayed locked after its last handle was dropped")
}

/// The same for a raw sled handle.
async fn raw_reopen(path: &Path) -> sled::Db {
    for _ in 0..100 {
        match testing::open_raw(path) {
            Ok(db) => return db,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    panic!("the store stayed locked after its last handle was dropped")
}

async fn open_with(path: &Path, compression: Compression) -> SledStore {
    let options = SledOptions {
        compression,
        ..SledOptions::default()
    };
    crate::support::sled::open_retrying_with(path, options, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_is_chosen_when_a_store_is_created_and_kept_for_its_life() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    let store = open_with(&fresh, Compression::Zstd).await;
    store.ingest(&item("1"), plan(), T0).await.unwrap();
    store.close().await.unwrap();
    drop(store);
    assert!(conf_says_compressed(&fresh));

    // A store created without compression (the default, and every store before the option)
    // opens with zstd configured, keeps its own choice (sled refuses to change it) and serves everything.
    let plain = dir.path().join("plain");
    let store = open(&plain).await.unwrap();
    store.ingest(&item("1"), plan(), T0).await.unwrap();
    store.close().await.unwrap();
    drop(store);
    for compression in [Compression::Zstd, Compression::Off, Compression::Zstd] {
        let store = open_with(&plain, compression).await;
        assert_eq!(
            store.ingest(&item("1"), plan(), T0).await.unwrap(),
            Ingested::Duplicate
        );
        let items = store.items(ItemFilter::default()).await.unwrap();
        assert_eq!(items.len(), 1);
        store.close().await.unwrap();
    }
    assert!(!conf_says_compressed(&plain));

    // And the other way round: a compressed store opened with compression off.
    let store = open_with(&fresh, Compression::Off).await;
    assert_eq!(store.items(ItemFilter::default()).await.unwrap().len(), 1);
    store.close().await.unwrap();
    drop(store);
    assert!(conf_says_compressed(&fresh));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_everything_and_turns_leases_into_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let leased_id;
    {
        let store = reopen(&path).await;
        store.ingest(&item("1"), plan(), T0).await.unwrap();
        store.ingest(&item("2"), plan(), T0).await.unwrap();
        leased_id = store.claim(1, 60_000, T0).await.unwrap().remove(0).job.id;
        let state = SourceState {
            etag: Some("e1".into()),
            ..SourceState::default()
        };
        store
            .set_source_state(&SourceId::new("blog"), &state)
            .await
            .unwrap();
        store.close().await.unwrap();
    }
    let store = reopen(&path).await;
    assert_eq!(
        store.ingest(&item("1"), plan(), T0 + 1).await.unwrap(),
        Ingested::Duplicate
    );
    assert_eq!(store.items(ItemFilter::default()).await.unwrap().len(), 2);
    assert_eq!(
        store
            .source_state(&SourceId::new("blog"))
            .await
            .unwrap()
            .etag
            .as_deref(),
        Some("e1")
    );
    let job = store.job(&leased_id).await.unwrap().unwrap();
    assert!(
        matches!(job.state, JobState::Unknown { .. }),
        "a lease held by a dead process must be reconciled: {:?}",
        job.state
    );
    // Well before the old lease would have expired, both jobs are claimable again.
    let leases = store.claim(10, 60_000, T0 + 2).await.unwrap();
    assert_eq!(leases.len(), 2);
    let old = leases.iter().find(|l| l.job.id == leased_id).unwrap();
    assert!(old.reconcile);
    assert!(leases.iter().any(|l| l.job.id != leased_id && !l.reconcile));
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_of_the_same_store_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = open(&path).await.unwrap();
    let second = open(&path).await;
    let Err(err) = second else {
        panic!("a second open must fail")
    };
    assert!(
        err.to_string().contains("another pinbridge process"),
        "{err}"
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_records_are_quarantined_and_the_store_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (job_of_1, job_of_2);
    {
        let store = reopen(&path).await;
        store.ingest(&item("1"), plan(), T0).await.unwrap();
        store.ingest(&item("2"), plan(), T0).await.unwrap();
        let jobs = store.jobs(JobFilter::default()).await.unwrap();
        (job_of_1, job_of_2) = (jobs[0].id.clone(), jobs[1].id.clone());
        store.close().await.unwrap();
    }
    {
        // Damage item 1's record (a flipped byte) and job 2's record (garbage) behind the store's back.
        let db = raw_reopen(&path).await;
        let items = db.open_tree(testing::ITEMS).unwrap();
        let (key, value) = items.iter().next().unwrap().unwrap();
        let mut flipped = value.to_vec();
        flipped[3] ^= 0x20;
        items.insert(key, flipped).unwrap();
        let jobs = db.open_tree(testing::JOBS).unwrap();
        jobs.insert(job_of_2.0.as_bytes(), &b"\x00garbage"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let store = reopen(&path).await;
    // Item 1's record is gone, so its job cannot run: it goes to the dead letter, not a panic.
    // Job 2 is unreadable and is skipped.
    let leases = store.claim(10, 1000, T0 + 1).await.unwrap();
    assert!(leases.is_empty(), "{leases:?}");
    let job1 = store.job(&job_of_1).await.unwrap().unwrap();
    assert!(
        matches!(job1.state, JobState::Dead { .. }),
        "{:?}",
        job1.state
    );
    assert!(store.job(&job_of_2).await.unwrap().is_none());

    let quarantined = store.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    let trees: Vec<_> = quarantined.iter().map(|q| q.tree.as_str()).collect();
    assert!(
        trees.contains(&"items") && trees.contains(&"jobs"),
        "{trees:?}"
    );
    let item_report = quarantined.iter().find(|q| q.tree == "items").unwrap();
    assert_eq!(item_report.key, "blog/guid:1");
    assert!(
        item_report.reason.contains("checksum"),
        "{}",
        item_report.reason
    );
    assert_eq!(store.stats().await.unwrap().quarantined, 2);

    // Item 1's tombstone survived, so it still deduplicates; new items work as before.
    assert_eq!(
        store.ingest(&item("1"), plan(), T0 + 2).await.unwrap(),
        Ingested::Duplicate
    );
    assert_eq!(
        store.ingest(&item("3"), plan(), T0 + 2).await.unwrap(),
        Ingested::New { jobs: 1 }
    );
    assert_eq!(store.claim(10, 1000, T0 + 3).await.unwrap().len(), 1);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_a_newer_pinbridge_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    reopen(&path).await.close().await.unwrap();
    {
        let db = raw_reopen(&path).await;
        let meta = db.open_tree(testing::META).unwrap();
        meta.insert(testing::SCHEMA_KEY, testing::encode(&(SCHEMA_VERSION + 98)))
            .unwrap();
        db.flush().unwrap();
    }
    // A lock error means the raw handle has not let go yet: ask again.
    let mut result = open(&path).await;
    for _ in 0..100 {
        match &result {
            Err(e) if e.to_string().contains("could not acquire lock") => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                result = open(&path).await;
            }
            _ => break,
        }
    }
    let Err(err) = result else {
        panic!("a newer schema must not open")
    };
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("newer pinbridge"), "{message}");
    assert!(
        message.contains(&format!("schema {}", SCHEMA_VERSION + 98)),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_share_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("store")).await.unwrap());
    let before = store.flush_count();
    const N: usize = 200;
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.ingest(&item(&i.to_string()), plan(), T0).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), Ingested::New { jobs: 1 });
    }
    let flushes = store.flush_count() - before;
    println!("{N} concurrent ingests took {flushes} flushes");
    assert!(flushes >= 1);
    assert!(flushes <= N as u64 / 2, "{flushes} flushes for {N} writers");
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_store_refuses_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store")).await.unwrap();
    store.close().await.unwrap();
    store.close().await.unwrap();
    let result = store.ingest(&item("1"), plan(), T0).await;
    assert!(matches!(result, Err(StoreError::Closed)), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_item_record_leaves_a_stub_so_nothing_pins_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = reopen(&path).await;
        store.ingest(&item("1"), plan(), T0).await.unwrap();
        store.close().await.unwrap();
    }
    {
        // The item record is also the item's dedup tombstone.
        let db = raw_reopen(&path).await;
        let items = db.open_tree(testing::ITEMS).unwrap();
        let (key, _) = items.iter().next().unwrap().unwrap();
        items.insert(key, &b"not an envelope"[..]).unwrap();
        db.flush().unwrap();
    }
    let store = reopen(&path).await;
    let mut renamed = item("1");
    renamed.title = "Title 1, renamed".into();
    // Whether it was pinned died with the record: it is never queued again by itself.
    for at in [T0 + 1, T0 + 2] {
        assert_eq!(
            store.ingest(&renamed, plan(), at).await.unwrap(),
            Ingested::Duplicate
        );
    }
    let quarantined = store.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert_eq!(quarantined[0].tree, "items");
    assert_eq!(store.jobs(JobFilter::default()).await.unwrap().len(), 1);
    // The fields delivered since are recorded again.
    let stored = store
        .item(&renamed.source, &renamed.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.item.title, "Title 1, renamed");
    store.close().await.unwrap();
}

/// Items and jobs by state, counted record by record, to compare with `stats`.
async fn recount(store: &SledStore) -> (u64, std::collections::BTreeMap<String, u64>) {
    let items = store.items(ItemFilter::default()).await.unwrap().len() as u64;
    let mut by_state = store.stats().await.unwrap().jobs_by_state;
    by_state.values_mut().for_each(|n| *n = 0);
    for job in store.jobs(JobFilter::default()).await.unwrap() {
        *by_state.get_mut(job.state.name()).unwrap() += 1;
    }
    (items, by_state)
}

async fn assert_counts_exact(store: &SledStore) {
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.items, stats.jobs_by_state), recount(store).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_counts_is_recounted_once_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = reopen(&path).await;
        for key in ["1", "2", "3"] {
            store.ingest(&item(key), plan(), T0).await.unwrap();
        }
        let lease = store.claim(1, 1000, T0).await.unwrap().remove(0);
        store.complete(&lease, "pin-1", T0 + 1).await.unwrap();
        store.close().await.unwrap();
    }
    {
        // What a store written by a build without counts looks like: no counts, no marker.
        let db = raw_reopen(&path).await;
        db.open_tree(testing::COUNTS).unwrap().clear().unwrap();
        db.open_tree(testing::META)
            .unwrap()
            .remove(testing::COUNTS_MARKER)
            .unwrap();
        db.flush().unwrap();
    }
    let store = reopen(&path).await;
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.items, 3);
    assert_eq!(stats.jobs_by_state["pending"], 2);
    assert_eq!(stats.jobs_by_state["done"], 1);
    let done = store.recent_jobs("done", 5).await.unwrap();
    assert_eq!(done.len(), 1, "the finished index is rebuilt too");
    // Kept up to date from here on, and across another restart.
    store.ingest(&item("4"), plan(), T0 + 2).await.unwrap();
    assert_counts_exact(&store).await;
    store.close().await.unwrap();
    drop(store);
    let store = reopen(&path).await;
    assert_eq!(store.stats().await.unwrap().items, 4);
    assert_counts_exact(&store).await;
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_stay_exact_when_a_damaged_job_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let damaged;
    {
        let store = reopen(&path).await;
        store.ingest(&item("1"), plan(), T0).await.unwrap();
        store.ingest(&item("2"), plan(), T0).await.unwrap();
        damaged = store.jobs(JobFilter::default()).await.unwrap()[1]
            .id
            .clone();
        store.close().await.unwrap();
    }
    {
        let db = raw_reopen(&path).await;
        let jobs = db.open_tree(testing::JOBS).unwrap();
        jobs.insert(damaged.0.as_bytes(), &b"\x00garbage"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let store = reopen(&path).await;
    // The claim meets the damaged job and quarantines it: its state is lost with it.
    assert_eq!(store.claim(10, 1000, T0 + 1).await.unwrap().len(), 1);
    assert_eq!(store.stats().await.unwrap().jobs_by_state["leased"], 1);
    assert_counts_exact(&store).await;
    store.close().await.unwrap();
    drop(store);
    let store = reopen(&path).await;
    assert_counts_exact(&store).await;
    assert_eq!(store.stats().await.unwrap().jobs_by_state["unknown"], 1);
    store.close().await.unwrap();
}

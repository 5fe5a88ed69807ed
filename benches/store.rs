//! Durable writes per second: the store's group commit against one sled flush per write.
//!
//! `cargo bench --bench store --profile dev` (dependencies are optimised in the dev profile;
//! a release build of all dependencies takes long on small machines). Every figure counts only
//! writes that were durable when acknowledged. Environment: `STORE_BENCH_WRITES` (default 4000).

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{IngestPlan, Ingested, Target};

fn item(n: usize) -> Item {
    let mut item = Item::new(
        SourceId::new("bench"),
        DedupKey::new("guid", &n.to_string()),
    );
    item.title = format!("Item number {n}");
    item.description = "A description of typical length for a feed item. ".repeat(4);
    item.link = Some(format!("https://example.com/posts/{n}"));
    item.image_url = Some(format!("https://example.com/images/{n}.jpg"));
    item
}

fn plan() -> IngestPlan {
    IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "Recipes".into(),
            section: None,
        }],
        ..IngestPlan::default()
    }
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

/// `writes` ingests spread over `tasks` concurrent tasks, each durable (group commit).
fn group_commit(rt: &tokio::runtime::Runtime, tasks: usize, writes: usize) -> (f64, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    rt.block_on(async {
        let store = Arc::new(
            SledStore::open_async(dir.path().join("store"), SledOptions::default(), None)
                .await
                .expect("open"),
        );
        let flushes_before = store.flush_count();
        let per_task = writes / tasks;
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..per_task {
                        let result = store.ingest(&item(t * per_task + i), plan(), 0).await;
                        assert_eq!(result.expect("ingest"), Ingested::New { jobs: 1 });
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task");
        }
        let took = start.elapsed();
        let flushes = store.flush_count() - flushes_before;
        store.close().await.expect("close");
        (rate(per_task * tasks, took), flushes)
    })
}

/// The transaction cost alone: one `ingest_many` of all writes, one flush.
fn one_batch(rt: &tokio::runtime::Runtime, writes: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    rt.block_on(async {
        let store = SledStore::open_async(dir.path().join("store"), SledOptions::default(), None)
            .await
            .expect("open");
        let batch: Vec<_> = (0..writes).map(|n| (item(n), plan())).collect();
        let start = Instant::now();
        let results = store.ingest_many(batch, 0).await.expect("ingest_many");
        let took = start.elapsed();
        assert_eq!(results.len(), writes);
        store.close().await.expect("close");
        rate(writes, took)
    })
}

/// Baseline: raw sled, one insert then one `flush()` (and optionally an fsync) per write.
fn flush_per_write(writes: usize, fsync: bool) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::Config::new()
        .path(dir.path().join("raw"))
        .cache_capacity(64 * 1024 * 1024)
        .open()
        .expect("open raw sled");
    let file = File::open(dir.path().join("raw").join("db")).expect("db file");
    let tree = db.open_tree("items").expect("tree");
    let start = Instant::now();
    for n in 0..writes {
        let value = serde_json::to_vec(&item(n)).expect("json");
        tree.insert(n.to_be_bytes(), value).expect("insert");
        db.flush().expect("flush");
        if fsync {
            file.sync_all().expect("fsync");
        }
    }
    rate(writes, start.elapsed())
}

/// Reference: raw sled transactions over seven trees, no flush (the ingest transaction's shape).
fn raw_transactions(writes: usize) -> f64 {
    use sled::Transactional;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::open(dir.path().join("raw")).expect("open raw sled");
    let t: Vec<sled::Tree> = (0..7)
        .map(|i| db.open_tree(format!("t{i}")).expect("tree"))
        .collect();
    let value = serde_json::to_vec(&item(0)).expect("json");
    let start = Instant::now();
    for n in 0..writes {
        let key = n.to_be_bytes();
        let result: sled::transaction::TransactionResult<()> = (
            &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6],
        )
            .transaction(|(a, b, c, d, e, f, g)| {
                a.get(key)?;
                c.get(key)?;
                d.get(key)?;
                for tree in [b, c, d, e, f, g] {
                    tree.insert(&key, value.as_slice())?;
                }
                Ok(())
            });
        result.expect("transaction");
    }
    rate(writes, start.elapsed())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it
    // and should not spend half a minute timing.
    if !std::env::args().any(|a| a == "--bench") {
        println!("store bench: skipped (run it with `cargo bench --bench store`)");
        return;
    }
    let writes: usize = std::env::var("STORE_BENCH_WRITES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("durable writes/s, {writes} writes per case");
    println!(
        "baseline sled insert + flush() per write:            {:>8.0}/s",
        flush_per_write(writes, false)
    );
    println!(
        "baseline sled insert + flush() + fsync per write:    {:>8.0}/s",
        flush_per_write(writes, true)
    );
    println!(
        "raw sled 7-tree transaction per write, no flush:     {:>8.0}/s",
        raw_transactions(writes)
    );
    println!(
        "store ingest_many, one batch, one flush (tx cost):    {:>8.0}/s",
        one_batch(&rt, writes)
    );
    for tasks in [1, 8, 32, 128] {
        let (per_sec, flushes) = group_commit(&rt, tasks, writes);
        println!(
            "store ingest, group commit (flush+fsync), {tasks:>3} tasks: {per_sec:>8.0}/s  ({flushes} flushes, {:.1} writes/flush)",
            writes as f64 / flushes.max(1) as f64
        );
    }
}

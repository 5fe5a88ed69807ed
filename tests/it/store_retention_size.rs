//! What retention saves, measured (not a check: `#[ignore]`d, run by hand, figures printed):
//! a store of N webhook-sized items, each with a delivery id and a done create job, before and
//! after compaction and the delivery purge, on sled and (with `PINBRIDGE_TEST_POSTGRES_URL`)
//! PostgreSQL. docs/BENCHMARKS.md ("Retention") quotes it.
//!
//! ```sh
//! PINBRIDGE_RETENTION_ITEMS=20000 cargo test --release --test it store_retention_size \
//!     -- --ignored --nocapture
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{Delivery, IngestPlan, StoredItem, Target};

use crate::store_conformance::{T0, open_postgres};

const DAY: i64 = 86_400_000;

/// A product as a Shopify webhook maps it: about 200 bytes of Pin fields and extras.
fn product(i: usize) -> Item {
    let mut item = Item::new(
        SourceId::new("shop"),
        DedupKey::new("product", &i.to_string()),
    );
    item.title = format!("Hand-thrown stoneware mug no. {i}");
    item.description =
        "<p>Stoneware mug, 350 ml, glazed inside and out. Dishwasher safe.</p>".into();
    item.link = Some(format!("https://shop.example/products/mug-{i}"));
    item.image_url = Some(format!("https://cdn.shop.example/files/mug-{i}.jpg"));
    item.updated_ms = Some(T0);
    item.categories = vec!["mugs".into(), "kitchen".into()];
    item.fields = BTreeMap::from([
        ("price".into(), "28.00".into()),
        ("vendor".into(), "Clayworks".into()),
    ]);
    item
}

fn plan(i: usize) -> IngestPlan {
    IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "Mugs".into(),
            section: None,
        }],
        delivery: Some(Delivery {
            id: format!("delivery-{i:032}"),
            keep_until: T0 + 7 * DAY,
        }),
        ..IngestPlan::default()
    }
}

/// Ingest items `from..to` and run every job to done, as a served store looks after a while.
async fn fill(store: &Arc<dyn Store>, from: usize, to: usize) {
    for start in (from..to).step_by(500) {
        let batch = (start..to.min(start + 500))
            .map(|i| (product(i), plan(i)))
            .collect();
        store.ingest_many(batch, T0).await.unwrap();
    }
    loop {
        let leases = store.claim(500, 60_000, T0).await.unwrap();
        if leases.is_empty() {
            break;
        }
        futures::stream::iter(leases)
            .for_each_concurrent(64, |lease| {
                let store = store.clone();
                async move {
                    let pin = format!("pin-{}", lease.job.id);
                    store.complete(&lease, &pin, T0).await.unwrap();
                }
            })
            .await;
    }
}

/// Compact everything older than a day, as the service's task does, and say how long it took.
async fn compact(store: &Arc<dyn Store>) -> String {
    let started = Instant::now();
    let (mut items, mut jobs, mut after) = (0, 0, None);
    loop {
        let page = store
            .compact(after, T0 + DAY, 200, T0 + 8 * DAY)
            .await
            .unwrap();
        (items, jobs) = (items + page.items, jobs + page.jobs);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    format!(
        "after compacting {items} items, {jobs} jobs ({:.1} s)",
        started.elapsed().as_secs_f64()
    )
}

async fn size(store: &Arc<dyn Store>) -> u64 {
    store.stats().await.unwrap().size_on_disk
}

fn row(what: &str, bytes: u64, n: usize) {
    println!(
        "  {what:<44} {:>8.1} MB  {:>6} bytes/item",
        bytes as f64 / 1e6,
        bytes / n as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement, run by hand"]
async fn store_bytes_before_and_after_retention() {
    let n: usize = std::env::var("PINBRIDGE_RETENTION_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    // The same steps without compaction first: what the store does on its own (dead rows of
    // job updates, freed delivery ids) is not credited to retention.
    for compacting in [false, true] {
        sled_run(n, compacting).await;
    }
    if std::env::var("PINBRIDGE_TEST_POSTGRES_URL").is_err() {
        println!("PostgreSQL: skipped (PINBRIDGE_TEST_POSTGRES_URL not set)");
        return;
    }
    for compacting in [false, true] {
        postgres_run(n, compacting).await;
    }
}

async fn sled_run(n: usize, compacting: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let opened = SledStore::open_async(path.clone(), SledOptions::default(), None);
    let store: Arc<dyn Store> = Arc::new(opened.await.unwrap());
    fill(&store, 0, n).await;
    println!("sled, {n} items with one done job each, compacting: {compacting}");
    row("after ingest", size(&store).await, n);
    if compacting {
        let done = compact(&store).await;
        row(&done, size(&store).await, n);
    }
    let purged = store.purge_deliveries(T0 + 8 * DAY).await.unwrap();
    row(
        &format!("after dropping {purged} delivery ids"),
        size(&store).await,
        n,
    );
    store.close().await.unwrap();
    drop(store);
    // sled frees the segments of rewritten pages lazily; a reopen shows what it keeps.
    let store: Arc<dyn Store> = Arc::new(crate::support::app::open_store(&path).await);
    let reopened = size(&store).await;
    row("after a reopen", reopened, n);
    if compacting {
        let stored = store
            .item(&SourceId::new("shop"), &DedupKey::new("product", "1"))
            .await
            .unwrap()
            .unwrap();
        let whole = StoredItem {
            item: product(1),
            compacted: None,
            ..stored.clone()
        };
        println!(
            "  one item record (JSON, as sled stores it): {} bytes compacted, {} before",
            serde_json::to_vec(&stored).unwrap().len(),
            serde_json::to_vec(&whole).unwrap().len()
        );
    }
    // Freed space is reused by later writes: N more items may cost less than the first N.
    fill(&store, n, 2 * n).await;
    let total = size(&store).await;
    row(
        &format!("{n} more items grew it by"),
        total.saturating_sub(reopened),
        n,
    );
    row(&format!("all {} items", 2 * n), total, 2 * n);
    store.close().await.unwrap();
}

async fn postgres_run(n: usize, compacting: bool) {
    let backend = open_postgres().await;
    let (store, pool) = (backend.store.clone(), backend.pg_pool.clone().unwrap());
    fill(&store, 0, n).await;
    println!("PostgreSQL, {n} items with one done job each, compacting: {compacting}");
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
    row("after ingest, VACUUM", size(&store).await, n);
    if compacting {
        let done = compact(&store).await;
        row(&done, size(&store).await, n);
    }
    let purged = store.purge_deliveries(T0 + 8 * DAY).await.unwrap();
    // What autovacuum does in a running database: dead rows' space becomes reusable.
    sqlx::query("VACUUM").execute(&pool).await.unwrap();
    let vacuumed = size(&store).await;
    row(
        &format!("after {purged} deliveries dropped, VACUUM"),
        vacuumed,
        n,
    );
    fill(&store, n, 2 * n).await;
    sqlx::query("VACUUM").execute(&pool).await.unwrap();
    let total = size(&store).await;
    row(
        &format!("{n} more items grew it by"),
        total.saturating_sub(vacuumed),
        n,
    );
    row(&format!("all {} items", 2 * n), total, 2 * n);
    sqlx::query("VACUUM FULL").execute(&pool).await.unwrap();
    row(
        &format!("all {} items after VACUUM FULL", 2 * n),
        size(&store).await,
        2 * n,
    );
    store.close().await.unwrap();
}

//! Store bytes per item: ingests webhook-sized items (Shopify product fields, ~194 bytes of
//! payload, a delivery id each) into a fresh sled store, 64 at a time as concurrent webhooks
//! arrive, then reports the directory size per item.
//!
//!   cargo run --release --example store_bytes -- <empty dir> [items, default 50000]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{Delivery, IngestPlan, Target};

fn item(n: usize) -> Item {
    let mut item = Item::new(
        SourceId::new("shop"),
        DedupKey::new("id", &format!("{}", 7_000_000 + n)),
    );
    item.title = format!("Organic cotton tee, size M, colour {n}");
    item.description = "<p>Soft organic cotton, relaxed fit.</p>".into();
    item.link = Some(format!("https://shop.example.com/products/tee-{n}"));
    item.image_url = Some(format!("https://cdn.shopify.com/s/files/1/tee-{n}.jpg"));
    item.updated_ms = Some(1_700_000_000_000 + n as i64);
    item.fields.insert("price".into(), "19.00".into());
    item.fields.insert("vendor".into(), "Example".into());
    item
}

fn plan(n: usize) -> IngestPlan {
    IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "Products".into(),
            section: None,
        }],
        delivery: Some(Delivery {
            id: format!("b3f1c2d4-{n:08}-4a5b-8c9d-0e1f2a3b4c5d"),
            keep_until: 1_700_000_000_000 + 48 * 3_600_000,
        }),
        ..IngestPlan::default()
    }
}

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
        let meta = entry.metadata().ok();
        total += match meta {
            Some(m) if m.is_dir() => dir_bytes(&entry.path()),
            Some(m) => m.len(),
            None => 0,
        };
    }
    total
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: store_bytes <dir> [items]")?,
    );
    let count: usize = std::env::args().nth(2).map_or(Ok(50_000), |n| n.parse())?;
    let path = dir.join("store");
    let store = Arc::new(SledStore::open_async(path.clone(), SledOptions::default(), None).await?);
    let started = std::time::Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(64) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&n| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.ingest(&item(n), plan(n), 1_700_000_000_000).await },
                )
            })
            .collect();
        for task in tasks {
            task.await??;
        }
    }
    let took = started.elapsed();
    let stats = store.stats().await?;
    store.close().await?;
    drop(store);
    let bytes = dir_bytes(&path);
    println!(
        "{count} items in {:.1} s: {} bytes on disk, {} bytes/item (sled size_on_disk {}), {} items counted",
        took.as_secs_f64(),
        bytes,
        bytes / count as u64,
        stats.size_on_disk,
        stats.items
    );
    Ok(())
}

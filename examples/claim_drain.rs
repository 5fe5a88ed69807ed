//! The sync engine's side of the embedded store on each engine: N queued jobs are claimed and
//! completed in pages, as the workers do, and the rate is printed per tenth of the queue. On an
//! LSM tree (fjall) every finished job leaves a tombstone in `jobs_due` until compaction drops
//! it, and a claim scans from the front of that tree: this shows whether claims slow down as
//! the tombstones pile up (docs/BENCHMARKS.md, "Engines behind the store contract").
//!
//!   cargo run --release --example claim_drain -- [jobs, default 100000] [page, default 16]

use std::time::Instant;

use anyhow::{Context, Result};

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{Engine, SledOptions, SledStore};
use pinbridge::store::{IngestPlan, Target};

const T0: i64 = 1_700_000_000_000;

fn item(n: usize) -> Item {
    let mut item = Item::new(SourceId::new("shop"), DedupKey::new("guid", &n.to_string()));
    item.title = format!("Product {n}");
    item.description = "x".repeat(120);
    item.link = Some(format!("https://shop.example.com/products/{n}"));
    item.image_url = Some(format!("https://cdn.example.com/{n}.jpg"));
    item
}

fn plan() -> IngestPlan {
    IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "Products".into(),
            section: None,
        }],
        ..IngestPlan::default()
    }
}

async fn drain(engine: Engine, jobs: usize, page: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let opts = SledOptions {
        engine,
        ..SledOptions::default()
    };
    let store = SledStore::open_async(dir.path().join("store"), opts, None).await?;
    let started = Instant::now();
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(1_000) {
        let batch = chunk.iter().map(|&n| (item(n), plan())).collect();
        store.ingest_many(batch, T0).await?;
    }
    println!(
        "{}: {jobs} items queued in {:.1} s",
        engine.as_str(),
        started.elapsed().as_secs_f64()
    );
    println!("| engine | jobs done | claims+completes/s (this tenth) |");
    println!("|---|---:|---:|");
    let tenth = (jobs / 10).max(1);
    let (mut done, mut mark, mut window) = (0usize, Instant::now(), 0usize);
    while done < jobs {
        let leases = store.claim(page, 60_000, T0 + 1).await?;
        anyhow::ensure!(!leases.is_empty(), "the queue ran dry at {done} of {jobs}");
        for lease in leases {
            store
                .complete(&lease, &format!("pin-{}", lease.job.id), T0 + 1)
                .await
                .context("complete")?;
            done += 1;
            window += 1;
            if window == tenth {
                let rate = window as f64 / mark.elapsed().as_secs_f64();
                println!("| {} | {done} | {rate:.0} |", engine.as_str());
                (mark, window) = (Instant::now(), 0);
            }
        }
    }
    store.close().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let jobs = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let page = args.next().map(|a| a.parse()).transpose()?.unwrap_or(16);
    for engine in [Engine::Sled, Engine::Fjall] {
        drain(engine, jobs, page).await?;
    }
    Ok(())
}

//! What a look at Pin analytics costs: the status page, a `/metrics` refresh and `pinbridge
//! report` each read every row of the period (`Analytics::pin_days`) and roll them up. This
//! times that read on the sled store and the roll-up for N Pins × 30 days.
//!
//! `cargo bench --bench analytics_views --profile dev`. Environment: `ANALYTICS_BENCH_PINS`
//! (default 2000 Pins, so 60,000 rows).

use std::time::Instant;

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::rollup::{Dimension, Period, RouteTemplates, roll_up};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{PinDay, PinMetrics};

const DAYS: i64 = 30;
const TODAY: i64 = 20_000;

fn row(pin: usize, day: i64) -> PinDay {
    let n = pin as u64;
    PinDay {
        pin_id: format!("{}", 1_000_000 + pin),
        account: "main".into(),
        source: SourceId::new(format!("source-{}", pin % 8)),
        item: DedupKey::new("guid", &pin.to_string()),
        route: format!("route-{}", pin % 12),
        board: format!("Board {}", pin % 20),
        categories: vec![format!("cat-{}", pin % 5), format!("cat-{}", pin % 7)],
        day,
        metrics: PinMetrics {
            impressions: 50 + (n * 7 + day as u64) % 300,
            saves: n % 4,
            pin_clicks: 5 + n % 20,
            outbound_clicks: n % 9,
            video_starts: 0,
        },
    }
}

#[tokio::main]
async fn main() {
    let pins: usize = std::env::var("ANALYTICS_BENCH_PINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&dir.path().join("db"), SledOptions::default(), None).unwrap();
    let rows: Vec<PinDay> = (0..pins)
        .flat_map(|p| (TODAY - DAYS + 1..=TODAY).map(move |d| row(p, d)))
        .collect();
    let started = Instant::now();
    for chunk in rows.chunks(1000) {
        store.record_pin_days(chunk).await.unwrap();
    }
    println!(
        "recorded {} rows ({pins} Pins × {DAYS} days) in {:.2?}",
        rows.len(),
        started.elapsed()
    );
    let period = Period::last(DAYS, TODAY).unwrap();
    let templates = RouteTemplates::default();
    for round in 1..=3 {
        let started = Instant::now();
        let read = store
            .pin_days(period.from_day, period.to_day)
            .await
            .unwrap();
        let read_time = started.elapsed();
        let started = Instant::now();
        let by_source = roll_up(&read, Dimension::Source, period, &templates);
        let source_time = started.elapsed();
        let started = Instant::now();
        let by_category = roll_up(&read, Dimension::Category, period, &templates);
        let category_time = started.elapsed();
        println!(
            "round {round}: read {} rows {read_time:.2?}; roll-up by source ({} groups) {source_time:.2?}, by category ({} groups) {category_time:.2?}",
            read.len(),
            by_source.groups.len(),
            by_category.groups.len()
        );
    }
    store.close().await.unwrap();
}

//! Moving a store: a sled store that has served copied into PostgreSQL (`store::transfer::copy`,
//! what `pinbridge store copy --to URL` runs) with its many recorded items, then served there
//! against the same sandbox: no Pin is made twice, the Pins still queued are made once.
//! Import refuses damaged and newer files with a readable message.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use pinbridge::app::App;
use pinbridge::clock::Clock;
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::transfer::{self, TransferError};
use pinbridge::store::{IngestPlan, Store};

use crate::sync_pacing::{Harness, feed, jobs, poll};

const ROUTE: &str = r#"
[[routes]]
source = "blog"
board = "Products"
"#;

/// How many recorded items the copied store holds: `PINBRIDGE_COPY_ITEMS`, else 100,000.
fn copy_items() -> usize {
    std::env::var("PINBRIDGE_COPY_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn seen_item(i: usize) -> Item {
    let mut item = Item::new(
        SourceId::new("blog"),
        DedupKey::new("guid", &format!("old-{i}")),
    );
    item.title = format!("Old post {i}");
    item.link = Some(format!("https://shop.example/old/{i}"));
    item.image_url = Some(format!("https://cdn.shop.example/old/{i}.jpg"));
    item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sled_store_copied_to_postgres_serves_without_pinning_twice() {
    let items: Vec<(String, String)> = (0..10)
        .map(|i| {
            (
                format!("Mug {i}"),
                format!("https://shop.example/products/mug-{i}"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = items
        .iter()
        .map(|(t, l)| (t.as_str(), l.as_str()))
        .collect();
    let h = Harness::start(feed(&refs), ROUTE).await;
    h.sandbox.create_board(&h.user, "Products");

    // Served on sled: the feed's ten items are pinned.
    let app = h.app().await;
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 10);
    let target = jobs(&app).await[0].target.clone();

    // Many more items recorded as seen (a long history), and five whose Pins are still queued.
    let many = copy_items();
    let built = Instant::now();
    let batch_size = 2_000;
    for start in (0..many).step_by(batch_size) {
        let batch = (start..(start + batch_size).min(many))
            .map(|i| {
                let plan = IngestPlan {
                    skip_reason: Some("backfill: none".into()),
                    ..IngestPlan::default()
                };
                (seen_item(i), plan)
            })
            .collect();
        app.store
            .ingest_many(batch, h.clock.now_ms())
            .await
            .unwrap();
    }
    let queued = (0..5)
        .map(|i| {
            let mut item = seen_item(many + i);
            item.title = format!("Queued {i}");
            let plan = IngestPlan {
                targets: vec![target.clone()],
                ..IngestPlan::default()
            };
            (item, plan)
        })
        .collect();
    app.store
        .ingest_many(queued, h.clock.now_ms())
        .await
        .unwrap();
    eprintln!(
        "built a sled store of {} items in {:?}",
        many + 15,
        built.elapsed()
    );

    // Copied into PostgreSQL.
    let pg = crate::store_conformance::open_postgres().await;
    let copied = Instant::now();
    let counts = transfer::copy(
        app.store.as_ref(),
        pg.store.as_ref(),
        false,
        h.clock.now_ms(),
        |_| {},
    )
    .await
    .unwrap();
    eprintln!(
        "copied {} records in {:?}",
        counts.written,
        copied.elapsed()
    );
    let (from, to) = (
        app.store.stats().await.unwrap(),
        pg.store.stats().await.unwrap(),
    );
    assert_eq!(to.items, (many + 15) as u64);
    assert_eq!(to.jobs_by_state, from.jobs_by_state);
    // A second copy is refused without --merge, and adds nothing with it.
    assert!(matches!(
        transfer::copy(app.store.as_ref(), pg.store.as_ref(), false, 0, |_| {}).await,
        Err(TransferError::NotEmpty { .. })
    ));
    drop(app);

    // Served on PostgreSQL: the feed again (all duplicates), the queued five pinned once. A
    // shared store spaces writes across replicas by waiting for the next slot in real time, so
    // the manual clock moves on while the engine runs (and the rate is set out of the way).
    let mut config = h.config();
    config.accounts[0].writes_per_minute = 1_000_000;
    let app = App::build_with_store(&config, Arc::new(h.clock.clone()), pg.store.clone())
        .await
        .unwrap();
    poll(&app).await;
    let ticking = h.shutdown.child_token();
    tokio::spawn({
        let (clock, ticking) = (h.clock.clone(), ticking.clone());
        async move {
            while !ticking.is_cancelled() {
                clock.advance_ms(60_000);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    });
    let store = pg.store.clone();
    crate::support::wait::eventually("the queued Pins are made", || {
        let (engine, store) = (app.engine.clone(), store.clone());
        async move {
            engine.run_due().await.unwrap();
            crate::support::engine::jobs_in(store.as_ref(), "done")
                .await
                .len()
                >= 15
        }
    })
    .await;
    ticking.cancel();
    let pins = h.sandbox.pins();
    assert_eq!(pins.len(), 15, "{pins:#?}");
    let mut links: Vec<_> = pins.iter().filter_map(|p| p.link.clone()).collect();
    links.sort();
    links.dedup();
    assert_eq!(links.len(), 15, "a link was pinned twice");
    let done = crate::support::engine::jobs_in(pg.store.as_ref(), "done").await;
    assert_eq!(done.len(), 15);
    pg.store.close().await.unwrap();
}

fn header(version: u32) -> String {
    format!(r#"{{"format":"pinbridge-export","version":{version},"exported_at":0,"items":1}}"#)
}

async fn import_text(store: &dyn Store, text: &str) -> Result<u64, TransferError> {
    transfer::import(store, Cursor::new(text.to_string()), 0, |_| {}, |_| {})
        .await
        .map(|c| c.written)
}

#[tokio::test]
async fn import_refuses_damaged_and_newer_files_with_the_line() {
    let opened = crate::store_conformance::open_sled().await;
    let store = opened.store.clone();
    let good = r#"{"kind":"source_state","source":"blog","state":{"baselined":true}}"#;

    let truncated = format!("{}\n{good}\n{}\n", header(1), &good[..good.len() - 9]);
    let error = import_text(store.as_ref(), &truncated).await.unwrap_err();
    let shown = error.to_string();
    assert!(shown.contains("line 3"), "{shown}");
    assert!(shown.contains("not a pinbridge export record"), "{shown}");

    let unknown = format!("{}\n{{\"kind\":\"spaceship\"}}\n", header(1));
    let shown = import_text(store.as_ref(), &unknown)
        .await
        .unwrap_err()
        .to_string();
    assert!(shown.contains("line 2"), "{shown}");

    let newer = format!("{}\n{good}\n", header(transfer::VERSION + 1));
    let shown = import_text(store.as_ref(), &newer)
        .await
        .unwrap_err()
        .to_string();
    assert!(shown.contains("newer than this pinbridge reads"), "{shown}");

    let shown = import_text(store.as_ref(), "{\"hello\":1}\n")
        .await
        .unwrap_err()
        .to_string();
    assert!(shown.contains("not a pinbridge export"), "{shown}");

    // The good line before the damaged one was written; importing a clean file is idempotent.
    let clean = format!("{}\n{good}\n", header(1));
    assert_eq!(import_text(store.as_ref(), &clean).await.unwrap(), 0);
    store.close().await.unwrap();
}

/// A config naming a sled store at `store`.
fn config_for(dir: &std::path::Path, name: &str, store: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join(name);
    let text = format!(
        "[store]\npath = \"{}\"\n\n[[accounts]]\nname = \"main\"\naccess_token = \"x\"\n",
        store.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

async fn pinbridge(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pinbridge"));
    cmd.arg("-c").arg(config).args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// `pinbridge store copy --to DIR` under `config` with one setting overridden by its variable.
async fn copy_with(
    config: &std::path::Path,
    to: &std::path::Path,
    (key, value): (&str, &str),
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pinbridge"));
    cmd.arg("-c")
        .arg(config)
        .args(["store", "copy", "--to", to.to_str().unwrap()])
        .env(key, value);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// Every record of the sled store at `path`, in export order.
async fn records_of(path: &std::path::Path) -> Vec<pinbridge::store::TransferRecord> {
    let store = crate::support::sled::open_retrying(path, None).await;
    let mut pages = transfer::Pages::new(&store);
    let mut out = Vec::new();
    while let Some(page) = pages.next().await.unwrap() {
        out.extend(page);
    }
    store.close().await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn export_import_and_copy_round_trip_a_sled_store_through_the_binary() {
    use crate::support::binary::output_text as text;
    let dir = tempfile::tempdir().unwrap();
    let (one, two, three) = (
        dir.path().join("one"),
        dir.path().join("two"),
        dir.path().join("three"),
    );
    {
        let store = crate::support::sled::open_retrying(&one, None).await;
        let target = pinbridge::store::Target {
            route: "0".into(),
            account: "main".into(),
            board: "B".into(),
            section: None,
        };
        let batch = (0..1_200)
            .map(|i| {
                let plan = IngestPlan {
                    targets: if i % 2 == 0 {
                        vec![target.clone()]
                    } else {
                        Vec::new()
                    },
                    skip_reason: (i % 2 == 1).then(|| "backfill: none".to_string()),
                    ..IngestPlan::default()
                };
                (seen_item(i), plan)
            })
            .collect();
        store.ingest_many(batch, 1).await.unwrap();
        store.close().await.unwrap();
    }
    let first = config_for(dir.path(), "one.toml", &one);
    let second = config_for(dir.path(), "two.toml", &two);
    let file = dir.path().join("export.jsonl");
    let out = pinbridge(&first, &["items", "export", "-o", file.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    let lines = std::fs::read_to_string(&file).unwrap().lines().count();
    assert_eq!(lines, 1 + 1_200, "a header and one line per item");

    let out = pinbridge(&second, &["items", "import", file.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("imported 1200 records"),
        "{}",
        text(&out)
    );
    let out = pinbridge(&second, &["items", "import", file.to_str().unwrap()]).await;
    assert!(
        text(&out).contains("imported 0 records (1200 already present"),
        "{}",
        text(&out)
    );
    assert_eq!(records_of(&one).await, records_of(&two).await);

    // `store copy` into a fresh directory, then refused into a non-empty one without --merge.
    let to = three.to_str().unwrap();
    let out = pinbridge(&first, &["store", "copy", "--to", to]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(records_of(&one).await, records_of(&three).await);
    let out = pinbridge(&first, &["store", "copy", "--to", to]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--merge"), "{}", text(&out));
    let out = pinbridge(&first, &["store", "copy", "--to", to, "--merge"]).await;
    assert!(text(&out).contains("copied 0 records"), "{}", text(&out));

    // A copy is how a store changes its page compression: the new store is made with the
    // configured one, the source keeps its own.
    let four = dir.path().join("four");
    let out = copy_with(&first, &four, ("PINBRIDGE_STORE__COMPRESSION", "zstd")).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(crate::support::sled::conf_says_compressed(&four));
    assert!(!crate::support::sled::conf_says_compressed(&one));
    assert_eq!(records_of(&one).await, records_of(&four).await);

    // And how a sled store moves to the fjall engine: the copy is written with the configured
    // engine, holds every record, and later opens as fjall whatever the config says.
    let five = dir.path().join("five");
    let out = copy_with(&first, &five, ("PINBRIDGE_STORE__ENGINE", "fjall")).await;
    assert!(out.status.success(), "{}", text(&out));
    let copied = crate::support::sled::open_retrying(&five, None).await;
    assert_eq!(copied.engine(), pinbridge::store::sled::Engine::Fjall);
    copied.close().await.unwrap();
    drop(copied);
    assert_eq!(records_of(&one).await, records_of(&five).await);
}

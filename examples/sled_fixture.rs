//! Writes a small but complete sled store through the store contract, plus a manifest of what
//! it holds, for the migration test (`tests/fixtures/sled-v1/README.md` says how the committed
//! fixture was made: this program, built at the release whose layout it captures).
//!
//!   cargo run --example sled_fixture -- <empty dir>
//!
//! Writes `<dir>/store` (the sled directory) and `<dir>/manifest.json`. Times are fixed, so two
//! runs differ only in job ids.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{
    AccountState, Attempt, ConfigRecord, ConfigRecordKind, Delivery, IngestPlan, ItemFilter,
    JobFilter, OnChange, PinRecord, SourceState, Target,
};

const T0: i64 = 1_700_000_000_000;
/// Far in the future: the delivery ids must still deduplicate when the test opens the store.
const KEEP_UNTIL: i64 = 4_000_000_000_000;

fn target(route: &str) -> Target {
    Target {
        route: route.into(),
        account: "main".into(),
        board: "b".into(),
        section: None,
    }
}

fn plan(routes: &[&str]) -> IngestPlan {
    IngestPlan {
        targets: routes.iter().map(|r| target(r)).collect(),
        ..IngestPlan::default()
    }
}

fn item(source: &str, key: &str, title: &str) -> Item {
    let mut item = Item::new(SourceId::new(source), DedupKey::new("id", key));
    item.title = title.into();
    item.description = format!("<p>{title}, described</p>");
    item.link = Some(format!("https://shop.example.com/{key}"));
    item.image_url = Some(format!("https://cdn.example.com/{key}.jpg"));
    item.image_alt = Some(format!("{title} photo"));
    item.published_ms = Some(T0 - 1000);
    item.categories = vec!["sale".into(), "new".into()];
    item.fields.insert("price".into(), "9.50".into());
    item
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: sled_fixture <dir>")?,
    );
    std::fs::create_dir_all(&out)?;
    let store = SledStore::open_async(out.join("store"), SledOptions::default(), None).await?;

    // Feed items: two pinned (one will be done, one dead), one skipped, one forgotten.
    for n in 1..=4 {
        store
            .ingest(
                &item("blog", &format!("post-{n}"), &format!("Post {n}")),
                plan(&["0"]),
                T0,
            )
            .await?;
    }
    let skipped = IngestPlan {
        skip_reason: Some("backfill: none".into()),
        ..plan(&["0"])
    };
    store
        .ingest(&item("blog", "post-old", "Old post"), skipped, T0)
        .await?;
    store
        .forget(&SourceId::new("blog"), &DedupKey::new("id", "post-4"))
        .await?;

    // Webhook items with delivery ids and replay guards; one delivery repeated.
    for n in 1..=6 {
        let mut p = plan(&["0", "upd"]);
        p.delivery = Some(Delivery {
            id: format!("delivery-{n}"),
            keep_until: KEEP_UNTIL,
        });
        p.replay_guard = Some(Delivery {
            id: format!("replay:digest-{n}"),
            keep_until: KEEP_UNTIL,
        });
        p.update_routes = vec!["upd".into()];
        p.on_change = OnChange::Update;
        let mut it = item("shop", &format!("product-{n}"), &format!("Product {n}"));
        it.updated_ms = Some(T0 + n);
        store.ingest(&it, p, T0 + 1).await?;
    }

    // Run the outbox: done (with a link and board pace), dead, unknown, retry, leased.
    let leases = store.claim(100, 60_000, T0 + 10).await?;
    let mut done_create_on_upd = None;
    for (n, lease) in leases.iter().enumerate() {
        match n % 6 {
            0 | 3 => {
                let link = lease.item.link.clone();
                store
                    .claim_link(lease, link.as_deref().unwrap_or(""), T0 + 11)
                    .await?;
                store.reserve_board_slot(lease, 1000, T0 + 11).await?;
                let record = PinRecord {
                    link: link.as_deref(),
                    note: None,
                };
                store
                    .complete_pin(lease, &format!("pin-{n}"), record, T0 + 12)
                    .await?;
                if lease.job.target.route == "upd" && done_create_on_upd.is_none() {
                    done_create_on_upd = Some(lease.item.clone());
                }
            }
            1 => {
                store.dead(lease, "board not found", T0 + 12).await?;
            }
            2 => {
                store.sending(lease, T0 + 60_000, T0 + 11).await?;
                store
                    .mark_unknown(lease, "timeout after send", T0 + 30_000, T0 + 12)
                    .await?;
            }
            4 => {
                store
                    .retry(lease, T0 + 90_000, "HTTP 503", Attempt::Counts, T0 + 12)
                    .await?;
            }
            _ => {} // stays leased: reopening turns it into `unknown`
        }
    }
    // A changed product whose Pin on the update route is made: an update job.
    if let Some(mut changed) = done_create_on_upd {
        changed.title = format!("{} (renamed)", changed.title);
        changed.updated_ms = changed.updated_ms.map(|t| t + 100);
        let mut p = plan(&["0", "upd"]);
        p.update_routes = vec!["upd".into()];
        p.on_change = OnChange::Update;
        store.ingest(&changed, p, T0 + 20).await?;
    }
    // A product removed at its source: deletes of its Pins.
    store
        .source_removed(
            &SourceId::new("shop"),
            &DedupKey::new("id", "product-6"),
            &["0".into()],
            T0 + 21,
        )
        .await?;

    store
        .adopt_links(
            "main",
            "b",
            &[(
                "https://elsewhere.example.com/x".into(),
                "pin-adopted".into(),
            )],
            true,
            T0 + 22,
        )
        .await?;
    let account = AccountState {
        blocked_until: Some(T0 + 5000),
        problem: Some("paused for a test".into()),
        tokens: Some(vec![1, 2, 3, 4]),
        day: Some(19_675),
        day_pins: 7,
        connects: Vec::new(),
    };
    store.set_account_state("main", &account).await?;
    let source = SourceState {
        etag: Some("\"etag-1\"".into()),
        last_poll: Some(T0),
        baselined: true,
        ..SourceState::default()
    };
    store
        .set_source_state(&SourceId::new("blog"), &source)
        .await?;
    let records = vec![
        ConfigRecord {
            kind: ConfigRecordKind::Source,
            id: "api-feed".into(),
            body: r#"{"id":"api-feed","kind":"feed","url":"https://blog.example.com/feed"}"#.into(),
        },
        ConfigRecord {
            kind: ConfigRecordKind::PauseOverride,
            id: "blog".into(),
            body: r#"{"paused":true}"#.into(),
        },
    ];
    store.write_config_records(&records, &[]).await?;

    // The manifest: everything as this build reads it back.
    let items = store.items(ItemFilter::default()).await?;
    let mut item_jobs = Vec::new();
    for stored in &items {
        let ids: Vec<String> = store
            .item_jobs(&stored.item.source, &stored.item.key)
            .await?
            .into_iter()
            .map(|j| j.id.0)
            .collect();
        item_jobs
            .push(json!({"source": stored.item.source.0, "key": stored.item.key.0, "jobs": ids}));
    }
    let jobs = store
        .jobs(JobFilter {
            limit: 0,
            ..JobFilter::default()
        })
        .await?;
    let stats = store.stats().await?;
    let mut link_holders = Vec::new();
    for stored in &items {
        if let Some(link) = &stored.item.link {
            link_holders.push(store.link_holder("main", "b", link).await?);
        }
    }
    let deliveries: Vec<String> = (1..=6).map(|n| format!("delivery-{n}")).collect();
    let manifest = json!({
        "items": items,
        "item_jobs": item_jobs,
        "jobs": jobs,
        "stats_items": stats.items,
        "jobs_by_state": stats.jobs_by_state,
        "deliveries": deliveries,
        "account": account,
        "source_state": source,
        "config_records": store.config_records().await?,
        "link_holders": link_holders,
        "board_last_pin": store.board_last_pin("main", "b").await?,
        "board_adopted": store.board_adopted("main", "b").await?,
    });
    store.close().await?;
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}

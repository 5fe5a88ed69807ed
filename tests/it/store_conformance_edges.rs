//! Conformance checks for replays and out-of-order deliveries, run on every backend by
//! `conformance!` in `store_conformance.rs` (kept apart only to keep that file's size down).

use std::sync::Arc;

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::{Delivery, IngestPlan, Ingested, JobFilter, OnChange, Target};

const T0: i64 = 1_700_000_000_000;

fn key() -> DedupKey {
    DedupKey::new("product", "7")
}

fn product(title: &str, updated_ms: Option<i64>) -> Item {
    let mut item = Item::new(SourceId::new("shop"), key());
    item.title = title.into();
    item.link = Some("https://shop.example/p/7".into());
    item.image_url = Some("https://shop.example/p/7.jpg".into());
    item.updated_ms = updated_ms;
    item
}

fn plan(delivery: Option<&str>, guard: Option<&str>, keep_until: i64) -> IngestPlan {
    let entry = |id: &str| Delivery {
        id: id.into(),
        keep_until,
    };
    IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "b".into(),
            section: None,
        }],
        on_change: OnChange::NewPin,
        delivery: delivery.map(entry),
        replay_guard: guard.map(entry),
        ..IngestPlan::default()
    }
}

async fn job_count(store: &Arc<dyn Store>) -> usize {
    store.jobs(JobFilter::default()).await.expect("jobs").len()
}

async fn stored_title(store: &Arc<dyn Store>) -> String {
    let source = SourceId::new("shop");
    let stored = store.item(&source, &key()).await.expect("item");
    stored.expect("stored item").item.title
}

/// A replay guard seen before makes the ingest a no-op whatever the delivery id, like a
/// repeated delivery id does.
pub async fn a_repeated_replay_guard_is_a_no_op(store: Arc<dyn Store>) {
    let keep = T0 + 60_000;
    let first = plan(Some("d-1"), Some("body-a"), keep);
    let outcome = store.ingest(&product("A", None), first, T0).await.unwrap();
    assert_eq!(outcome, Ingested::New { jobs: 1 });
    let changed = plan(Some("d-2"), Some("body-b"), keep);
    let outcome = store.ingest(&product("B", None), changed, T0 + 1).await;
    assert_eq!(outcome.unwrap(), Ingested::Changed { jobs: 1 });
    // The first request again under a fresh delivery id: refused by its guard.
    let a = product("A", None);
    let fresh_id = plan(Some("d-3"), Some("body-a"), keep);
    let outcome = store.ingest(&a, fresh_id, T0 + 2).await;
    assert_eq!(outcome.unwrap(), Ingested::Duplicate);
    let no_id = plan(None, Some("body-a"), keep);
    assert_eq!(
        store.ingest(&a, no_id, T0 + 3).await.unwrap(),
        Ingested::Duplicate
    );
    assert_eq!(stored_title(&store).await, "B");
    assert_eq!(job_count(&store).await, 2);
    // A known delivery id with a new guard is still the sender's retry.
    let retry = plan(Some("d-2"), Some("body-c"), keep);
    let outcome = store.ingest(&product("C", None), retry, T0 + 5).await;
    assert_eq!(outcome.unwrap(), Ingested::Duplicate);
    assert_eq!(stored_title(&store).await, "B");
}

/// Replay guards are forgotten with the delivery ids once their horizon has passed.
pub async fn replay_guards_expire_with_the_horizon(store: Arc<dyn Store>) {
    let guarded = plan(None, Some("body-a"), T0 + 100);
    let outcome = store.ingest(&product("A", None), guarded, T0).await;
    assert_eq!(outcome.unwrap(), Ingested::New { jobs: 1 });
    assert!(store.purge_deliveries(T0 + 50).await.unwrap() == 0);
    let early = plan(None, Some("body-a"), T0 + 200);
    let outcome = store.ingest(&product("B", None), early, T0 + 60).await;
    assert_eq!(outcome.unwrap(), Ingested::Duplicate);
    assert_eq!(store.purge_deliveries(T0 + 150).await.unwrap(), 1);
    let late = plan(None, Some("body-a"), T0 + 400);
    let outcome = store.ingest(&product("B", None), late, T0 + 160).await;
    assert_eq!(outcome.unwrap(), Ingested::Changed { jobs: 1 });
}

/// A version older than the stored one (by the source's own modification time) neither
/// overwrites it nor pins, even when it arrives under a new delivery id.
pub async fn an_older_version_never_overwrites_or_pins(store: Arc<dyn Store>) {
    let keep = T0 + 60_000;
    let v2 = product("v2", Some(2_000));
    let outcome = store.ingest(&v2, plan(Some("d-2"), None, keep), T0).await;
    assert_eq!(outcome.unwrap(), Ingested::New { jobs: 1 });
    let v1 = product("v1", Some(1_000));
    let outcome = store
        .ingest(&v1, plan(Some("d-1"), None, keep), T0 + 1)
        .await;
    assert_eq!(outcome.unwrap(), Ingested::Duplicate);
    assert_eq!(stored_title(&store).await, "v2");
    assert_eq!(job_count(&store).await, 1);

    // A newer copy with the same Pin fields keeps its time: a change made before it is older.
    let v3 = product("v2", Some(3_000));
    let outcome = store
        .ingest(&v3, plan(Some("d-3"), None, keep), T0 + 2)
        .await;
    assert_eq!(outcome.unwrap(), Ingested::Duplicate);
    let between = product("v2.5", Some(2_500));
    let outcome = store.ingest(&between, plan(Some("d-4"), None, keep), T0 + 3);
    assert_eq!(outcome.await.unwrap(), Ingested::Duplicate);
    let stored = store.item(&SourceId::new("shop"), &key()).await.unwrap();
    let stored = stored.expect("stored item");
    assert_eq!(
        (stored.item.title.as_str(), stored.item.updated_ms),
        ("v2", Some(3_000))
    );
    assert_eq!(job_count(&store).await, 1);

    // A newer change, or one whose time is unknown, is a change as before.
    let v4 = product("v4", Some(4_000));
    let outcome = store
        .ingest(&v4, plan(Some("d-5"), None, keep), T0 + 4)
        .await;
    assert_eq!(outcome.unwrap(), Ingested::Changed { jobs: 1 });
    let untimed = product("v5", None);
    let outcome = store.ingest(&untimed, plan(Some("d-6"), None, keep), T0 + 5);
    assert_eq!(outcome.await.unwrap(), Ingested::Changed { jobs: 1 });
    assert_eq!(stored_title(&store).await, "v5");
    assert_eq!(job_count(&store).await, 3);
}

//! Items and deliveries: dedup on ingest, plans with and without jobs, delivery ids, forget,
//! and the counts kept on write.

use std::sync::Arc;

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::store::*;

use super::{LEASE, T0, all_jobs, item, plan, src, with_delivery};

pub(super) async fn new_duplicate_changed(store: Arc<dyn Store>) {
    let a = item("1", "First");
    assert_eq!(
        store.ingest(&a, plan(&["b1"]), T0).await.unwrap(),
        Ingested::New { jobs: 1 }
    );
    assert_eq!(
        store.ingest(&a, plan(&["b1"]), T0 + 1).await.unwrap(),
        Ingested::Duplicate
    );
    // Fields a Pin does not show do not make a change.
    let mut same = a.clone();
    same.fields.insert("price".into(), "9".into());
    assert_eq!(
        store.ingest(&same, plan(&["b1"]), T0 + 2).await.unwrap(),
        Ingested::Duplicate
    );
    let renamed = item("1", "Renamed");
    assert_eq!(
        store.ingest(&renamed, plan(&["b1"]), T0 + 3).await.unwrap(),
        Ingested::Changed { jobs: 0 }
    );
    let stored = store.item(&src(), &a.key).await.unwrap().expect("item");
    assert_eq!(stored.item.title, "Renamed");
    assert_eq!(stored.fingerprint, renamed.fingerprint());
    assert_eq!(stored.changes, 1);
    assert_eq!(stored.first_seen, T0);
    assert_eq!(stored.last_seen, T0 + 3);
    assert_eq!(stored.disposition, ItemDisposition::Queued);
    // The change queued nothing under the default `ignore` policy.
    assert_eq!(store.item_jobs(&src(), &a.key).await.unwrap().len(), 1);
    // The changed fields are now the known ones.
    assert_eq!(
        store.ingest(&renamed, plan(&["b1"]), T0 + 4).await.unwrap(),
        Ingested::Duplicate
    );
}

pub(super) async fn changed_under_new_pin_queues_jobs(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b1"]), T0)
        .await
        .unwrap();
    let mut p = plan(&["b1", "b2"]);
    p.on_change = OnChange::NewPin;
    assert_eq!(
        store.ingest(&item("1", "B"), p, T0 + 1).await.unwrap(),
        Ingested::Changed { jobs: 2 }
    );
    let jobs = store
        .item_jobs(&src(), &DedupKey::new("guid", "1"))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(
        jobs.iter()
            .all(|j| matches!(j.state, JobState::Pending { .. }))
    );
}

pub(super) async fn skip_reason_records_without_jobs(store: Arc<dyn Store>) {
    let mut p = plan(&["b1"]);
    p.skip_reason = Some("backfill: none".into());
    assert_eq!(
        store.ingest(&item("1", "A"), p, T0).await.unwrap(),
        Ingested::New { jobs: 0 }
    );
    let stored = store
        .item(&src(), &DedupKey::new("guid", "1"))
        .await
        .unwrap()
        .expect("skipped items are recorded");
    assert_eq!(
        stored.disposition,
        ItemDisposition::Skipped {
            reason: "backfill: none".into()
        }
    );
    assert!(all_jobs(&store).await.is_empty());
    assert!(store.claim(10, LEASE, T0 + 1).await.unwrap().is_empty());
    // A skipped item is still known: it will not pin later either.
    assert_eq!(
        store
            .ingest(&item("1", "A"), plan(&["b1"]), T0 + 2)
            .await
            .unwrap(),
        Ingested::Duplicate
    );
}

pub(super) async fn repeated_delivery_is_a_no_op(store: Arc<dyn Store>) {
    let first = with_delivery(plan(&["b1"]), "d-1", T0 + 1000);
    assert_eq!(
        store.ingest(&item("1", "A"), first, T0).await.unwrap(),
        Ingested::New { jobs: 1 }
    );
    // Same delivery id, different body: the sender's retry; nothing is recorded.
    let again = with_delivery(plan(&["b1", "b2"]), "d-1", T0 + 1000);
    assert_eq!(
        store
            .ingest(&item("2", "Other"), again, T0 + 1)
            .await
            .unwrap(),
        Ingested::Duplicate
    );
    assert!(
        store
            .item(&src(), &DedupKey::new("guid", "2"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(all_jobs(&store).await.len(), 1);
    // A new delivery of the same item is an ordinary duplicate.
    let other = with_delivery(plan(&["b1"]), "d-2", T0 + 1000);
    assert_eq!(
        store.ingest(&item("1", "A"), other, T0 + 2).await.unwrap(),
        Ingested::Duplicate
    );
}

pub(super) async fn concurrent_ingest_of_one_key_is_new_once(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.ingest(&item("1", "A"), plan(&["b1"]), T0).await })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Ingested::New { jobs: 1 } => new += 1,
            Ingested::Duplicate => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(new, 1);
    assert_eq!(all_jobs(&store).await.len(), 1);
}

pub(super) async fn ingest_many_keeps_order(store: Arc<dyn Store>) {
    store
        .ingest(&item("2", "B"), plan(&["b1"]), T0)
        .await
        .unwrap();
    let batch = vec![
        (item("1", "A"), plan(&["b1"])),
        (item("2", "B"), plan(&["b1"])),
        (item("3", "C"), plan(&["b1", "b2"])),
    ];
    let results = store.ingest_many(batch, T0 + 1).await.unwrap();
    assert_eq!(
        results,
        vec![
            Ingested::New { jobs: 1 },
            Ingested::Duplicate,
            Ingested::New { jobs: 2 }
        ]
    );
    let jobs: Vec<_> = all_jobs(&store)
        .await
        .into_iter()
        .filter(|j| j.created == T0 + 1)
        .collect();
    let keys: Vec<_> = jobs.iter().map(|j| j.item.as_str().to_string()).collect();
    assert_eq!(
        keys,
        ["guid:1", "guid:3", "guid:3"],
        "job ids follow batch order"
    );
    assert_eq!(jobs[1].target.board, "b1");
    assert_eq!(jobs[2].target.board, "b2");
}

pub(super) async fn forget_then_reingest_is_new(store: Arc<dyn Store>) {
    let a = item("1", "A");
    store.ingest(&a, plan(&["b1", "b2"]), T0).await.unwrap();
    let leased = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    assert!(store.forget(&src(), &a.key).await.unwrap());
    assert!(store.item(&src(), &a.key).await.unwrap().is_none());
    assert!(store.item_jobs(&src(), &a.key).await.unwrap().is_empty());
    assert!(
        all_jobs(&store).await.is_empty(),
        "unfinished jobs go with the item"
    );
    assert_eq!(
        store.complete(&leased, "pin", T0 + 1).await.unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert!(
        !store.forget(&src(), &a.key).await.unwrap(),
        "already forgotten"
    );
    assert_eq!(
        store.ingest(&a, plan(&["b1"]), T0 + 2).await.unwrap(),
        Ingested::New { jobs: 1 }
    );
}

/// A forgotten item's done jobs are its history (the Pins it made): when the key is ingested
/// again (an operator's replay forgets, then re-ingests), they are listed beside the new job.
pub(super) async fn forgotten_done_jobs_stay_the_items_history(store: Arc<dyn Store>) {
    let a = item("1", "A");
    store.ingest(&a, plan(&["b1"]), T0).await.unwrap();
    let leased = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    assert_eq!(
        store.complete(&leased, "pin-1", T0 + 1).await.unwrap(),
        LeaseOutcome::Applied
    );
    assert!(store.forget(&src(), &a.key).await.unwrap());
    assert_eq!(
        store.ingest(&a, plan(&["b1"]), T0 + 2).await.unwrap(),
        Ingested::New { jobs: 1 }
    );
    let jobs = store.item_jobs(&src(), &a.key).await.unwrap();
    let states: Vec<&str> = jobs.iter().map(|j| j.state.name()).collect();
    assert_eq!(states, ["done", "pending"], "{jobs:?}");
    assert_eq!(jobs[0].id, leased.job.id);
}

pub(super) async fn purge_deliveries_forgets_expired_ids(store: Arc<dyn Store>) {
    let p1 = with_delivery(plan(&["b"]), "d-1", T0 + 100);
    let p2 = with_delivery(plan(&["b"]), "d-2", T0 + 200);
    store.ingest(&item("1", "A"), p1, T0).await.unwrap();
    store.ingest(&item("2", "B"), p2, T0).await.unwrap();
    assert_eq!(store.purge_deliveries(T0 + 150).await.unwrap(), 1);
    assert_eq!(store.purge_deliveries(T0 + 150).await.unwrap(), 0);
    // d-1 is forgotten: a new item under that id is accepted; d-2 still deduplicates.
    let reuse = with_delivery(plan(&["b"]), "d-1", T0 + 500);
    assert_eq!(
        store
            .ingest(&item("3", "C"), reuse, T0 + 160)
            .await
            .unwrap(),
        Ingested::New { jobs: 1 }
    );
    let repeat = with_delivery(plan(&["b"]), "d-2", T0 + 200);
    assert_eq!(
        store
            .ingest(&item("4", "D"), repeat, T0 + 160)
            .await
            .unwrap(),
        Ingested::Duplicate
    );
}

pub(super) async fn stats_count_items_and_jobs(store: Arc<dyn Store>) {
    let empty = store.stats().await.unwrap();
    assert_eq!(empty.items, 0);
    assert_eq!(empty.jobs_by_state.get("pending"), Some(&0));
    let mut skip = plan(&[]);
    skip.skip_reason = Some("draft".into());
    store
        .ingest(&item("1", "A"), plan(&["b1", "b2"]), T0)
        .await
        .unwrap();
    store.ingest(&item("2", "B"), skip, T0).await.unwrap();
    let lease = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    store.complete(&lease, "pin-1", T0).await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.items, 2);
    assert_eq!(stats.jobs_by_state.get("pending"), Some(&1));
    assert_eq!(stats.jobs_by_state.get("done"), Some(&1));
    assert_eq!(stats.jobs_by_state.get("leased"), Some(&0));
    assert_eq!(stats.quarantined, 0);
    assert!(stats.size_on_disk > 0);
    let items = store
        .items(ItemFilter {
            source: Some(src()),
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    let none = store
        .items(ItemFilter {
            source: Some(SourceId::new("blo")),
            limit: 0,
        })
        .await
        .unwrap();
    assert!(
        none.is_empty(),
        "a source whose id is a prefix sees nothing"
    );
}

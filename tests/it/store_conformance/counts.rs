//! Counts kept on write (`stats`) and the newest-finished read (`recent_jobs`), for every
//! backend: after each kind of write the maintained counts equal a full recount.

use std::collections::BTreeMap;
use std::sync::Arc;

use pinbridge::store::prelude::*;
use pinbridge::store::{Attempt, ItemFilter, JobFilter, JobState, OnChange, PinRecord, StoreStats};

use super::{LEASE, T0, item, plan, src, with_delivery};

/// Items and jobs by state, counted one record at a time.
async fn recount(store: &Arc<dyn Store>) -> (u64, BTreeMap<String, u64>) {
    let items = store.items(ItemFilter::default()).await.expect("items");
    let mut by_state: BTreeMap<String, u64> =
        ["pending", "leased", "retry", "unknown", "done", "dead"]
            .iter()
            .map(|s| (s.to_string(), 0))
            .collect();
    for job in store.jobs(JobFilter::default()).await.expect("jobs") {
        *by_state.entry(job.state.name().to_string()).or_default() += 1;
    }
    (items.len() as u64, by_state)
}

/// The maintained counts equal a recount; returns them for further checks.
async fn exact(store: &Arc<dyn Store>, step: &str) -> StoreStats {
    let stats = store.stats().await.expect("stats");
    let (items, by_state) = recount(store).await;
    assert_eq!(stats.items, items, "items after {step}");
    assert_eq!(stats.jobs_by_state, by_state, "jobs by state after {step}");
    stats
}

pub async fn counts_stay_exact_across_every_write(store: Arc<dyn Store>) {
    exact(&store, "nothing").await;
    // Ingest: new with jobs, new skipped, duplicate, repeated delivery, changed (both policies).
    store
        .ingest(&item("1", "A"), plan(&["b1", "b2"]), T0)
        .await
        .unwrap();
    let mut skip = plan(&["b1"]);
    skip.skip_reason = Some("draft".into());
    store.ingest(&item("2", "B"), skip, T0).await.unwrap();
    store
        .ingest(&item("1", "A"), plan(&["b1"]), T0)
        .await
        .unwrap();
    let delivered = with_delivery(plan(&["b1"]), "d-1", T0 + LEASE);
    store
        .ingest(&item("3", "C"), delivered.clone(), T0)
        .await
        .unwrap();
    store.ingest(&item("4", "D"), delivered, T0).await.unwrap();
    store
        .ingest(&item("1", "A2"), plan(&["b1"]), T0 + 1)
        .await
        .unwrap();
    let mut renew = plan(&["b3"]);
    renew.on_change = OnChange::NewPin;
    store.ingest(&item("2", "B2"), renew, T0 + 1).await.unwrap();
    let batch = (5..9)
        .map(|n| (item(&n.to_string(), "E"), plan(&["b1"])))
        .collect();
    store.ingest_many(batch, T0 + 2).await.unwrap();
    let stats = exact(&store, "ingest").await;
    assert_eq!(stats.items, 7);
    assert_eq!(stats.jobs_by_state["pending"], 8);

    // The lease state machine: claim, extend, complete, complete_pin, retry, unknown, dead.
    let mut leases = store.claim(8, LEASE, T0 + 10).await.unwrap();
    assert_eq!(leases.len(), 8);
    exact(&store, "claim").await;
    store.extend(&leases[0], T0 + 2 * LEASE).await.unwrap();
    store.complete(&leases[0], "pin-0", T0 + 11).await.unwrap();
    let record = PinRecord {
        link: Some("https://example.com/x"),
        note: None,
    };
    store
        .complete_pin(&leases[1], "pin-1", record, T0 + 12)
        .await
        .unwrap();
    store
        .retry(&leases[2], T0 + 20, "503", Attempt::Counts, T0 + 13)
        .await
        .unwrap();
    store
        .mark_unknown(&leases[3], "timeout", T0 + 20, T0 + 14)
        .await
        .unwrap();
    store.dead(&leases[4], "400", T0 + 15).await.unwrap();
    // A fenced (stale) write changes nothing, so no count either.
    store
        .complete(&leases[0], "pin-again", T0 + 16)
        .await
        .unwrap();
    let stats = exact(&store, "lease holder writes").await;
    assert_eq!(stats.jobs_by_state["done"], 2);
    assert_eq!(stats.jobs_by_state["dead"], 1);
    assert_eq!(stats.jobs_by_state["leased"], 3);

    // Expired leases reclaimed, retry/unknown claimed again, revive, cancel.
    let later = T0 + 10 * LEASE;
    let again = store.claim(10, LEASE, later).await.unwrap();
    assert!(!again.is_empty());
    exact(&store, "reclaim").await;
    let dead_id = leases[4].job.id.clone();
    store.revive(&dead_id, later + 1).await.unwrap();
    exact(&store, "revive").await;
    assert!(
        store
            .cancel_job(&dead_id, "cancelled", later + 2)
            .await
            .unwrap()
    );
    exact(&store, "cancel").await;

    // Forget removes the item and its unfinished jobs; done jobs stay as history.
    let forgotten = leases.remove(0);
    assert!(store.forget(&src(), &forgotten.job.item).await.unwrap());
    assert!(store.forget(&src(), &item("2", "B").key).await.unwrap());
    assert!(!store.forget(&src(), &item("99", "Z").key).await.unwrap());
    let stats = exact(&store, "forget").await;
    assert_eq!(stats.items, 5);
    // Forgotten then seen again: a new item with new jobs.
    store
        .ingest(&item("1", "A"), plan(&["b1"]), later + 3)
        .await
        .unwrap();
    exact(&store, "re-ingest").await;
}

pub async fn recent_jobs_are_the_newest_finished_first(store: Arc<dyn Store>) {
    let batch = (0..6)
        .map(|n| (item(&n.to_string(), "A"), plan(&["b1"])))
        .collect();
    store.ingest_many(batch, T0).await.unwrap();
    let leases = store.claim(6, LEASE, T0).await.unwrap();
    // Finish out of creation order: the newest finished comes first, not the oldest created.
    for (i, lease) in leases.iter().enumerate().take(4).rev() {
        let at = T0 + 100 - i as i64;
        store
            .complete(lease, &format!("pin-{i}"), at)
            .await
            .unwrap();
    }
    store.dead(&leases[4], "first", T0 + 50).await.unwrap();
    store.dead(&leases[5], "second", T0 + 60).await.unwrap();
    let done = store.recent_jobs("done", 3).await.unwrap();
    let pins: Vec<&str> = done
        .iter()
        .map(|j| match &j.state {
            JobState::Done { pin_id, .. } => pin_id.as_str(),
            other => panic!("not done: {other:?}"),
        })
        .collect();
    assert_eq!(pins, ["pin-0", "pin-1", "pin-2"]);
    let dead = store.recent_jobs("dead", 10).await.unwrap();
    let ids: Vec<_> = dead.iter().map(|j| j.id.clone()).collect();
    assert_eq!(ids, [leases[5].job.id.clone(), leases[4].job.id.clone()]);
    // A revived job leaves the dead list; dead again, it is back at its new time.
    store.revive(&leases[4].job.id, T0 + 70).await.unwrap();
    let dead = store.recent_jobs("dead", 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let claimed = store.claim(1, LEASE, T0 + 80).await.unwrap().remove(0);
    store.dead(&claimed, "third", T0 + 90).await.unwrap();
    let dead = store.recent_jobs("dead", 10).await.unwrap();
    assert_eq!(dead[0].id, leases[4].job.id);
    assert_eq!(dead.len(), 2);
    assert!(store.recent_jobs("pending", 10).await.unwrap().is_empty());
}

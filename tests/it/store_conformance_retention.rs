//! Conformance checks for retention (`Retention::compact`): old payloads go, dedup and Pin
//! tracking stay, on every backend (instantiated by `store_conformance`).

use std::sync::Arc;

use pinbridge::store::follow::NO_SECOND_PIN;
use pinbridge::store::retention::Compacted;
use pinbridge::store::*;

use crate::store_conformance::{T0, item, plan};

const LEASE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// Walk the whole store `max` items per call, as the service does; the totals and the number
/// of calls.
async fn compact_all(
    store: &Arc<dyn Store>,
    older_than: i64,
    max: usize,
    now: i64,
) -> (u64, u64, usize) {
    let (mut items, mut jobs, mut calls) = (0, 0, 0);
    let mut after = None;
    loop {
        let Compacted {
            items: i,
            jobs: j,
            next,
        } = store.compact(after, older_than, max, now).await.unwrap();
        (items, jobs, calls) = (items + i, jobs + j, calls + 1);
        match next {
            Some(next) => after = Some(next),
            None => return (items, jobs, calls),
        }
    }
}

/// Ingest `key` and run its one create to done with Pin `pin`; returns the create job.
async fn pinned(store: &Arc<dyn Store>, key: &str, pin: &str, at: i64) -> Job {
    store
        .ingest(&item(key, "First"), plan(&["b"]), at)
        .await
        .unwrap();
    let lease = store.claim(1, LEASE, at).await.unwrap().remove(0);
    store.complete(&lease, pin, at).await.unwrap();
    store.job(&lease.job.id).await.unwrap().unwrap()
}

async fn stored(store: &Arc<dyn Store>, key: &str) -> StoredItem {
    let probe = item(key, "");
    store
        .item(&probe.source, &probe.key)
        .await
        .unwrap()
        .expect("the item is kept")
}

pub(crate) async fn compaction_keeps_dedup_and_drops_only_old_payloads(store: Arc<dyn Store>) {
    let create = pinned(&store, "old", "pin-1", T0).await;
    let mut versioned = item("versioned", "Chair");
    versioned.updated_ms = Some(100);
    let skipped = IngestPlan {
        skip_reason: Some("backfill: none".into()),
        ..plan(&[])
    };
    store.ingest(&versioned, skipped, T0).await.unwrap();
    store
        .ingest(&item("recent", "New"), plan(&[]), T0 + 2 * DAY)
        .await
        .unwrap();
    let before = stored(&store, "old").await;

    let now = T0 + 3 * DAY;
    // One item per call: the walk continues where the last call stopped.
    let (items, jobs, calls) = compact_all(&store, T0 + DAY, 1, now).await;
    assert_eq!(
        (items, jobs),
        (2, 0),
        "the two old items, not the recent one"
    );
    assert_eq!(
        calls, 4,
        "three calls of one item, then one that finds the end"
    );

    let after = stored(&store, "old").await;
    assert_eq!(after.compacted, Some(now));
    assert_eq!(after.item.title, "");
    assert_eq!(
        (after.item.link.as_ref(), after.item.image_url.as_ref()),
        (None, None)
    );
    assert_eq!(after.fingerprint, before.fingerprint);
    assert_eq!(
        (after.first_seen, after.last_seen, &after.disposition),
        (before.first_seen, before.last_seen, &before.disposition)
    );
    assert_eq!(stored(&store, "recent").await.compacted, None);
    assert_eq!(stored(&store, "recent").await.item.title, "New");
    let jobs = store.item_jobs(&create.source, &create.item).await.unwrap();
    assert_eq!(jobs, vec![create.clone()], "its done job is untouched");
    assert_eq!(
        compact_all(&store, T0 + DAY, 1, now).await.0,
        0,
        "nothing twice"
    );

    // The same item delivered again is still a duplicate: nothing is queued.
    let again = store
        .ingest(&item("old", "First"), plan(&["b"]), now + 1)
        .await
        .unwrap();
    assert_eq!(again, Ingested::Duplicate);
    assert_eq!(
        store
            .item_jobs(&create.source, &create.item)
            .await
            .unwrap()
            .len(),
        1
    );
    // An out-of-order older version still loses against the kept modification time.
    let mut older = item("versioned", "Stool");
    older.updated_ms = Some(50);
    let late = store.ingest(&older, plan(&["b"]), now + 2).await.unwrap();
    assert_eq!(late, Ingested::Duplicate);
    // A newer copy with the same Pin fields brings its payload back, and the mark goes.
    let mut newer = item("versioned", "Chair");
    newer.updated_ms = Some(200);
    let refreshed = store.ingest(&newer, plan(&["b"]), now + 3).await.unwrap();
    assert_eq!(refreshed, Ingested::Duplicate);
    let back = stored(&store, "versioned").await;
    assert_eq!((back.item.title.as_str(), back.compacted), ("Chair", None));
}

pub(crate) async fn a_changed_item_after_compaction_is_recorded_and_its_pins_follow(
    store: Arc<dyn Store>,
) {
    let create = pinned(&store, "1", "pin-1", T0).await;
    let now = T0 + 2 * DAY;
    assert_eq!(compact_all(&store, T0 + DAY, 10, now).await.0, 1);

    let mut changes = plan(&["b"]);
    changes.update_routes = vec!["0".into()];
    let changed = store
        .ingest(&item("1", "Second"), changes, now)
        .await
        .unwrap();
    assert_eq!(changed, Ingested::Changed { jobs: 1 });
    let recorded = stored(&store, "1").await;
    assert_eq!(
        (recorded.item.title.as_str(), recorded.compacted),
        ("Second", None)
    );
    assert_eq!(recorded.last_seen, now);
    let lease = store.claim(1, LEASE, now).await.unwrap().remove(0);
    assert_eq!(
        lease.job.kind,
        JobKind::Update {
            of: create.id.clone(),
            pin_id: "pin-1".into()
        }
    );
    assert_eq!(
        lease.item.title, "Second",
        "the update renders the new payload"
    );
    // Its update still runs: the item keeps its payload however old it gets meanwhile.
    assert_eq!(compact_all(&store, now + DAY, 10, now + 2 * DAY).await.0, 0);
    store.complete(&lease, "pin-1", now).await.unwrap();

    // Compacted again, a removal at the source still deletes the Pin the create made.
    assert_eq!(compact_all(&store, now + DAY, 10, now + 2 * DAY).await.0, 1);
    let removed = store
        .source_removed(
            &create.source,
            &create.item,
            &["0".to_string()],
            now + 3 * DAY,
        )
        .await
        .unwrap();
    assert_eq!(removed.deletes, 1);
    let jobs = store.item_jobs(&create.source, &create.item).await.unwrap();
    assert!(jobs.iter().any(|j| j.kind
        == JobKind::Delete {
            of: create.id.clone(),
            pin_id: Some("pin-1".into())
        }));
}

pub(crate) async fn items_whose_jobs_may_still_run_keep_their_payload(store: Arc<dyn Store>) {
    for key in ["leased", "unknown", "retry", "dead"] {
        store
            .ingest(&item(key, "L"), plan(&["b"]), T0)
            .await
            .unwrap();
    }
    let leases = store.claim(10, LEASE, T0).await.unwrap();
    assert_eq!(leases.len(), 4);
    let later = T0 + 100 * DAY;
    for lease in &leases {
        let key = lease.item.key.clone();
        if key == item("unknown", "").key {
            store
                .mark_unknown(lease, "timeout", later, T0)
                .await
                .unwrap();
        } else if key == item("retry", "").key {
            store
                .retry(lease, later, "502", Attempt::Counts, T0)
                .await
                .unwrap();
        } else if key == item("dead", "").key {
            // An operator may revive it: it would render the item again.
            store.dead(lease, "board gone", T0).await.unwrap();
        }
    }
    store
        .ingest(&item("pending", "P"), plan(&["b"]), T0)
        .await
        .unwrap();
    let now = T0 + 10 * DAY;
    assert_eq!(compact_all(&store, T0 + DAY, 10, now).await, (0, 0, 1));
    for key in ["pending", "leased", "unknown", "retry", "dead"] {
        let kept = stored(&store, key).await;
        assert_eq!(kept.compacted, None, "{key}");
        assert!(!kept.item.title.is_empty(), "{key}");
    }

    // Once its create is done, the item is compacted like any other.
    let lease = store.claim(1, LEASE, T0 + 1).await.unwrap().remove(0);
    assert_eq!(lease.item.key, item("pending", "").key);
    store.complete(&lease, "pin-9", T0 + 1).await.unwrap();
    assert_eq!(compact_all(&store, T0 + DAY, 10, now).await.0, 1);
    assert!(stored(&store, "pending").await.compacted.is_some());
}

pub(crate) async fn pin_history_survives_compaction(store: Arc<dyn Store>) {
    // A create that failed once and then made its Pin: the old error is left over.
    store
        .ingest(&item("1", "One"), plan(&["b"]), T0)
        .await
        .unwrap();
    let first = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    store
        .retry(
            &first,
            T0 + 1,
            "Pinterest answered 502",
            Attempt::Counts,
            T0,
        )
        .await
        .unwrap();
    let second = store.claim(1, LEASE, T0 + 1).await.unwrap().remove(0);
    store.complete(&second, "pin-1", T0 + 1).await.unwrap();
    // A create that found the link pinned already: its note says it made no Pin.
    store
        .ingest(&item("2", "Two"), plan(&["b"]), T0)
        .await
        .unwrap();
    let dup = store.claim(1, LEASE, T0 + 2).await.unwrap().remove(0);
    let note = format!("the link is on the board already as pin-1; {NO_SECOND_PIN}");
    let record = PinRecord {
        link: None,
        note: Some(&note),
    };
    store
        .complete_pin(&dup, "pin-1", record, T0 + 2)
        .await
        .unwrap();

    let source = item("1", "").source;
    let history = |key: &'static str| {
        let store = store.clone();
        let source = source.clone();
        async move {
            let jobs = store.item_jobs(&source, &item(key, "").key).await.unwrap();
            (pins_of(&jobs), jobs)
        }
    };
    let (pins_1, jobs_1) = history("1").await;
    let (pins_2, jobs_2) = history("2").await;
    assert_eq!(pins_1.len(), 1);
    assert!(pins_2.is_empty(), "a duplicate made no Pin");

    let (items, jobs, _) = compact_all(&store, T0 + DAY, 10, T0 + 2 * DAY).await;
    assert_eq!(
        (items, jobs),
        (2, 1),
        "one leftover error dropped, the note kept"
    );
    let (after_1, cut_1) = history("1").await;
    let (after_2, cut_2) = history("2").await;
    assert_eq!((after_1, after_2), (pins_1, pins_2));
    assert_eq!(cut_1[0].last_error, None);
    assert_eq!(
        (
            &cut_1[0].state,
            &cut_1[0].target,
            &cut_1[0].kind,
            cut_1[0].created
        ),
        (
            &jobs_1[0].state,
            &jobs_1[0].target,
            &jobs_1[0].kind,
            jobs_1[0].created
        )
    );
    assert_eq!(cut_2, jobs_2, "the duplicate's note stays");
    assert_eq!(
        store.stats().await.unwrap().jobs_by_state.get("done"),
        Some(&2)
    );
}

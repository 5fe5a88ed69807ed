//! Conformance checks for Pins that follow their item: the update and delete jobs a change or
//! a removal at the source queues, on every backend (instantiated by `store_conformance`).

use std::sync::Arc;

use pinbridge::store::follow::CANCELLED_BY_REMOVAL;
use pinbridge::store::*;

use crate::store_conformance::{T0, item, plan};

const LEASE: i64 = 60_000;

/// Ingest `key` and run its one create to done with Pin `pin`; returns the create job.
async fn pinned(store: &Arc<dyn Store>, key: &str, pin: &str, at: i64) -> Job {
    store
        .ingest(&item(key, "First"), plan(&["b"]), at)
        .await
        .unwrap();
    let lease = store.claim(1, LEASE, at).await.unwrap().remove(0);
    assert_eq!(lease.job.kind, JobKind::Create);
    store.complete(&lease, pin, at).await.unwrap();
    store.job(&lease.job.id).await.unwrap().unwrap()
}

fn updating(mut plan: IngestPlan) -> IngestPlan {
    plan.update_routes = vec!["0".into()];
    plan
}

pub(crate) async fn a_change_under_update_queues_one_update_of_the_pin_made(store: Arc<dyn Store>) {
    let create = pinned(&store, "1", "pin-1", T0).await;
    let key = create.item.clone();
    let changed = store
        .ingest(&item("1", "Second"), updating(plan(&["b"])), T0 + 10)
        .await
        .unwrap();
    assert_eq!(changed, Ingested::Changed { jobs: 1 });
    let jobs = store.item_jobs(&create.source, &key).await.unwrap();
    let update = jobs
        .iter()
        .find(|j| !j.kind.is_create())
        .expect("an update");
    assert_eq!(
        update.kind,
        JobKind::Update {
            of: create.id.clone(),
            pin_id: "pin-1".into()
        }
    );
    assert_eq!(update.target, create.target);
    assert_eq!(update.state, JobState::Pending { run_at: T0 + 10 });

    // Another change while that update still waits: it will read the newest item, no second.
    let again = store
        .ingest(&item("1", "Third"), updating(plan(&["b"])), T0 + 20)
        .await
        .unwrap();
    assert_eq!(again, Ingested::Changed { jobs: 0 });
    let lease = store.claim(1, LEASE, T0 + 30).await.unwrap().remove(0);
    assert_eq!(
        lease.job.id, update.id,
        "the update is an outbox job like a create"
    );
    assert_eq!(lease.item.title, "Third", "it carries the newest item");

    // Without `update`, a change queues nothing.
    let ignored = store
        .ingest(&item("1", "Fourth"), plan(&["b"]), T0 + 40)
        .await
        .unwrap();
    assert_eq!(ignored, Ingested::Changed { jobs: 0 });
}

pub(crate) async fn a_removal_deletes_pins_made_cancels_unsent_creates_once(store: Arc<dyn Store>) {
    let create = pinned(&store, "1", "pin-1", T0).await;
    let routes = vec!["0".to_string()];

    // A route whose policy keeps Pins: nothing happens.
    let kept = store
        .source_removed(&create.source, &create.item, &[], T0 + 5)
        .await
        .unwrap();
    assert_eq!(kept, Removed::default());

    let removed = store
        .source_removed(&create.source, &create.item, &routes, T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        removed,
        Removed {
            deletes: 1,
            cancelled: 0
        }
    );
    let again = store
        .source_removed(&create.source, &create.item, &routes, T0 + 11)
        .await
        .unwrap();
    assert_eq!(
        again,
        Removed::default(),
        "a repeated removal queues nothing"
    );
    let jobs = store.item_jobs(&create.source, &create.item).await.unwrap();
    let delete = jobs.iter().find(|j| !j.kind.is_create()).expect("a delete");
    assert_eq!(
        delete.kind,
        JobKind::Delete {
            of: create.id.clone(),
            pin_id: Some("pin-1".into())
        }
    );
    let lease = store.claim(1, LEASE, T0 + 20).await.unwrap().remove(0);
    assert_eq!(lease.job.id, delete.id);

    // An item whose create was not sent yet: the create is cancelled, no delete queued.
    store
        .ingest(&item("2", "Other"), plan(&["b"]), T0 + 30)
        .await
        .unwrap();
    let pending = store
        .item_jobs(&create.source, &item("2", "").key)
        .await
        .unwrap()
        .remove(0);
    let removed = store
        .source_removed(&pending.source, &pending.item, &routes, T0 + 31)
        .await
        .unwrap();
    assert_eq!(
        removed,
        Removed {
            deletes: 0,
            cancelled: 1
        }
    );
    let cancelled = store.job(&pending.id).await.unwrap().unwrap();
    assert!(matches!(cancelled.state, JobState::Dead { .. }));
    assert_eq!(cancelled.last_error.as_deref(), Some(CANCELLED_BY_REMOVAL));

    // An unknown item changes nothing.
    let unknown = store
        .source_removed(&create.source, &item("9", "").key, &routes, T0 + 40)
        .await
        .unwrap();
    assert_eq!(unknown, Removed::default());
}

pub(crate) async fn a_removal_while_the_create_is_in_flight_waits_for_it(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "First"), plan(&["b"]), T0)
        .await
        .unwrap();
    let lease = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    store.sending(&lease, T0 + LEASE, T0).await.unwrap();
    let removed = store
        .source_removed(&lease.job.source, &lease.job.item, &["0".into()], T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        removed,
        Removed {
            deletes: 1,
            cancelled: 0
        }
    );
    let create = store.job(&lease.job.id).await.unwrap().unwrap();
    assert!(
        matches!(create.state, JobState::Leased { .. }),
        "left running"
    );
    let jobs = store
        .item_jobs(&lease.job.source, &lease.job.item)
        .await
        .unwrap();
    let delete = jobs.iter().find(|j| !j.kind.is_create()).expect("a delete");
    assert_eq!(
        delete.kind,
        JobKind::Delete {
            of: lease.job.id.clone(),
            pin_id: None
        },
        "ordered after the create: its Pin is not known yet"
    );
}

pub(crate) async fn an_item_back_after_a_removal_pins_again_on_the_deleting_routes(
    store: Arc<dyn Store>,
) {
    let create = pinned(&store, "1", "pin-1", T0).await;
    store
        .source_removed(&create.source, &create.item, &["0".into()], T0 + 10)
        .await
        .unwrap();
    let stored = store
        .item(&create.source, &create.item)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.removed,
        Some(RemovedMark {
            at: T0 + 10,
            routes: vec!["0".into()]
        })
    );
    // Republished with the very same fields: pinned again, once.
    let back = store
        .ingest(&item("1", "First"), plan(&["b"]), T0 + 20)
        .await
        .unwrap();
    assert_eq!(back, Ingested::Changed { jobs: 1 });
    let creates = store
        .item_jobs(&create.source, &create.item)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind.is_create())
        .count();
    assert_eq!(creates, 2, "a second create after the comeback");
    let stored = store
        .item(&create.source, &create.item)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.removed, None);
    let again = store
        .ingest(&item("1", "First"), plan(&["b"]), T0 + 30)
        .await
        .unwrap();
    assert_eq!(again, Ingested::Duplicate, "only the comeback pins again");
}

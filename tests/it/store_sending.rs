//! The send time of a create, on every backend: `sending` records it durably with the lease
//! extension, it survives the job's moves to `unknown` and back to a reconcile lease, and a
//! holder whose lease was reclaimed can neither extend nor move it.

use std::sync::Arc;

use pinbridge::store::LeaseOutcome;
use pinbridge::store::prelude::*;

use crate::store_conformance::{T0, item, plan};

pub(crate) async fn sending_records_when_the_create_went_out(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0)
        .await
        .unwrap();
    let lease = store.claim(1, 1_000, T0 + 10).await.unwrap().remove(0);
    assert_eq!(lease.job.create_sent, None, "nothing sent yet");
    assert_eq!(lease.job.sent_since(), T0, "bounded by the job's creation");
    assert_eq!(
        store.sending(&lease, T0 + 10_000, T0 + 20).await.unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&lease.job.id).await.unwrap().unwrap();
    assert_eq!(job.create_sent, Some(T0 + 20));
    assert!(
        store.claim(1, 1_000, T0 + 5_000).await.unwrap().is_empty(),
        "sending extended the lease"
    );
    assert_eq!(
        store
            .mark_unknown(&lease, "connection reset", T0 + 11_000, T0 + 30)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    let again = store.claim(1, 1_000, T0 + 11_000).await.unwrap().remove(0);
    assert!(again.reconcile);
    assert_eq!(
        again.job.create_sent,
        Some(T0 + 20),
        "the reconcile lease knows when the create went out"
    );
    assert_eq!(
        store
            .sending(&lease, T0 + 30_000, T0 + 11_001)
            .await
            .unwrap(),
        LeaseOutcome::LeaseLost,
        "the old holder cannot send"
    );
    let job = store.job(&lease.job.id).await.unwrap().unwrap();
    assert_eq!(
        job.create_sent,
        Some(T0 + 20),
        "unchanged by the fenced write"
    );
}

/// Retrying a dead job whose create went out (dead after failed reconciles, or cancelled while
/// unknown) must look for the Pin first: it comes back `unknown`, claimed for reconcile. A job
/// that never sent comes back `pending` as before.
pub(crate) async fn a_revived_job_that_sent_reconciles_first(store: Arc<dyn Store>) {
    let sent = item("sent", "A");
    store.ingest(&sent, plan(&["b"]), T0).await.unwrap();
    store
        .ingest(&item("unsent", "B"), plan(&["b"]), T0)
        .await
        .unwrap();
    let leases = store.claim(2, 1_000, T0 + 10).await.unwrap();
    assert_eq!(leases.len(), 2);
    for lease in &leases {
        if lease.job.item == sent.key {
            store.sending(lease, T0 + 10_000, T0 + 20).await.unwrap();
        }
        store.dead(lease, "gave up", T0 + 30).await.unwrap();
    }
    for lease in &leases {
        let revived = store.revive(&lease.job.id, T0 + 40).await.unwrap();
        let expected = if lease.job.item == sent.key {
            "unknown"
        } else {
            "pending"
        };
        assert_eq!(revived.state.name(), expected, "{:?}", lease.job.item);
    }
    let again = store.claim(2, 1_000, T0 + 50).await.unwrap();
    assert_eq!(again.len(), 2, "both run again");
    assert_eq!(again.iter().filter(|l| l.reconcile).count(), 1);
    for lease in again {
        assert_eq!(
            lease.reconcile,
            lease.job.item == sent.key,
            "only the job that sent reconciles first: {:?}",
            lease.job.item
        );
    }
}

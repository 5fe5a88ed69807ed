//! The outbox's promises under faults, on the real sled store: a worker whose lease was
//! reclaimed cannot record an outcome, and a job whose create may have been sent is reconciled
//! by every later holder until a reconcile decides.

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{Attempt, IngestPlan, JobState, LeaseOutcome, Target};

const T0: i64 = 1_790_000_000_000;

async fn store_with_one_job(dir: &tempfile::TempDir) -> SledStore {
    let store = SledStore::open_async(dir.path().join("store"), SledOptions::default(), None)
        .await
        .unwrap();
    let mut item = Item::new(SourceId::new("blog"), DedupKey::new("guid", "a"));
    item.title = "A".into();
    item.link = Some("https://blog.example/a".into());
    item.image_url = Some("https://blog.example/a.jpg".into());
    let plan = IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "Recipes".into(),
            section: None,
        }],
        ..IngestPlan::default()
    };
    store.ingest(&item, plan, T0).await.unwrap();
    store
}

#[tokio::test]
async fn a_worker_whose_lease_was_reclaimed_cannot_complete_or_fail_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_one_job(&dir).await;
    let slow = store.claim(1, 1_000, T0).await.unwrap().remove(0);
    // The slow worker stalls past its lease; another claims the job.
    let fast = store.claim(1, 1_000, T0 + 5_000).await.unwrap().remove(0);
    assert!(fast.token > slow.token, "fencing tokens grow");
    assert!(
        fast.reconcile,
        "an expired lease's create may have been sent"
    );
    assert!(
        store
            .extend(&slow, T0 + 60_000)
            .await
            .is_ok_and(|o| o == LeaseOutcome::LeaseLost),
        "the stale worker cannot extend (the engine checks this before sending a create)"
    );
    assert_eq!(
        store
            .complete(&slow, "pin-stale", T0 + 5_001)
            .await
            .unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert_eq!(
        store
            .retry(&slow, T0 + 9_000, "boom", Attempt::Counts, T0 + 5_001)
            .await
            .unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert_eq!(
        store.complete(&fast, "pin-1", T0 + 5_002).await.unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&fast.job.id).await.unwrap().unwrap();
    assert!(
        matches!(&job.state, JobState::Done { pin_id, .. } if pin_id == "pin-1"),
        "{job:?}"
    );
    assert_eq!(
        job.attempts, 0,
        "the stale worker's failure was not counted"
    );
}

#[tokio::test]
async fn a_failed_reconcile_keeps_the_job_unknown_so_the_next_holder_reconciles_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_one_job(&dir).await;
    let first = store.claim(1, 60_000, T0).await.unwrap().remove(0);
    assert!(!first.reconcile);
    store
        .mark_unknown(&first, "connection reset", T0 + 1_000, T0)
        .await
        .unwrap();
    let second = store.claim(1, 60_000, T0 + 1_000).await.unwrap().remove(0);
    assert!(second.reconcile);
    // The board listing for the reconcile fails (5xx, 429): the job waits and retries.
    for (attempt, at) in [(Attempt::Counts, 2_000), (Attempt::Free, 3_000)] {
        let lease = if at == 2_000 {
            second.clone()
        } else {
            store.claim(1, 60_000, T0 + 2_000).await.unwrap().remove(0)
        };
        assert!(lease.reconcile, "still reconciling before attempt at {at}");
        assert_eq!(
            store
                .retry(
                    &lease,
                    T0 + at,
                    "503 on the board listing",
                    attempt,
                    T0 + at - 1
                )
                .await
                .unwrap(),
            LeaseOutcome::Applied
        );
        let job = store.job(&lease.job.id).await.unwrap().unwrap();
        assert_eq!(job.state.name(), "unknown", "{job:?}");
    }
    let last = store.claim(1, 60_000, T0 + 3_000).await.unwrap().remove(0);
    assert!(
        last.reconcile,
        "a job whose create may have been sent is never created again without a reconcile"
    );
}

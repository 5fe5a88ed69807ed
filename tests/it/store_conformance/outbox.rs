//! The outbox: claims in due order, leases that expire or are extended, fenced writes, retry,
//! unknown jobs reconciled, dead letters revived or cancelled.

use std::sync::Arc;

use pinbridge::store::*;

use super::{LEASE, T0, all_jobs, item, plan};

pub(super) async fn claim_takes_due_jobs_in_due_order_up_to_max(store: Arc<dyn Store>) {
    // Ingested in this order, but due in the order 2, 3, 1.
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0 + 300)
        .await
        .unwrap();
    store
        .ingest(&item("2", "B"), plan(&["b"]), T0 + 100)
        .await
        .unwrap();
    store
        .ingest(&item("3", "C"), plan(&["b"]), T0 + 200)
        .await
        .unwrap();
    store
        .ingest(&item("4", "D"), plan(&["b"]), T0 + 5000)
        .await
        .unwrap();

    assert!(
        store.claim(10, LEASE, T0).await.unwrap().is_empty(),
        "nothing due yet"
    );
    let first = store.claim(2, LEASE, T0 + 1000).await.unwrap();
    let keys: Vec<_> = first
        .iter()
        .map(|l| l.item.key.as_str().to_string())
        .collect();
    assert_eq!(keys, ["guid:2", "guid:3"]);
    assert_eq!(first[0].item.title, "B", "a lease carries its item");
    assert!(
        first
            .iter()
            .all(|l| !l.reconcile && l.until == T0 + 1000 + LEASE)
    );
    let rest = store.claim(10, LEASE, T0 + 1000).await.unwrap();
    assert_eq!(
        rest.len(),
        1,
        "item 4 is not due yet and leased jobs are not taken twice"
    );
    assert_eq!(rest[0].item.key.as_str(), "guid:1");
    let job = store.job(&rest[0].job.id).await.unwrap().unwrap();
    assert!(matches!(job.state, JobState::Leased { token, .. } if token == rest[0].token));
    assert_eq!(job.attempts, 0, "claiming does not count an attempt");
    assert!(store.claim(0, LEASE, T0 + 9000).await.unwrap().is_empty());
}

pub(super) async fn expired_lease_is_reclaimed(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0)
        .await
        .unwrap();
    let first = store.claim(1, 1000, T0).await.unwrap().remove(0);
    assert!(
        store.claim(1, 1000, T0 + 1000).await.unwrap().is_empty(),
        "held until `until`"
    );
    let second = store.claim(1, 1000, T0 + 1001).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].job.id, first.job.id);
    assert!(
        second[0].token > first.token,
        "each lease gets a larger token"
    );
    assert!(
        second[0].reconcile,
        "the first holder may have sent the create: reconcile before creating"
    );
}

pub(super) async fn extend_keeps_a_lease(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0)
        .await
        .unwrap();
    let lease = store.claim(1, 1000, T0).await.unwrap().remove(0);
    assert_eq!(
        store.extend(&lease, T0 + 10_000).await.unwrap(),
        LeaseOutcome::Applied
    );
    assert!(store.claim(1, 1000, T0 + 5000).await.unwrap().is_empty());
    assert_eq!(store.claim(1, 1000, T0 + 10_001).await.unwrap().len(), 1);
    // The old holder lost it to the reclaim: extending no longer works.
    assert_eq!(
        store.extend(&lease, T0 + 20_000).await.unwrap(),
        LeaseOutcome::LeaseLost
    );
}

pub(super) async fn stale_lease_writes_are_fenced(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0)
        .await
        .unwrap();
    let old = store.claim(1, 1000, T0).await.unwrap().remove(0);
    let new = store.claim(1, 1000, T0 + 2000).await.unwrap().remove(0);
    let before = store.job(&old.job.id).await.unwrap().unwrap();

    let late = T0 + 2500;
    assert_eq!(
        store.complete(&old, "pin-old", late).await.unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert_eq!(
        store
            .retry(&old, late, "x", Attempt::Counts, late)
            .await
            .unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert_eq!(
        store.mark_unknown(&old, "x", late, late).await.unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert_eq!(
        store.dead(&old, "x", late).await.unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert_eq!(
        store.job(&old.job.id).await.unwrap().unwrap(),
        before,
        "a fenced write changes nothing"
    );

    assert_eq!(
        store.complete(&new, "pin-1", late).await.unwrap(),
        LeaseOutcome::Applied
    );
    let done = store.job(&new.job.id).await.unwrap().unwrap();
    assert_eq!(
        done.state,
        JobState::Done {
            pin_id: "pin-1".into(),
            at: late
        }
    );
    // Done is final: the same lease cannot write again, and nothing is claimable.
    assert_eq!(
        store.dead(&new, "x", late).await.unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert!(store.claim(10, 1000, T0 + 99_000).await.unwrap().is_empty());
}

pub(super) async fn retry_counts_or_not(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0)
        .await
        .unwrap();
    let lease = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    let at = T0 + 5000;
    assert_eq!(
        store
            .retry(&lease, at, "HTTP 500", Attempt::Counts, T0 + 1)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&lease.job.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Retry { at });
    assert_eq!(job.attempts, 1);
    assert_eq!(job.last_error.as_deref(), Some("HTTP 500"));

    assert!(
        store.claim(1, LEASE, at - 1).await.unwrap().is_empty(),
        "not before `at`"
    );
    let lease = store.claim(1, LEASE, at).await.unwrap().remove(0);
    assert_eq!(lease.job.attempts, 1);
    store
        .retry(&lease, at + 10, "HTTP 429", Attempt::Free, at)
        .await
        .unwrap();
    let job = store.job(&lease.job.id).await.unwrap().unwrap();
    assert_eq!(job.attempts, 1, "a rate limit does not use an attempt");
    assert_eq!(job.last_error.as_deref(), Some("HTTP 429"));
}

pub(super) async fn unknown_jobs_are_claimed_for_reconcile(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0)
        .await
        .unwrap();
    let lease = store.claim(1, 1000, T0).await.unwrap().remove(0);
    assert_eq!(
        store
            .mark_unknown(&lease, "timeout after send", T0 + 50, T0 + 10)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&lease.job.id).await.unwrap().unwrap();
    assert_eq!(
        job.state,
        JobState::Unknown {
            since: T0 + 10,
            at: T0 + 50
        }
    );
    assert_eq!(job.attempts, 1, "an ambiguous failure uses up an attempt");
    assert!(
        store.claim(1, 1000, T0 + 49).await.unwrap().is_empty(),
        "not before its retry time"
    );
    let again = store.claim(1, 1000, T0 + 50).await.unwrap().remove(0);
    assert!(again.reconcile, "an unknown job must be reconciled");
    // If the reconciling worker dies too, the next holder still reconciles.
    let third = store.claim(1, 1000, T0 + 2000).await.unwrap().remove(0);
    assert!(third.reconcile);
    assert_eq!(third.job.id, lease.job.id);
}

pub(super) async fn dead_and_revive(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0)
        .await
        .unwrap();
    let lease = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    store
        .retry(&lease, T0, "boom", Attempt::Counts, T0)
        .await
        .unwrap();
    let lease = store.claim(1, LEASE, T0 + 1).await.unwrap().remove(0);
    assert_eq!(
        store.dead(&lease, "board not found", T0 + 2).await.unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&lease.job.id).await.unwrap().unwrap();
    assert!(matches!(&job.state, JobState::Dead { error, .. } if error == "board not found"));
    assert!(store.claim(1, LEASE, T0 + 99_999).await.unwrap().is_empty());
    let dead = store
        .jobs(JobFilter {
            state: Some("dead".into()),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);

    let revived = store.revive(&lease.job.id, T0 + 100).await.unwrap();
    assert_eq!(revived.state, JobState::Pending { run_at: T0 + 100 });
    assert_eq!(revived.attempts, 0);
    assert_eq!(store.claim(1, LEASE, T0 + 100).await.unwrap().len(), 1);

    let missing = store.revive(&JobId("no-such-job".into()), T0).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

pub(super) async fn a_failed_reconcile_stays_unknown(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b"]), T0)
        .await
        .unwrap();
    let lease = store.claim(1, 1000, T0).await.unwrap().remove(0);
    store
        .mark_unknown(&lease, "timeout after send", T0 + 10, T0)
        .await
        .unwrap();
    let reconciling = store.claim(1, 1000, T0 + 10).await.unwrap().remove(0);
    assert!(reconciling.reconcile);
    // Listing the board failed: try again later, but the create may still have happened.
    store
        .retry(
            &reconciling,
            T0 + 100,
            "HTTP 503 listing pins",
            Attempt::Counts,
            T0 + 20,
        )
        .await
        .unwrap();
    let job = store.job(&lease.job.id).await.unwrap().unwrap();
    assert!(
        matches!(job.state, JobState::Unknown { at, .. } if at == T0 + 100),
        "{:?}",
        job.state
    );
    let next = store.claim(1, 1000, T0 + 100).await.unwrap().remove(0);
    assert!(next.reconcile, "the next holder reconciles too");
}

pub(super) async fn cancel_job_dead_letters_only_queued_jobs(store: Arc<dyn Store>) {
    store
        .ingest(&item("1", "A"), plan(&["b1", "b2", "b3"]), T0)
        .await
        .unwrap();
    let leased = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    let jobs = all_jobs(&store).await;
    let queued: Vec<_> = jobs.iter().filter(|j| j.id != leased.job.id).collect();
    assert_eq!(queued.len(), 2);
    assert!(
        store
            .cancel_job(&queued[0].id, "cancelled: source deleted", T0 + 5)
            .await
            .unwrap()
    );
    assert!(
        !store
            .cancel_job(&leased.job.id, "cancelled: source deleted", T0 + 5)
            .await
            .unwrap(),
        "a running job is not cancelled under its worker"
    );
    assert!(
        !store
            .cancel_job(&queued[0].id, "again", T0 + 6)
            .await
            .unwrap(),
        "a dead job stays as it is"
    );
    let cancelled = store.job(&queued[0].id).await.unwrap().unwrap();
    assert!(
        matches!(&cancelled.state, JobState::Dead { error, at } if error == "cancelled: source deleted" && *at == T0 + 5),
        "{:?}",
        cancelled.state
    );
    // Never claimed again, and revivable like any dead job.
    let claimed = store.claim(10, LEASE, T0 + 10 * LEASE).await.unwrap();
    assert!(claimed.iter().all(|l| l.job.id != queued[0].id));
    let revived = store.revive(&queued[0].id, T0 + 20 * LEASE).await.unwrap();
    assert!(matches!(revived.state, JobState::Pending { .. }));
    assert_eq!(
        store
            .job(&leased.job.id)
            .await
            .unwrap()
            .unwrap()
            .state
            .name(),
        "leased"
    );
}

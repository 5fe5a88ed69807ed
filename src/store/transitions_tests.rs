//! Unit tests of the job state machine, without a backend.

use super::*;
use crate::item::{DedupKey, Item, SourceId};
use crate::store::{JobId, JobKind, Target};

fn job(state: JobState) -> Job {
    Job {
        id: JobId("j1".into()),
        source: SourceId::new("s"),
        item: DedupKey("k".into()),
        target: Target {
            route: "r".into(),
            account: "a".into(),
            board: "b".into(),
            section: None,
        },
        state,
        attempts: 2,
        last_error: None,
        created: 1,
        updated: 1,
        create_sent: None,
        kind: JobKind::Create,
    }
}

fn lease_of(job: &Job) -> Lease {
    let JobState::Leased {
        token,
        until,
        reconcile,
    } = job.state
    else {
        panic!("not leased: {:?}", job.state);
    };
    Lease {
        job: job.clone(),
        item: Item::new(job.source.clone(), job.item.clone()),
        token,
        until,
        reconcile,
    }
}

fn leased(reconcile: bool) -> Job {
    job(JobState::Leased {
        token: LeaseToken(7),
        until: 100,
        reconcile,
    })
}

#[test]
fn runnable_when_due_and_leases_only_after_they_run_out() {
    assert!(runnable(&JobState::Pending { run_at: 5 }, 5));
    assert!(!runnable(&JobState::Retry { at: 6 }, 5));
    assert!(runnable(&JobState::Unknown { since: 0, at: 5 }, 5));
    let lease = leased(false).state;
    assert!(!runnable(&lease, 100));
    assert!(runnable(&lease, 101));
    assert!(!runnable(
        &JobState::Dead {
            error: "x".into(),
            at: 0
        },
        i64::MAX
    ));
    assert_eq!(
        due(&JobState::Done {
            pin_id: "p".into(),
            at: 3
        }),
        None
    );
    assert_eq!(due(&lease), Some(100));
}

#[test]
fn leasing_an_unknown_job_or_an_expired_lease_asks_for_reconcile() {
    let (fresh, reconcile) =
        lease(&job(JobState::Pending { run_at: 0 }), LeaseToken(1), 50, 10).unwrap();
    assert!(!reconcile && !lease_of(&fresh).reconcile);
    assert_eq!(fresh.updated, 10);
    let unknown = job(JobState::Unknown { since: 0, at: 0 });
    assert!(lease_of(&lease(&unknown, LeaseToken(2), 50, 10).unwrap().0).reconcile);
    assert!(lease(&leased(false), LeaseToken(8), 300, 200).unwrap().1);
    assert_eq!(lease(&leased(false), LeaseToken(8), 300, 100), None);
}

#[test]
fn a_write_with_a_stale_token_is_lost() {
    let stored = leased(false);
    let mut stale = lease_of(&stored);
    stale.token = LeaseToken(6);
    assert_eq!(
        complete(&stored, &stale, "p", None, 5),
        Err(LeaseOutcome::LeaseLost)
    );
    let done = job(JobState::Done {
        pin_id: "p".into(),
        at: 1,
    });
    assert_eq!(
        extend(&done, &lease_of(&stored), 500),
        Err(LeaseOutcome::LeaseLost)
    );
}

#[test]
fn extend_and_sending_keep_the_lease_and_record_the_send() {
    let stored = leased(false);
    let held = lease_of(&stored);
    let extended = extend(&stored, &held, 500).unwrap();
    assert_eq!(due(&extended.state), Some(500));
    assert_eq!(extended.updated, stored.updated);
    let sent = sending(&stored, &held, 600, 42).unwrap();
    assert_eq!(sent.create_sent, Some(42));
    assert_eq!(due(&sent.state), Some(600));
}

#[test]
fn complete_records_the_pin_and_a_note() {
    let stored = leased(false);
    let done = complete(&stored, &lease_of(&stored), "p9", Some("duplicate"), 9).unwrap();
    assert_eq!(
        done.state,
        JobState::Done {
            pin_id: "p9".into(),
            at: 9
        }
    );
    assert_eq!(done.last_error.as_deref(), Some("duplicate"));
    let plain = complete(&stored, &lease_of(&stored), "p9", None, 9).unwrap();
    assert_eq!(plain.last_error, None);
}

#[test]
fn retry_counts_attempts_and_a_reconcile_lease_stays_unknown() {
    let stored = leased(false);
    let again = retry(&stored, &lease_of(&stored), 50, "e", Attempt::Counts, 9).unwrap();
    assert_eq!(again.state, JobState::Retry { at: 50 });
    assert_eq!(again.attempts, 3);
    assert_eq!(again.last_error.as_deref(), Some("e"));
    let free = retry(&stored, &lease_of(&stored), 50, "429", Attempt::Free, 9).unwrap();
    assert_eq!(free.attempts, 2);
    let reconciling = leased(true);
    let kept = retry(
        &reconciling,
        &lease_of(&reconciling),
        50,
        "e",
        Attempt::Free,
        9,
    )
    .unwrap();
    assert_eq!(kept.state, JobState::Unknown { since: 9, at: 50 });
}

#[test]
fn mark_unknown_and_dead() {
    let stored = leased(false);
    let unknown = mark_unknown(&stored, &lease_of(&stored), "timeout", 70, 9).unwrap();
    assert_eq!(unknown.state, JobState::Unknown { since: 9, at: 70 });
    assert_eq!(unknown.attempts, 3);
    let gone = dead(&stored, &lease_of(&stored), "bad board", 9).unwrap();
    assert_eq!(
        gone.state,
        JobState::Dead {
            error: "bad board".into(),
            at: 9
        }
    );
    assert_eq!(gone.last_error.as_deref(), Some("bad board"));
}

#[test]
fn revive_only_dead_jobs_and_reconcile_when_a_create_was_sent() {
    let mut corpse = job(JobState::Dead {
        error: "x".into(),
        at: 1,
    });
    let back = revive(&corpse, 20).unwrap();
    assert_eq!(back.state, JobState::Pending { run_at: 20 });
    assert_eq!(back.attempts, 0);
    corpse.create_sent = Some(5);
    assert_eq!(
        revive(&corpse, 20).unwrap().state,
        JobState::Unknown { since: 20, at: 20 }
    );
    assert_eq!(revive(&job(JobState::Pending { run_at: 0 }), 20), None);
}

#[test]
fn cancel_leaves_running_and_finished_jobs_alone() {
    let cancelled = cancel(&job(JobState::Retry { at: 3 }), "stop", 8).unwrap();
    assert_eq!(
        cancelled.state,
        JobState::Dead {
            error: "stop".into(),
            at: 8
        }
    );
    assert_eq!(cancel(&leased(false), "stop", 8), None);
    assert_eq!(
        cancel(
            &job(JobState::Dead {
                error: "x".into(),
                at: 1
            }),
            "stop",
            8
        ),
        None
    );
}

#[test]
fn recovery_and_orphans() {
    let back = recovered(&leased(false), 30).unwrap();
    assert_eq!(back.state, JobState::Unknown { since: 30, at: 0 });
    assert_eq!(recovered(&job(JobState::Pending { run_at: 0 }), 30), None);
    let orphan = orphaned(&job(JobState::Pending { run_at: 0 }), "item gone", 4);
    assert_eq!(orphan.last_error.as_deref(), Some("item gone"));
    assert_eq!(due(&orphan.state), None);
}

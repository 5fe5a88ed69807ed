//! The backend-generic `Store` conformance suite (design §3).
//!
//! Each check takes a fresh store. `conformance!` instantiates every check as its own
//! `#[tokio::test]` for a backend; PostgreSQL adds one line at the bottom.

use std::any::Any;
use std::sync::Arc;

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{
    AccountState, Attempt, ConfigRecord, ConfigRecordKind, Delivery, IngestPlan, Ingested,
    ItemDisposition, ItemFilter, JobFilter, JobId, JobState, LeaseOutcome, OnChange, SourceState,
    Store, StoreError, Target,
};
use pinbridge::store::{BoardSlot, LinkClaim, PinRecord};

use crate::store_conformance_edges::{
    a_repeated_replay_guard_is_a_no_op, an_older_version_never_overwrites_or_pins,
    replay_guards_expire_with_the_horizon,
};
mod counts;
use crate::store_sending::{
    a_revived_job_that_sent_reconciles_first, sending_records_when_the_create_went_out,
};
use counts::{counts_stay_exact_across_every_write, recent_jobs_are_the_newest_finished_first};

/// A store under test plus whatever must live as long as it (a temp dir, a database).
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub _keep: Box<dyn Any + Send + Sync>,
    /// The pool of a PostgreSQL backend (same schema), for backend-specific checks.
    pub pg_pool: Option<sqlx::PgPool>,
}

pub async fn open_sled() -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open_async(dir.path().join("store"), SledOptions::default(), None)
        .await
        .expect("open sled store");
    Backend {
        store: Arc::new(store),
        _keep: Box::new(dir),
        pg_pool: None,
    }
}

macro_rules! conformance {
    ($backend:ident, $open:path) => {
        mod $backend {
            conformance!(@each $open;
                new_duplicate_changed, changed_under_new_pin_queues_jobs,
                skip_reason_records_without_jobs, repeated_delivery_is_a_no_op,
                concurrent_ingest_of_one_key_is_new_once, ingest_many_keeps_order,
                claim_takes_due_jobs_in_due_order_up_to_max, expired_lease_is_reclaimed,
                extend_keeps_a_lease, stale_lease_writes_are_fenced, retry_counts_or_not,
                unknown_jobs_are_claimed_for_reconcile, dead_and_revive,
                forget_then_reingest_is_new, source_and_account_state_roundtrip,
                purge_deliveries_forgets_expired_ids, stats_count_items_and_jobs,
                a_failed_reconcile_stays_unknown,
                board_slots_space_pins_in_arrival_order,
                one_link_one_holder_per_board, complete_pin_is_fenced_and_records_link_and_board,
                concurrent_account_updates_lose_nothing,
                source_lease_is_exclusive_renewable_and_expires,
                concurrent_source_lease_is_granted_once, write_slots_are_spaced_per_account,
                concurrent_write_slots_grant_the_burst_once,
                daily_pins_are_reserved_once_up_to_the_cap, account_blocks_keep_the_latest,
                config_records_roundtrip, cancel_job_dead_letters_only_queued_jobs,
                a_repeated_replay_guard_is_a_no_op, replay_guards_expire_with_the_horizon,
                an_older_version_never_overwrites_or_pins,
                counts_stay_exact_across_every_write,
                recent_jobs_are_the_newest_finished_first,
                sending_records_when_the_create_went_out,
                a_revived_job_that_sent_reconciles_first);
        }
    };
    (@each $open:path; $($check:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let backend = $open().await;
                super::$check(backend.store.clone()).await;
                backend.store.close().await.expect("close");
            }
        )+
    };
}

conformance!(sled, super::open_sled);

pub(crate) const T0: i64 = 1_700_000_000_000;
const LEASE: i64 = 60_000;

fn src() -> SourceId {
    SourceId::new("blog")
}

pub(crate) fn item(key: &str, title: &str) -> Item {
    let mut item = Item::new(src(), DedupKey::new("guid", key));
    item.title = title.into();
    item.link = Some(format!("https://example.com/{key}"));
    item.image_url = Some(format!("https://example.com/{key}.jpg"));
    item
}

fn target(board: &str) -> Target {
    Target {
        route: "0".into(),
        account: "main".into(),
        board: board.into(),
        section: None,
    }
}

pub(crate) fn plan(boards: &[&str]) -> IngestPlan {
    IngestPlan {
        targets: boards.iter().map(|b| target(b)).collect(),
        ..IngestPlan::default()
    }
}

fn with_delivery(mut plan: IngestPlan, id: &str, keep_until: i64) -> IngestPlan {
    plan.delivery = Some(Delivery {
        id: id.into(),
        keep_until,
    });
    plan
}

async fn all_jobs(store: &Arc<dyn Store>) -> Vec<pinbridge::store::Job> {
    store.jobs(JobFilter::default()).await.expect("jobs")
}

async fn new_duplicate_changed(store: Arc<dyn Store>) {
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

async fn changed_under_new_pin_queues_jobs(store: Arc<dyn Store>) {
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

async fn skip_reason_records_without_jobs(store: Arc<dyn Store>) {
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

async fn repeated_delivery_is_a_no_op(store: Arc<dyn Store>) {
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

async fn concurrent_ingest_of_one_key_is_new_once(store: Arc<dyn Store>) {
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

async fn ingest_many_keeps_order(store: Arc<dyn Store>) {
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

async fn claim_takes_due_jobs_in_due_order_up_to_max(store: Arc<dyn Store>) {
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

async fn expired_lease_is_reclaimed(store: Arc<dyn Store>) {
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

async fn extend_keeps_a_lease(store: Arc<dyn Store>) {
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

async fn stale_lease_writes_are_fenced(store: Arc<dyn Store>) {
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

async fn retry_counts_or_not(store: Arc<dyn Store>) {
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

async fn unknown_jobs_are_claimed_for_reconcile(store: Arc<dyn Store>) {
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

async fn dead_and_revive(store: Arc<dyn Store>) {
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

async fn forget_then_reingest_is_new(store: Arc<dyn Store>) {
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

async fn source_and_account_state_roundtrip(store: Arc<dyn Store>) {
    assert_eq!(
        store.source_state(&src()).await.unwrap(),
        SourceState::default()
    );
    assert_eq!(
        store.account_state("main").await.unwrap(),
        AccountState::default()
    );
    let mut s = SourceState {
        etag: Some("\"abc\"".into()),
        next_poll: Some(T0 + 60_000),
        error_count: 2,
        baselined: true,
        ..SourceState::default()
    };
    s.extra.insert("websub_lease".into(), "86400".into());
    store.set_source_state(&src(), &s).await.unwrap();
    assert_eq!(store.source_state(&src()).await.unwrap(), s);
    assert_eq!(
        store.source_state(&SourceId::new("other")).await.unwrap(),
        SourceState::default()
    );
    let a = AccountState {
        blocked_until: Some(T0 + 1),
        problem: None,
        tokens: Some(vec![1, 2, 3, 0, 255]),
        day: Some(20_718),
        day_pins: 7,
    };
    store.set_account_state("main", &a).await.unwrap();
    assert_eq!(store.account_state("main").await.unwrap(), a);
}

async fn purge_deliveries_forgets_expired_ids(store: Arc<dyn Store>) {
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

async fn stats_count_items_and_jobs(store: Arc<dyn Store>) {
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

/// A PostgreSQL store in a fresh schema of the database named by `PINBRIDGE_TEST_POSTGRES_URL`
/// (`tests/postgres/setup.sh` starts Debian's PostgreSQL and prints it). Without the variable the
/// check is skipped with a message, except under CI, where it fails.
pub async fn open_postgres() -> Backend {
    let Some(url) = std::env::var("PINBRIDGE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "PINBRIDGE_TEST_POSTGRES_URL is not set under CI: run tests/postgres/setup.sh first"
            );
        }
        eprintln!("SKIPPED: PINBRIDGE_TEST_POSTGRES_URL not set (run tests/postgres/setup.sh)");
        return open_sled().await;
    };
    let schema = format!("t{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url)
        .await
        .expect("connect to the test database");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .expect("create schema");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .after_connect({
            let schema = schema.clone();
            move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}")))
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            }
        })
        .connect(&url)
        .await
        .expect("connect");
    let store = pinbridge::store::postgres::PgStore::with_pool(pool.clone())
        .await
        .expect("migrate");
    Backend {
        store: Arc::new(store),
        _keep: Box::new(DropSchema { admin, schema }),
        pg_pool: Some(pool),
    }
}

/// Drops the test schema when the backend goes.
struct DropSchema {
    admin: sqlx::PgPool,
    schema: String,
}

impl Drop for DropSchema {
    fn drop(&mut self) {
        let (admin, schema) = (self.admin.clone(), self.schema.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&admin)
                    .await;
            });
        }
    }
}

conformance!(postgres, super::open_postgres);

async fn a_failed_reconcile_stays_unknown(store: Arc<dyn Store>) {
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

// --- Pacing (issue 5 §7): board slots, the link index, complete_pin ---

fn item_with_link(key: &str, source: &str, link: &str) -> Item {
    let mut item = Item::new(SourceId::new(source), DedupKey::new("guid", key));
    item.title = key.into();
    item.link = Some(link.into());
    item.image_url = Some(format!("https://example.com/{key}.jpg"));
    item
}

async fn board_slots_space_pins_in_arrival_order(store: Arc<dyn Store>) {
    for key in ["1", "2", "3"] {
        store
            .ingest(&item(key, key), plan(&["b"]), T0)
            .await
            .unwrap();
    }
    let leases = store.claim(3, LEASE, T0).await.unwrap();
    assert_eq!(leases.len(), 3);
    let spacing = 600_000;
    assert_eq!(store.board_last_pin("main", "b").await.unwrap(), None);
    let slots = [
        store
            .reserve_board_slot(&leases[0], spacing, T0)
            .await
            .unwrap(),
        store
            .reserve_board_slot(&leases[1], spacing, T0 + 1)
            .await
            .unwrap(),
        store
            .reserve_board_slot(&leases[2], spacing, T0 + 2)
            .await
            .unwrap(),
    ];
    assert_eq!(
        slots,
        [
            BoardSlot::Granted,
            BoardSlot::Wait { at: T0 + spacing },
            BoardSlot::Wait {
                at: T0 + 2 * spacing
            }
        ]
    );
    // Another board is not held up.
    store
        .ingest(&item("4", "4"), plan(&["other"]), T0)
        .await
        .unwrap();
    let other = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    assert_eq!(
        store.reserve_board_slot(&other, spacing, T0).await.unwrap(),
        BoardSlot::Granted
    );
    // The third comes back early: still its booked turn. The second goes at its slot.
    assert_eq!(
        store
            .reserve_board_slot(&leases[2], spacing, T0 + spacing)
            .await
            .unwrap(),
        BoardSlot::Wait {
            at: T0 + 2 * spacing
        }
    );
    assert_eq!(
        store
            .reserve_board_slot(&leases[1], spacing, T0 + spacing)
            .await
            .unwrap(),
        BoardSlot::Granted
    );
    assert_eq!(
        store.board_last_pin("main", "b").await.unwrap(),
        Some(T0 + spacing)
    );
}

async fn one_link_one_holder_per_board(store: Arc<dyn Store>) {
    let link = "https://shop.example/products/mug";
    store
        .ingest(&item_with_link("f1", "feed", link), plan(&["b", "c"]), T0)
        .await
        .unwrap();
    store
        .ingest(&item_with_link("w1", "hook", link), plan(&["b"]), T0)
        .await
        .unwrap();
    let leases = store.claim(3, LEASE, T0).await.unwrap();
    let (feed_b, feed_c, hook_b) = {
        let find = |source: &str, board: &str| {
            leases
                .iter()
                .find(|l| l.job.source.as_str() == source && l.job.target.board == board)
                .cloned()
                .expect("leased")
        };
        (find("feed", "b"), find("feed", "c"), find("hook", "b"))
    };
    assert_eq!(
        store.claim_link(&feed_b, link, T0).await.unwrap(),
        LinkClaim::Mine
    );
    assert_eq!(
        store.claim_link(&feed_b, link, T0 + 1).await.unwrap(),
        LinkClaim::Mine,
        "claiming again is idempotent"
    );
    assert_eq!(
        store.claim_link(&feed_c, link, T0).await.unwrap(),
        LinkClaim::Mine,
        "another board is another key"
    );
    // The webhook's job for the same board waits while the feed's is in flight…
    match store.claim_link(&hook_b, link, T0).await.unwrap() {
        LinkClaim::Busy { holder, at } => {
            assert_eq!(holder.job, feed_b.job.id);
            assert!(at > T0);
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    // …and once the feed's Pin is made, it is a duplicate of it.
    let record = PinRecord {
        link: Some(link),
        note: None,
    };
    assert_eq!(
        store
            .complete_pin(&feed_b, "pin-1", record, T0 + 5)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    match store.claim_link(&hook_b, link, T0 + 6).await.unwrap() {
        LinkClaim::Pinned(holder) => {
            assert_eq!(holder.pin_id.as_deref(), Some("pin-1"));
            assert_eq!(holder.source.as_str(), "feed");
        }
        other => panic!("expected Pinned, got {other:?}"),
    }
    // A holder that went to the dead letter frees the link.
    store.dead(&feed_c, "rejected", T0 + 7).await.unwrap();
    store
        .ingest(&item_with_link("w2", "hook", link), plan(&["c"]), T0 + 8)
        .await
        .unwrap();
    let hook_c = store.claim(1, LEASE, T0 + 8).await.unwrap().remove(0);
    assert_eq!(
        store.claim_link(&hook_c, link, T0 + 8).await.unwrap(),
        LinkClaim::Mine
    );
    let holder = store
        .link_holder("main", "c", link)
        .await
        .unwrap()
        .expect("held");
    assert_eq!(holder.job, hook_c.job.id);
}

async fn complete_pin_is_fenced_and_records_link_and_board(store: Arc<dyn Store>) {
    let link = "https://shop.example/a";
    store
        .ingest(&item_with_link("a", "feed", link), plan(&["b"]), T0)
        .await
        .unwrap();
    let first = store.claim(1, 1_000, T0).await.unwrap().remove(0);
    // The lease expires and another worker takes the job over: the old holder's write is void.
    let second = store.claim(1, 1_000, T0 + 2_000).await.unwrap().remove(0);
    let record = PinRecord {
        link: Some(link),
        note: None,
    };
    assert_eq!(
        store
            .complete_pin(&first, "stale", record, T0 + 2_001)
            .await
            .unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert_eq!(store.link_holder("main", "b", link).await.unwrap(), None);
    assert_eq!(store.board_last_pin("main", "b").await.unwrap(), None);
    assert_eq!(
        store
            .complete_pin(&second, "pin-9", record, T0 + 3_000)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&second.job.id).await.unwrap().unwrap();
    assert!(matches!(&job.state, JobState::Done { pin_id, .. } if pin_id == "pin-9"));
    let holder = store
        .link_holder("main", "b", link)
        .await
        .unwrap()
        .expect("indexed");
    assert_eq!(
        (holder.pin_id.as_deref(), &holder.job),
        (Some("pin-9"), &second.job.id)
    );
    assert_eq!(
        store.board_last_pin("main", "b").await.unwrap(),
        Some(T0 + 3_000)
    );

    // A duplicate completes with the existing Pin and a note; it is not a Pin for spacing.
    store
        .ingest(
            &item_with_link("a2", "hook", link),
            plan(&["b"]),
            T0 + 4_000,
        )
        .await
        .unwrap();
    let dup = store.claim(1, 1_000, T0 + 4_000).await.unwrap().remove(0);
    let note = "same link already pinned on this board by feed/guid:a";
    let record = PinRecord {
        link: None,
        note: Some(note),
    };
    assert_eq!(
        store
            .complete_pin(&dup, "pin-9", record, T0 + 5_000)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&dup.job.id).await.unwrap().unwrap();
    assert!(matches!(&job.state, JobState::Done { pin_id, .. } if pin_id == "pin-9"));
    assert_eq!(job.last_error.as_deref(), Some(note));
    assert_eq!(
        store.board_last_pin("main", "b").await.unwrap(),
        Some(T0 + 3_000)
    );
}

// --- Atomic account state updates ---

async fn concurrent_account_updates_lose_nothing(store: Arc<dyn Store>) {
    store
        .set_account_state(
            "main",
            &AccountState {
                problem: Some("kept".into()),
                ..AccountState::default()
            },
        )
        .await
        .unwrap();
    // Twenty tasks count Pins while twenty others push the block further: with a plain read
    // then write, some counts or blocks would be overwritten.
    let mut tasks = Vec::new();
    for i in 0..20i64 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.update_account_state("main", Box::new(|st| st.day_pins += 1))
                .await
                .unwrap();
        }));
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.update_account_state(
                "main",
                Box::new(move |st| {
                    st.blocked_until = Some(st.blocked_until.unwrap_or(0).max(T0 + i))
                }),
            )
            .await
            .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let state = store.account_state("main").await.unwrap();
    assert_eq!(state.day_pins, 20);
    assert_eq!(state.blocked_until, Some(T0 + 19));
    assert_eq!(state.problem.as_deref(), Some("kept"));
    let other = store
        .update_account_state("other", Box::new(|st| st.day = Some(3)))
        .await
        .unwrap();
    assert_eq!(
        other.day,
        Some(3),
        "a missing record starts from the default"
    );
}

// ---- Replicas (issue 7): source leases and shared account quotas. ----

async fn source_lease_is_exclusive_renewable_and_expires(store: Arc<dyn Store>) {
    let feed = SourceId::new("feed");
    let a = store
        .try_lease_source(&feed, "a", T0 + 1000, T0)
        .await
        .unwrap()
        .expect("a free source is leased");
    assert_eq!(
        store
            .try_lease_source(&feed, "b", T0 + 1010, T0 + 10)
            .await
            .unwrap(),
        None,
        "another holder waits while the lease runs"
    );
    assert_eq!(
        store
            .try_lease_source(&feed, "a", T0 + 1500, T0 + 500)
            .await
            .unwrap(),
        Some(a),
        "the holder extends its lease and keeps its token"
    );
    assert_eq!(
        store
            .try_lease_source(&feed, "b", T0 + 2400, T0 + 1400)
            .await
            .unwrap(),
        None,
        "the extension counts"
    );
    let other = SourceId::new("other");
    assert!(
        store
            .try_lease_source(&other, "b", T0 + 2400, T0 + 1400)
            .await
            .unwrap()
            .is_some(),
        "leases are per source"
    );
    let b = store
        .try_lease_source(&feed, "b", T0 + 2500, T0 + 1500)
        .await
        .unwrap()
        .expect("an expired lease is taken over");
    assert!(b > a, "a new lease gets a larger token");
    assert_eq!(
        store
            .try_lease_source(&feed, "a", T0 + 2600, T0 + 1600)
            .await
            .unwrap(),
        None,
        "the old holder cannot renew a lease taken over"
    );
    store.release_source(&feed, a).await.unwrap();
    assert_eq!(
        store
            .try_lease_source(&feed, "a", T0 + 2700, T0 + 1700)
            .await
            .unwrap(),
        None,
        "releasing with a stale token does nothing"
    );
    store.release_source(&feed, b).await.unwrap();
    let c = store
        .try_lease_source(&feed, "a", T0 + 2700, T0 + 1700)
        .await
        .unwrap()
        .expect("a released source is free at once");
    assert!(c > b);
}

async fn concurrent_source_lease_is_granted_once(store: Arc<dyn Store>) {
    let feed = SourceId::new("feed");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, feed) = (store.clone(), feed.clone());
            tokio::spawn(async move {
                store
                    .try_lease_source(&feed, &format!("replica-{i}"), T0 + 60_000, T0)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        granted += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(
        granted, 1,
        "exactly one of 16 racing holders gets the lease"
    );
}

async fn write_slots_are_spaced_per_account(store: Arc<dyn Store>) {
    // 60 a minute with a burst of 3: three at once, then one a second.
    for i in 0..3 {
        assert_eq!(
            store.take_write_slot("main", 60.0, 3, T0).await.unwrap(),
            Ok(()),
            "burst slot {i}"
        );
    }
    assert_eq!(
        store.take_write_slot("main", 60.0, 3, T0).await.unwrap(),
        Err(T0 + 1000),
        "the fourth waits one interval"
    );
    assert_eq!(
        store.take_write_slot("other", 60.0, 3, T0).await.unwrap(),
        Ok(()),
        "accounts are paced separately"
    );
    assert_eq!(
        store
            .take_write_slot("main", 60.0, 3, T0 + 1000)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        store
            .take_write_slot("main", 60.0, 3, T0 + 1000)
            .await
            .unwrap(),
        Err(T0 + 2000)
    );
    // A slower rate (after a 429) spaces the next slots wider.
    assert_eq!(
        store
            .take_write_slot("main", 30.0, 1, T0 + 60_000)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        store
            .take_write_slot("main", 30.0, 1, T0 + 60_000)
            .await
            .unwrap(),
        Err(T0 + 62_000)
    );
}

async fn concurrent_write_slots_grant_the_burst_once(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_write_slot("main", 60.0, 5, T0).await.unwrap() })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        taken += usize::from(t.await.unwrap().is_ok());
    }
    assert_eq!(taken, 5, "20 racing writers share one burst of 5");
}

async fn daily_pins_are_reserved_once_up_to_the_cap(store: Arc<dyn Store>) {
    let day = 20_000;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_daily_pin("main", day, 3).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.extend(t.await.unwrap());
    }
    counts.sort();
    assert_eq!(
        counts,
        vec![1, 2, 3],
        "three of ten racing creates fit the cap"
    );
    let quota = store.account_quota("main").await.unwrap();
    assert_eq!((quota.day, quota.day_pins), (Some(day), 3));
    assert_eq!(
        store.reserve_daily_pin("main", day + 1, 3).await.unwrap(),
        Some(1),
        "a new day starts from zero"
    );
    assert_eq!(
        store.reserve_daily_pin("main", day + 1, 0).await.unwrap(),
        None
    );
    let quota = store.account_quota("main").await.unwrap();
    assert_eq!((quota.day, quota.day_pins), (Some(day + 1), 1));
}

async fn account_blocks_keep_the_latest(store: Arc<dyn Store>) {
    assert_eq!(
        store.account_quota("main").await.unwrap(),
        pinbridge::store::AccountQuota::default()
    );
    store.block_account("main", T0 + 100).await.unwrap();
    store.block_account("main", T0 + 50).await.unwrap();
    assert_eq!(
        store.account_quota("main").await.unwrap().blocked_until,
        Some(T0 + 100),
        "an earlier block does not shorten a later one"
    );
    store.block_account("main", T0 + 200).await.unwrap();
    assert_eq!(
        store.account_quota("main").await.unwrap().blocked_until,
        Some(T0 + 200)
    );
    assert_eq!(
        store.account_quota("other").await.unwrap().blocked_until,
        None
    );
}

// --- Live configuration (issue 8) ---

fn record(kind: ConfigRecordKind, id: &str, body: &str) -> ConfigRecord {
    ConfigRecord {
        kind,
        id: id.into(),
        body: body.into(),
    }
}

async fn config_records_roundtrip(store: Arc<dyn Store>) {
    assert!(store.config_records().await.unwrap().is_empty());
    let feed = record(
        ConfigRecordKind::Source,
        "blog",
        r#"{"id":"blog","kind":"feed","url":"https://example.com/feed"}"#,
    );
    let route = record(
        ConfigRecordKind::Route,
        "main",
        r#"{"name":"main","source":"*"}"#,
    );
    let pause = record(
        ConfigRecordKind::PauseOverride,
        "blog",
        r#"{"paused":true}"#,
    );
    store
        .write_config_records(&[pause.clone(), route.clone(), feed.clone()], &[])
        .await
        .unwrap();
    // Sorted by kind (source, route, pause_override), then id; one id under two kinds is two records.
    assert_eq!(
        store.config_records().await.unwrap(),
        vec![feed.clone(), route.clone(), pause.clone()]
    );
    // One write replaces by kind and id, and removes, together; absent removals are ignored.
    let replaced = record(
        ConfigRecordKind::Source,
        "blog",
        r#"{"id":"blog","kind":"feed","url":"https://example.com/other"}"#,
    );
    store
        .write_config_records(
            std::slice::from_ref(&replaced),
            &[
                (ConfigRecordKind::PauseOverride, "blog".to_string()),
                (ConfigRecordKind::Route, "never-was".to_string()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.config_records().await.unwrap(), vec![replaced, route]);
    store
        .write_config_records(&[], &[(ConfigRecordKind::Source, "blog".to_string())])
        .await
        .unwrap();
    assert_eq!(store.config_records().await.unwrap().len(), 1);
}

async fn cancel_job_dead_letters_only_queued_jobs(store: Arc<dyn Store>) {
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

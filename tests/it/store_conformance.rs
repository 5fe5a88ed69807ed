//! The backend-generic `Store` conformance suite: every backend must pass the same checks, so
//! the service behaves the same whichever store it is given.
//!
//! Each check takes a fresh store. `conformance!` instantiates every check as its own
//! `#[tokio::test]` for a backend; PostgreSQL adds one line at the bottom.

use std::any::Any;
use std::sync::Arc;

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{Engine, SledOptions, SledStore};
use pinbridge::store::{Delivery, IngestPlan, JobFilter, Target};

use crate::store_conformance_edges::{
    a_repeated_replay_guard_is_a_no_op, an_older_version_never_overwrites_or_pins,
    replay_guards_expire_with_the_horizon,
};
use crate::store_conformance_follow::{
    a_change_under_update_queues_one_update_of_the_pin_made,
    a_removal_deletes_pins_made_cancels_unsent_creates_once,
    a_removal_while_the_create_is_in_flight_waits_for_it,
    an_item_back_after_a_removal_pins_again_on_the_deleting_routes,
};
use crate::store_conformance_retention::{
    a_changed_item_after_compaction_is_recorded_and_its_pins_follow,
    compaction_keeps_dedup_and_drops_only_old_payloads,
    items_whose_jobs_may_still_run_keep_their_payload, pin_history_survives_compaction,
};
use crate::store_sending::{
    a_revived_job_that_sent_reconciles_first, sending_records_when_the_create_went_out,
};

mod config;
mod counts;
mod items;
mod outbox;
mod pacing;
mod state;
mod transfer;

use config::*;
use counts::{counts_stay_exact_across_every_write, recent_jobs_are_the_newest_finished_first};
use items::*;
use outbox::*;
use pacing::*;
use state::*;
use transfer::*;

/// A store under test plus whatever must live as long as it (a temp dir, a database).
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub _keep: Box<dyn Any + Send + Sync>,
    /// The pool of a PostgreSQL backend (same schema), for backend-specific checks.
    pub pg_pool: Option<sqlx::PgPool>,
}

pub async fn open_sled() -> Backend {
    open_embedded(Engine::Sled).await
}

/// The embedded store on its second engine: the same checks must pass on fjall.
pub async fn open_fjall() -> Backend {
    open_embedded(Engine::Fjall).await
}

async fn open_embedded(engine: Engine) -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = SledOptions {
        engine,
        ..SledOptions::default()
    };
    let store = SledStore::open_async(dir.path().join("store"), opts, None)
        .await
        .expect("open the embedded store");
    assert_eq!(store.engine(), engine);
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
                forget_then_reingest_is_new, forgotten_done_jobs_stay_the_items_history,
                source_and_account_state_roundtrip,
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
                a_revived_job_that_sent_reconciles_first,
                a_change_under_update_queues_one_update_of_the_pin_made,
                a_removal_deletes_pins_made_cancels_unsent_creates_once,
                a_removal_while_the_create_is_in_flight_waits_for_it,
                an_item_back_after_a_removal_pins_again_on_the_deleting_routes,
                adopted_pins_hold_their_links_and_the_board_remembers,
                export_pages_and_import_adds_only_what_is_absent,
                an_import_keeps_follow_jobs_and_removal_marks,
                compaction_keeps_dedup_and_drops_only_old_payloads,
                a_changed_item_after_compaction_is_recorded_and_its_pins_follow,
                items_whose_jobs_may_still_run_keep_their_payload,
                pin_history_survives_compaction);
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
conformance!(fjall, super::open_fjall);

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

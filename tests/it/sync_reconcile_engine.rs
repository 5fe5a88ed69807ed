//! The engine after an ambiguous create: the send time is recorded before the create goes
//! out, a reconcile that cannot reach Pins that old within its budget leaves the job `unknown`
//! (saying why, creating nothing), and a later reconcile with room finds the Pin. Real sled
//! store, real sandbox on loopback with "create then fail" faults, one manual clock for both.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pinbridge::clock::Clock;
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::pinterest::sandbox::Faults;
use pinbridge::store::prelude::*;
use pinbridge::store::{IngestPlan, JobFilter, JobState, Target};
use pinbridge::sync::account::AccountRuntime;
use pinbridge::sync::reconcile::{ReconcileBudget, unknown_detail};
use pinbridge::sync::retry::Backoff;
use pinbridge::sync::template::Templates;
use pinbridge::sync::{Engine, RouteRuntime, SyncSettings};
use tokio::sync::Notify;

use crate::support::pinterest::{Env, pin, start, unlimited};

fn engine(env: &Env, store: Arc<dyn Store>, pages: u32) -> Engine {
    let account = AccountRuntime::new("main".into(), env.client(), 100_000, 100_000);
    let route = RouteRuntime {
        templates: Templates::from_sources(None, None, None, None).unwrap(),
        create_missing: false,
        board_privacy: None,
        board_description: None,
        min_spacing: None,
        update_fallback: Default::default(),
        adopt_existing: true,
    };
    let settings = SyncSettings {
        workers: 1,
        max_attempts: 5,
        backoff: Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
        },
        lease: Duration::from_secs(60),
        reconcile: ReconcileBudget {
            pages,
            time: Duration::from_secs(60),
            skew: Duration::from_secs(60),
        },
        idle_poll: Duration::from_millis(100),
        settle: Duration::from_secs(5),
    };
    Engine::new(
        store,
        Arc::new(env.clock.clone()),
        vec![Arc::new(account)],
        HashMap::from([("0".to_string(), route)]),
        settings,
        Arc::new(Notify::new()),
    )
}

#[tokio::test]
async fn an_undecided_reconcile_waits_unknown_and_a_later_one_finds_the_pin() {
    let env = start(unlimited()).await;
    let board = env.sandbox.create_board(&env.user, "Busy");
    let (_dir, store) = crate::support::sled::clocked_store(&env.clock).await;
    let mut item = Item::new(SourceId::new("blog"), DedupKey::new("guid", "a"));
    item.title = "Ours".into();
    item.link = Some("https://blog.example/ours".into());
    item.image_url = Some("https://blog.example/ours.jpg".into());
    let plan = IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "Busy".into(),
            section: None,
        }],
        ..IngestPlan::default()
    };
    store.ingest(&item, plan, env.clock.now_ms()).await.unwrap();

    // The create is applied, its answer lost.
    env.sandbox.set_faults(Faults {
        create_then_fail_rate: 1.0,
        ..Faults::default()
    });
    env.clock.advance_ms(1_000);
    let sent = env.clock.now_ms();
    let small = engine(&env, store.clone(), 1);
    small.run_due().await.unwrap();
    env.sandbox.set_faults(Faults::default());
    let job = store.jobs(JobFilter::default()).await.unwrap().remove(0);
    assert_eq!(job.state.name(), "unknown", "{job:?}");
    assert_eq!(job.create_sent, Some(sent), "the send time is on record");

    // More than a page (250) of other Pins lands on the board before the reconcile.
    let client = env.client();
    for i in 0..260 {
        env.clock.advance_ms(100);
        client
            .create_pin(&pin(&board, &format!("other {i}")))
            .await
            .unwrap();
    }
    assert_eq!(env.sandbox.pins().len(), 261);
    env.clock.advance_ms(60_000);
    small.run_due().await.unwrap();
    let job = store.jobs(JobFilter::default()).await.unwrap().remove(0);
    assert_eq!(job.state.name(), "unknown", "one page cannot tell: {job:?}");
    let why = job.last_error.clone().unwrap_or_default();
    assert!(why.contains("reconcile_pages (1)"), "{why}");
    assert!(why.contains("not creating it again"), "{why}");
    let detail = unknown_detail(&job, env.clock.now_ms()).unwrap();
    assert!(detail.contains("not created again"), "{detail}");
    assert_eq!(
        env.sandbox.pins().len(),
        261,
        "nothing was created on a guess"
    );
    assert_eq!(job.attempts, 1, "an undecided reconcile uses no attempt");

    // With room for two pages the next reconcile reaches it.
    let JobState::Unknown { at, .. } = job.state else {
        unreachable!()
    };
    env.clock.set_ms(at);
    let roomy = engine(&env, store.clone(), 2);
    roomy.run_due().await.unwrap();
    let job = store.jobs(JobFilter::default()).await.unwrap().remove(0);
    let ours = env
        .sandbox
        .pins()
        .into_iter()
        .find(|p| p.title.as_deref() == Some("Ours"))
        .expect("our Pin exists");
    assert!(
        matches!(&job.state, JobState::Done { pin_id, .. } if *pin_id == ours.id),
        "{job:?}"
    );
    assert_eq!(
        env.sandbox.pins().len(),
        261,
        "exactly one Pin for the item"
    );
}

//! The analytics collector in the real App over a real sled store in a temp dir, against the
//! sandbox on loopback. App and sandbox share one test clock that a ticker moves 50 times
//! faster than real time (and tests jump by days), so a quota of a few calls a minute is
//! kept or broken within seconds; every assertion reads the store or the sandbox's request
//! log, never a measured duration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinbridge::app::App;
use pinbridge::clock::{Clock, ManualClock, SharedClock};
use pinbridge::config::Config;
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::pinterest::sandbox::{Exchange, Faults, Sandbox, SandboxConfig, SandboxUser};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{IngestPlan, PinDay, Target};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::support::config::head;
use crate::support::pinterest::serve_sandbox;

const DAY: i64 = 86_400_000;
/// "Now" when a test starts: 10:00 UTC on 2025-01-11.
const NOW: i64 = 20_099 * DAY + 10 * 3_600_000;
const TODAY: i64 = NOW / DAY;

pub(crate) struct World {
    pub(crate) clock: ManualClock,
    pub(crate) sandbox: Sandbox,
    user: SandboxUser,
    board_id: String,
    api: String,
    dir: tempfile::TempDir,
    stop: CancellationToken,
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub(crate) async fn world(config: SandboxConfig) -> World {
    let clock = ManualClock::new(NOW);
    let shared: SharedClock = Arc::new(clock.clone());
    let sandbox = Sandbox::with_clock(config, shared);
    let user = sandbox.create_user("ops");
    let board_id = sandbox.create_board(&user, "Decor");
    let stop = CancellationToken::new();
    let api = serve_sandbox(&sandbox, &stop).await;
    // The test clock runs 50 times faster than real time from here on.
    let ticker = clock.clone();
    let ticking = stop.clone();
    tokio::spawn(async move {
        while !ticking.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            ticker.advance_ms(1000);
        }
    });
    World {
        clock,
        sandbox,
        user,
        board_id,
        api,
        dir: tempfile::tempdir().unwrap(),
        stop,
    }
}

impl World {
    fn store_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("store")
    }

    async fn open_store(&self) -> Arc<dyn Store> {
        let start = Instant::now();
        loop {
            let clock: SharedClock = Arc::new(self.clock.clone());
            match SledStore::open_async(self.store_dir(), SledOptions::default(), Some(clock)).await
            {
                Ok(store) => return Arc::new(store),
                // sled lets go of its lock a moment after the previous App stopped.
                Err(_) if start.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => panic!("cannot open the store: {e}"),
            }
        }
    }

    /// A Pin made `age_days` ago on the sandbox, and the done create job that made it (as the
    /// engine would have left it). Returns the Pin id.
    pub(crate) async fn made_pin(&self, store: &dyn Store, key: &str, age_days: i64) -> String {
        let back = self.clock.now_ms();
        let made_at = NOW - age_days * DAY - 3_600_000;
        self.clock.set_ms(made_at);
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}pins", self.api))
            .bearer_auth(&self.user.access_token)
            .json(&serde_json::json!({
                "board_id": self.board_id, "title": key, "link": format!("https://shop.example/{key}"),
                "media_source": {"source_type": "image_url", "url": "https://img.example/a.jpg"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pin_id = answer["id"].as_str().unwrap().to_string();
        let mut item = Item::new(SourceId::new("etsy"), DedupKey::new("guid", key));
        item.title = key.into();
        item.categories = vec!["lamps".into()];
        let plan = IngestPlan {
            targets: vec![Target {
                route: "shop-to-decor".into(),
                account: "main".into(),
                board: "Decor".into(),
                section: None,
            }],
            ..IngestPlan::default()
        };
        store.ingest(&item, plan, made_at).await.unwrap();
        let lease = store.claim(1, 60_000, made_at).await.unwrap().remove(0);
        store.complete(&lease, &pin_id, made_at).await.unwrap();
        self.clock.set_ms(back.max(NOW));
        pin_id
    }

    pub(crate) async fn start_app(&self, store: Arc<dyn Store>, analytics: &str) -> Running {
        let path = self.dir.path().join("pinbridge.toml");
        let text = format!(
            "{}\n[analytics]\n{analytics}\n",
            head(
                "127.0.0.1:0",
                &self.store_dir(),
                &self.api,
                &self.user.access_token
            )
        );
        std::fs::write(&path, &text).unwrap();
        let config = Config::from_toml(&text, Path::new("pinbridge.toml"), &|_| None).unwrap();
        let app = App::build_with_store(&config, Arc::new(self.clock.clone()), store)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stop = CancellationToken::new();
        let task = tokio::spawn(app.run(listener, stop.clone()));
        Running { stop, task }
    }

    pub(crate) fn analytics_calls(&self, recorded: &[Exchange]) -> Vec<Exchange> {
        recorded
            .iter()
            .filter(|e| e.uri.contains("analytics"))
            .cloned()
            .collect()
    }
}

pub(crate) struct Running {
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub(crate) async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().expect("clean stop");
    }
}

/// Wait (up to 30 s of real time) until `check` holds.
pub(crate) async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "gave up waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn rows(store: &dyn Store) -> Vec<PinDay> {
    store.pin_days(i64::MIN, i64::MAX).await.unwrap()
}

/// Each Pin's stored days.
pub(crate) fn days_by_pin(rows: &[PinDay]) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in rows {
        out.entry(row.pin_id.clone()).or_default().push(row.day);
    }
    for days in out.values_mut() {
        days.sort();
    }
    out
}

/// Every final day of a Pin made `age` days ago: from its day up to yesterday.
pub(crate) fn final_days(age: i64) -> Vec<i64> {
    (TODAY - age..TODAY).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collection_resumes_across_a_restart_without_losing_or_refetching_days() {
    let w = world(SandboxConfig {
        batch_analytics: false,
        analytics_quota_per_minute: None,
        ..SandboxConfig::default()
    })
    .await;
    w.sandbox.start_recording();
    let store = w.open_store().await;
    let ages = [1, 2, 3, 5, 12, 40];
    let mut pins = BTreeMap::new();
    for (n, age) in ages.iter().enumerate() {
        let pin = w.made_pin(store.as_ref(), &format!("item-{n}"), *age).await;
        pins.insert(pin, *age);
    }
    let too_old = w.made_pin(store.as_ref(), "ancient", 120).await;
    // Six seconds of test time a call: stopped after two, the rest is left for the restart.
    let app = w
        .start_app(store.clone(), "per_minute = 10\ninterval = \"1h\"")
        .await;
    until("two Pins collected", || async {
        days_by_pin(&rows(store.as_ref()).await).len() >= 2
    })
    .await;
    app.stop().await;
    // The App closed the store on its way out.
    drop(store);
    let store = w.open_store().await;
    let before = days_by_pin(&rows(store.as_ref()).await);
    assert!(
        before.len() < pins.len(),
        "stopped in the middle of the run"
    );

    // A Pin made while pinbridge was stopped.
    let late = w.made_pin(store.as_ref(), "late", 1).await;
    pins.insert(late.clone(), 1);
    let app = w
        .start_app(store.clone(), "per_minute = 10\ninterval = \"1h\"")
        .await;
    until("every Pin collected", || async {
        days_by_pin(&rows(store.as_ref()).await).len() == pins.len()
    })
    .await;
    app.stop().await;
    drop(store);
    let store = w.open_store().await;

    let stored = rows(store.as_ref()).await;
    let by_pin = days_by_pin(&stored);
    for (pin, age) in &pins {
        assert_eq!(
            by_pin[pin],
            final_days(*age),
            "Pin {pin}: each final day once"
        );
    }
    assert!(
        !by_pin.contains_key(&too_old),
        "a Pin past lookback is not collected"
    );
    // Attribution comes with every row.
    let row = stored.iter().find(|r| r.pin_id == late).unwrap();
    assert_eq!(
        (
            row.source.as_str(),
            row.item.as_str(),
            row.route.as_str(),
            row.board.as_str()
        ),
        ("etsy", "guid:late", "shop-to-decor", "Decor")
    );
    assert_eq!(row.categories, vec!["lamps".to_string()]);
    assert!(row.metrics.impressions >= row.metrics.pin_clicks);
    // One call per Pin over both runs: what the first run fetched was not fetched again.
    let recorded = w.analytics_calls(&w.sandbox.take_recording());
    // Each process asks for the batch call once (refused here) before one Pin a call.
    let (batch, calls): (Vec<Exchange>, Vec<Exchange>) = recorded
        .into_iter()
        .partition(|c| c.route.as_deref() == Some("/v5/pins/analytics"));
    assert_eq!(batch.len(), 2);
    assert!(batch.iter().all(|c| c.status == 403));
    let mut per_pin: BTreeMap<String, usize> = BTreeMap::new();
    for call in &calls {
        let pin = call.uri.split('/').nth(3).unwrap().to_string();
        *per_pin.entry(pin).or_default() += 1;
    }
    assert_eq!(per_pin.len(), pins.len(), "{per_pin:?}");
    assert!(per_pin.values().all(|n| *n == 1), "{per_pin:?}");
    // Newest first: the first call was for the youngest Pin.
    let youngest = pins.iter().min_by_key(|(_, age)| **age).unwrap().0;
    assert!(calls[0].uri.contains(youngest.as_str()), "{}", calls[0].uri);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_collector_keeps_within_a_low_analytics_quota_and_honours_retry_after() {
    let w = world(SandboxConfig {
        batch_analytics: false,
        analytics_quota_per_minute: Some(4),
        ..SandboxConfig::default()
    })
    .await;
    w.sandbox.start_recording();
    let store = w.open_store().await;
    for n in 0..9 {
        w.made_pin(store.as_ref(), &format!("item-{n}"), n + 1)
            .await;
    }
    // Two forced 429s first, each asking for 30 s.
    w.sandbox.set_faults(Faults {
        analytics_burst_429: 2,
        burst_retry_after: Some(30),
        ..Faults::default()
    });
    let app = w.start_app(store.clone(), "per_minute = 4").await;
    until("nine Pins collected", || async {
        days_by_pin(&rows(store.as_ref()).await).len() == 9
    })
    .await;
    app.stop().await;

    let calls = w.analytics_calls(&w.sandbox.take_recording());
    let limited: Vec<&Exchange> = calls.iter().filter(|c| c.status == 429).collect();
    assert_eq!(
        limited.len(),
        2,
        "only the forced 429s: the quota itself was never hit"
    );
    assert_eq!(w.sandbox.stats().analytics_rate_limited, 2);
    for (i, call) in calls.iter().enumerate() {
        let in_minute = calls
            .iter()
            .filter(|c| c.at > call.at - 60_000 && c.at <= call.at)
            .count();
        assert!(in_minute <= 4, "call {i}: {in_minute} calls in one minute");
        if call.status == 429
            && let Some(next) = calls.get(i + 1)
        {
            assert!(
                next.at >= call.at + 30_000,
                "the call after a 429 waited for its Retry-After"
            );
        }
    }
    assert_eq!(calls.iter().filter(|c| c.status == 200).count(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_batch_call_falls_back_to_one_pin_a_call_and_is_remembered() {
    let w = world(SandboxConfig {
        batch_analytics: false,
        analytics_quota_per_minute: None,
        ..SandboxConfig::default()
    })
    .await;
    w.sandbox.start_recording();
    let store = w.open_store().await;
    for (n, age) in [1, 2, 3].iter().enumerate() {
        w.made_pin(store.as_ref(), &format!("item-{n}"), *age).await;
    }
    let app = w.start_app(store.clone(), "interval = \"1h\"").await;
    let single = |calls: &[Exchange]| {
        calls
            .iter()
            .filter(|c| c.route.as_deref() == Some("/v5/pins/{pin_id}/analytics"))
            .count()
    };
    let mut calls = Vec::new();
    until("three single calls", || {
        calls.extend(w.analytics_calls(&w.sandbox.take_recording()));
        let done = single(&calls) == 3;
        async move { done }
    })
    .await;
    // The next run, a day later: every Pin is due again, one a call from the start.
    w.clock.advance_ms(DAY);
    until("three more single calls", || {
        calls.extend(w.analytics_calls(&w.sandbox.take_recording()));
        let done = single(&calls) == 6;
        async move { done }
    })
    .await;
    app.stop().await;
    let batch: Vec<&Exchange> = calls
        .iter()
        .filter(|c| c.route.as_deref() == Some("/v5/pins/analytics"))
        .collect();
    assert_eq!(batch.len(), 1, "refused once, then remembered");
    assert_eq!(batch[0].status, 403);
    assert!(calls.iter().all(|c| c.status == 200 || c.status == 403));
    drop(store);
    let store = w.open_store().await;
    let by_pin = days_by_pin(&rows(store.as_ref()).await);
    assert_eq!(
        by_pin.values().map(Vec::len).collect::<BTreeSet<_>>(),
        BTreeSet::from([2, 3, 4]),
        "a day later every Pin has one final day more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_batch_call_collects_many_pins_at_once() {
    let w = world(SandboxConfig {
        analytics_quota_per_minute: None,
        ..SandboxConfig::default()
    })
    .await;
    w.sandbox.start_recording();
    let store = w.open_store().await;
    for n in 0..5 {
        w.made_pin(store.as_ref(), &format!("item-{n}"), n + 1)
            .await;
    }
    let app = w.start_app(store.clone(), "interval = \"1h\"").await;
    until("five Pins collected", || async {
        days_by_pin(&rows(store.as_ref()).await).len() == 5
    })
    .await;
    app.stop().await;
    let calls = w.analytics_calls(&w.sandbox.take_recording());
    assert_eq!(calls.len(), 1, "one batch call for five Pins");
    assert_eq!(calls[0].route.as_deref(), Some("/v5/pins/analytics"));
    drop(store);
    let store = w.open_store().await;
    let by_pin = days_by_pin(&rows(store.as_ref()).await);
    let mut lengths: Vec<usize> = by_pin.values().map(Vec::len).collect();
    lengths.sort();
    assert_eq!(lengths, [1, 2, 3, 4, 5], "each Pin's own days only");
}

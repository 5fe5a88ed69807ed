//! Torture test: the real `pinbridge serve` binary against a faulty sandbox, killed with
//! SIGKILL at random moments and restarted, must still make exactly one Pin per item and board.
//!
//! The sandbox runs in this test process with 10% injected 5xx, "create then fail the answer"
//! faults and random 429 bursts. Items arrive from a feed (polled by the child) and from signed
//! Shopify webhooks (sent by this process, re-sent until acknowledged, as Shopify does). After
//! every kill the store must open cleanly. At the end: every routed (board, link) has exactly
//! one Pin, no job is dead or open, and nothing else was pinned.
//!
//! The seed is printed; replay a failure with `PINBRIDGE_TORTURE_SEED=<seed>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pinbridge::pinterest::sandbox::{FailMode, Faults, Sandbox, SandboxConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

use crate::support::feed_server::{FeedServer, serve_until};
use crate::support::replicas::{self, ChildLabel, open_store, seed};

const FEED_ITEMS: usize = 40;
const HOOK_ITEMS: usize = 40;
const SHOP_SECRET: &str = "torture-shop-secret";
/// Stop killing after this long; the last run then has to finish the backlog.
const KILL_PHASE: Duration = Duration::from_secs(25);
const MAX_KILLS: usize = 12;
/// Generous: the final run normally settles in a few seconds.
const SETTLE_DEADLINE: Duration = Duration::from_secs(40);

fn feed_body() -> String {
    let mut items = String::new();
    for i in 0..FEED_ITEMS {
        items.push_str(&format!(
            "<item><title>Feed post {i}</title><link>https://blog.example/p/{i}</link>\
             <guid>post-{i}</guid><description>Post {i}.</description>\
             <enclosure url=\"https://blog.example/img/{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>\n"
        ));
    }
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Blog</title>\
         <link>https://blog.example/</link><description>d</description>\n{items}</channel></rss>"
    )
}

fn product(i: usize) -> String {
    crate::support::shopify::numbered_product(9_000_000, i)
}

/// Every (board, link) that must end with exactly one Pin.
fn expected() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..FEED_ITEMS {
        let link = format!("https://blog.example/p/{i}");
        out.push(("Feed".to_string(), link.clone()));
        out.push(("Everything".to_string(), link));
    }
    for i in 0..HOOK_ITEMS {
        let link = format!("https://shop.example/products/product-{i}");
        out.push(("Shop".to_string(), link.clone()));
        out.push(("Everything".to_string(), link));
    }
    out.sort();
    out
}

fn config(
    api: &str,
    feed: &str,
    listen: &str,
    store: &Path,
    access: &str,
    refresh: &str,
) -> String {
    let shop = crate::support::config::shopify_source("shop", SHOP_SECRET);
    let blog = crate::support::config::feed_source("blog", feed);
    format!(
        r#"
[server]
listen = "{listen}"
shutdown_grace = "2s"

[store]
path = "{store}"
token_keys = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

[pinterest]
api_base = "{api}"
client_id = "1480000"
client_secret = "sandbox-client-secret"
timeout = "3s"

[[accounts]]
name = "main"
access_token = "{access}"
refresh_token = "{refresh}"
writes_per_minute = 240
daily_cap = 100000

{blog}
{shop}
[[routes]]
source = "blog"
board = "Feed"
create_missing = true

[[routes]]
source = "blog"
board = "Everything"
create_missing = true

[[routes]]
source = "shop"
board = "Shop"
create_missing = true

[[routes]]
source = "shop"
board = "Everything"
create_missing = true

[sync]
workers = 4
backoff_base = "100ms"
backoff_cap = "1s"
max_attempts = 1000
lease = "10s"
"#,
        store = store.display(),
    )
}

/// Start `pinbridge serve` and wait until it answers /healthz; panics (with its log) if it
/// exits first, which means the store did not open.
async fn start_child(config: &Path, log: &Path, listen: &str, run: usize) -> Child {
    let label = ChildLabel {
        who: format!("run {run}: pinbridge"),
        exit_hint: " (store open failed?)",
        log_var: "PINBRIDGE_TORTURE_LOG",
    };
    replicas::start_child(
        Path::new(env!("CARGO_BIN_EXE_pinbridge")),
        config,
        log,
        listen,
        label,
    )
    .await
}

/// Send every product webhook until it is acknowledged (2xx), like Shopify's retries.
async fn send_webhooks(listen: String, acked: Arc<AtomicUsize>, sends: Arc<AtomicUsize>) {
    let http = reqwest::Client::new();
    for i in 0..HOOK_ITEMS {
        let body = product(i);
        let signature = crate::support::shopify::signature(SHOP_SECRET, &body);
        loop {
            sends.fetch_add(1, Ordering::SeqCst);
            let answer = crate::support::shopify::delivery(
                &http,
                format!("http://{listen}/hooks/shop"),
                "torture.myshopify.com",
                i,
                &body,
                &signature,
            )
            .timeout(Duration::from_secs(5))
            .send()
            .await;
            match answer {
                Ok(r) if r.status().is_success() => break,
                Ok(r) if r.status().is_client_error() => {
                    panic!(
                        "webhook {i} refused: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        acked.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_serve_makes_each_pin_exactly_once() {
    let seed = seed();
    println!("torture seed: {seed} (replay with PINBRIDGE_TORTURE_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let shutdown = CancellationToken::new();
    let _guard = shutdown.clone().drop_guard();

    let base_faults = Faults {
        error_rate: 0.10,
        create_then_fail_rate: 0.10,
        create_then_fail: FailMode::Either,
        burst_retry_after: Some(1),
        // Slow enough that kills land while Pins are being made.
        latency: Duration::from_millis(20),
        ..Faults::default()
    };
    let sandbox = Sandbox::new(SandboxConfig {
        write_quota_per_minute: None,
        faults: base_faults.clone(),
        seed,
        ..SandboxConfig::default()
    });
    let user = sandbox.create_user("tortured");
    let api = format!(
        "http://{}/v5/",
        serve_until(sandbox.router(), &shutdown).await
    );
    let feed = FeedServer::builder(feed_body())
        .until(&shutdown)
        .start()
        .await
        .url;
    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut dir = tempfile::tempdir().unwrap();
    // PINBRIDGE_TORTURE_KEEP=1 keeps the store and every run's log for a post-mortem.
    if std::env::var_os("PINBRIDGE_TORTURE_KEEP").is_some() {
        dir.disable_cleanup(true);
        println!("torture files kept in {}", dir.path().display());
    }
    let store_path: PathBuf = dir.path().join("store.sled");
    let config_path = dir.path().join("pinbridge.toml");
    std::fs::write(
        &config_path,
        config(
            &api,
            &feed,
            &listen,
            &store_path,
            &user.access_token,
            &user.refresh_token,
        ),
    )
    .unwrap();

    let acked = Arc::new(AtomicUsize::new(0));
    let sends = Arc::new(AtomicUsize::new(0));
    let sender = tokio::spawn(send_webhooks(listen.clone(), acked.clone(), sends.clone()));

    let started = Instant::now();
    let mut kills = 0;
    let mut run = 0;
    while started.elapsed() < KILL_PHASE && kills < MAX_KILLS {
        run += 1;
        let log = dir.path().join(format!("run-{run}.log"));
        let mut child = start_child(&config_path, &log, &listen, run).await;
        if rng.random_bool(0.5) {
            sandbox.set_faults(Faults {
                burst_429: rng.random_range(1..6),
                ..base_faults.clone()
            });
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..2500))).await;
        child.start_kill().unwrap();
        let status = child.wait().await.unwrap();
        assert!(!status.success(), "run {run}: the child was killed");
        kills += 1;
        let states = open_store(&store_path, run).await;
        println!(
            "run {run}: killed; jobs {states:?}; pins so far {}",
            sandbox.pins().len()
        );
    }

    // Then runs without kills until every job is finished: once every Pin exists, the child
    // is stopped and the store read (it cannot be opened while the child holds it); a job
    // still waiting for its reconcile gets another run.
    let want = expected();
    let deadline = Instant::now() + SETTLE_DEADLINE;
    let mut sender = Some(sender);
    let (log, states) = loop {
        run += 1;
        let log = dir.path().join(format!("run-{run}.log"));
        let mut child = start_child(&config_path, &log, &listen, run).await;
        if let Some(sender) = sender.take() {
            tokio::time::timeout(Duration::from_secs(30), sender)
                .await
                .expect("every webhook is acknowledged")
                .unwrap();
        }
        while sandbox.pins().len() < want.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A little longer, so a doubled Pin in flight would show.
        tokio::time::sleep(Duration::from_millis(500)).await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        let states = open_store(&store_path, run).await;
        let finished =
            states.get("done").copied().unwrap_or(0) + states.get("dead").copied().unwrap_or(0);
        if finished == states.values().sum::<u64>() || Instant::now() >= deadline {
            break (log, states);
        }
        println!("run {run}: stopped with open jobs {states:?}; running again");
    };

    let mut pins: BTreeMap<(String, String), usize> = BTreeMap::new();
    for pin in sandbox.pins() {
        *pins
            .entry((pin.board_name.clone(), pin.link.clone().unwrap_or_default()))
            .or_default() += 1;
    }
    let stats = sandbox.stats();
    println!(
        "torture seed {seed}: {run} runs, {kills} kills, {} items ({FEED_ITEMS} feed + {HOOK_ITEMS} webhook, {} webhook sends), {} Pins expected, {} made; sandbox: {} requests, {} injected 5xx, {} 429, {} create-then-fail; jobs {states:?}",
        FEED_ITEMS + HOOK_ITEMS,
        sends.load(Ordering::SeqCst),
        want.len(),
        pins.values().sum::<usize>(),
        stats.requests,
        stats.injected_5xx,
        stats.rate_limited,
        stats.create_then_fail,
    );
    let boards: std::collections::BTreeSet<(String, String)> = sandbox
        .pins()
        .into_iter()
        .map(|p| (p.board_name, p.board_id))
        .collect();
    assert_eq!(
        boards.len(),
        3,
        "seed {seed}: one board per name, created once: {boards:?}"
    );
    let doubled: Vec<_> = pins.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "seed {seed}: doubled Pins: {doubled:?}");
    let missing: Vec<_> = want.iter().filter(|k| !pins.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "seed {seed}: missing Pins: {missing:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let unexpected: Vec<_> = pins.keys().filter(|k| !want.contains(k)).collect();
    assert!(
        unexpected.is_empty(),
        "seed {seed}: unexpected Pins: {unexpected:?}"
    );
    assert_eq!(
        stats.boards_created, 3,
        "seed {seed}: each board is created once"
    );
    assert_eq!(
        states.get("done").copied().unwrap_or(0),
        want.len() as u64,
        "seed {seed}: every job is done: {states:?}"
    );
    assert_eq!(
        states.values().sum::<u64>(),
        want.len() as u64,
        "seed {seed}: no job is open or dead: {states:?}"
    );
    assert_eq!(acked.load(Ordering::SeqCst), HOOK_ITEMS);
}

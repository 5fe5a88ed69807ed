//! Three `pinbridge serve` processes on one PostgreSQL schema and one sandbox: replicas share
//! one store and must still pin each item once and poll each feed once per interval.
//!
//! Signed Shopify webhooks are spread over the three replicas (re-sent to the next replica
//! until acknowledged, as a load balancer would); three feeds served by this process are polled
//! by whichever replica holds their lease, and grow new items after the first poll. One replica
//! is killed with SIGKILL mid-run and restarted. At the end every acknowledged product and every
//! feed item has exactly one Pin on each routed board, no job is open or dead, and no feed was
//! fetched twice within its interval (the feed server logs every fetch with its time).
//!
//! Needs `PINBRIDGE_TEST_POSTGRES_URL` (skipped with a message without it, failed under CI).
//! The seed is printed; replay with `PINBRIDGE_REPLICAS_SEED=<seed>`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use pinbridge::pinterest::sandbox::{FailMode, Faults, Sandbox, SandboxConfig};
use pinbridge::store::postgres::PgStore;
use pinbridge::store::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use crate::support::feed_server::serve_until;
use crate::support::replicas::*;

const REPLICAS: usize = 3;
const FEEDS: usize = 3;
/// Items in each feed at first, and after the first poll.
const FEED_FIRST: usize = 10;
const FEED_LATER: usize = 16;
const HOOK_ITEMS: usize = 60;

/// The feeds' interval: the smallest `min_interval` allows.
const INTERVAL: Duration = Duration::from_secs(60);
/// Generous: the run needs a bit more than one feed interval.
const DEADLINE: Duration = Duration::from_secs(150);

fn feed_body(feed: usize, items: usize) -> String {
    let mut out = String::new();
    for i in 0..items {
        out.push_str(&format!(
            "<item><title>Feed {feed} post {i}</title><link>https://blog.example/{feed}/{i}</link>\
             <guid>f{feed}-{i}</guid><description>Post {i}.</description>\
             <enclosure url=\"https://blog.example/img/{feed}-{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>\n"
        ));
    }
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Blog {feed}</title>\
         <link>https://blog.example/</link><description>d</description>\n{out}</channel></rss>"
    )
}

/// Every (board, link) that must end with exactly one Pin.
fn expected() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for feed in 0..FEEDS {
        for i in 0..FEED_LATER {
            let link = format!("https://blog.example/{feed}/{i}");
            out.push(("Feed".to_string(), link.clone()));
            out.push(("Everything".to_string(), link));
        }
    }
    for i in 0..HOOK_ITEMS {
        let link = format!("https://shop.example/products/product-{i}");
        out.push(("Shop".to_string(), link.clone()));
        out.push(("Everything".to_string(), link));
    }
    out.sort();
    out
}

fn config(api: &str, feeds: &str, listen: &str, url: &str, access: &str, refresh: &str) -> String {
    let mut sources = String::new();
    let mut routes = String::new();
    for feed in 0..FEEDS {
        sources.push_str(&format!(
            "[[sources]]\nid = \"blog{feed}\"\nkind = \"feed\"\nurl = \"{feeds}/feed/{feed}\"\n\
             backfill = \"all\"\nallow_private = true\ninterval = \"60s\"\nmin_interval = \"60s\"\njitter = 0.0\n\n"
        ));
        for board in ["Feed", "Everything"] {
            routes.push_str(&format!(
                "[[routes]]\nsource = \"blog{feed}\"\nboard = \"{board}\"\n\n"
            ));
        }
    }
    let shop = crate::support::config::shopify_source("shop", SHOP_SECRET);
    format!(
        r#"
[server]
listen = "{listen}"
shutdown_grace = "2s"

[store]
url = "{url}"
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
writes_per_minute = 1200
daily_cap = 100000

{sources}
{shop}
{routes}
[[routes]]
source = "shop"
board = "Shop"

[[routes]]
source = "shop"
board = "Everything"

[sync]
workers = 4
backoff_base = "100ms"
backoff_cap = "1s"
max_attempts = 1000
lease = "5s"
"#
    )
}

/// Every feed fetch: (feed, when).
type FetchLog = Arc<Mutex<Vec<(usize, Instant)>>>;

#[derive(Clone)]
struct Feeds {
    log: FetchLog,
}

async fn serve_feed(
    State(feeds): State<Feeds>,
    UrlPath(feed): UrlPath<usize>,
) -> ([(&'static str, &'static str); 1], String) {
    let earlier = {
        let mut log = feeds.log.lock().unwrap();
        let earlier = log.iter().filter(|(f, _)| *f == feed).count();
        log.push((feed, Instant::now()));
        earlier
    };
    // The first fetch sees the first items; every later one sees more.
    let items = if earlier == 0 { FEED_FIRST } else { FEED_LATER };
    (
        [("content-type", "application/rss+xml")],
        feed_body(feed, items),
    )
}

/// Start one replica of this build and wait until it answers /healthz.
async fn start_replica(config: &Path, log: &Path, listen: &str) -> tokio::process::Child {
    start_replica_of(
        Path::new(env!("CARGO_BIN_EXE_pinbridge")),
        config,
        log,
        listen,
    )
    .await
}

fn seed() -> u64 {
    std::env::var("PINBRIDGE_REPLICAS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_killed_pin_exactly_once_and_poll_each_feed_once_per_interval() {
    let Some((pool, url, schema)) = postgres_schema().await else {
        return;
    };
    let seed = seed();
    println!("replicas seed: {seed} (replay with PINBRIDGE_REPLICAS_SEED={seed}); schema {schema}");
    let mut rng = StdRng::seed_from_u64(seed);
    let shutdown = CancellationToken::new();
    let _guard = shutdown.clone().drop_guard();

    let sandbox = Sandbox::new(SandboxConfig {
        write_quota_per_minute: None,
        faults: Faults {
            error_rate: 0.05,
            create_then_fail_rate: 0.05,
            create_then_fail: FailMode::Either,
            latency: Duration::from_millis(10),
            ..Faults::default()
        },
        seed,
        ..SandboxConfig::default()
    });
    let user = sandbox.create_user("replicated");
    // Boards exist up front: creating a missing board is not coordinated across replicas.
    for board in ["Feed", "Shop", "Everything"] {
        sandbox.create_board(&user, board);
    }
    let api = format!(
        "http://{}/v5/",
        serve_until(sandbox.router(), &shutdown).await
    );
    let fetches: FetchLog = Arc::default();
    let feeds = format!(
        "http://{}",
        serve_until(
            Router::new()
                .route("/feed/{feed}", get(serve_feed))
                .with_state(Feeds {
                    log: fetches.clone()
                }),
            &shutdown,
        )
        .await
    );

    let dir = tempfile::tempdir().unwrap();
    let listens: Vec<String> = (0..REPLICAS).map(|_| free_addr()).collect();
    let mut configs = Vec::new();
    for (r, listen) in listens.iter().enumerate() {
        let path = dir.path().join(format!("replica-{r}.toml"));
        std::fs::write(
            &path,
            config(
                &api,
                &feeds,
                listen,
                &url,
                &user.access_token,
                &user.refresh_token,
            ),
        )
        .unwrap();
        configs.push(path);
    }
    let started = Instant::now();
    let mut children = Vec::new();
    for r in 0..REPLICAS {
        let log = dir.path().join(format!("replica-{r}-run-0.log"));
        children.push(start_replica(&configs[r], &log, &listens[r]).await);
    }
    let sender = tokio::spawn(send_webhooks(listens.clone(), seed, HOOK_ITEMS));

    // Kill one replica mid-run (webhooks arriving, Pins being made), then restart it.
    let victim = rng.random_range(0..REPLICAS);
    tokio::time::sleep(Duration::from_millis(rng.random_range(1000..3500))).await;
    children[victim].start_kill().unwrap();
    let status = children[victim].wait().await.unwrap();
    assert!(!status.success(), "the replica was killed");
    let pins_at_kill = sandbox.pins().len();
    tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
    let log = dir.path().join(format!("replica-{victim}-run-1.log"));
    children[victim] = start_replica(&configs[victim], &log, &listens[victim]).await;
    println!("replica {victim} killed with {pins_at_kill} Pins made, restarted");

    let (acked, sends) = tokio::time::timeout(Duration::from_secs(60), sender)
        .await
        .expect("every webhook is acknowledged")
        .unwrap();

    // Every Pin, including the feed items that appear at the second poll (one interval on).
    // Then until every job is finished (an ambiguous create waits for its reconcile).
    let want = expected();
    let deadline = started + DEADLINE;
    let store = PgStore::with_pool(pool.clone()).await.expect("open");
    let open_jobs = |jobs: &BTreeMap<String, u64>| -> u64 {
        jobs.iter()
            .filter(|(state, _)| state.as_str() != "done")
            .map(|(_, n)| n)
            .sum()
    };
    let jobs = loop {
        let jobs = store.stats().await.expect("stats").jobs_by_state;
        let settled = sandbox.pins().len() >= want.len() && open_jobs(&jobs) == 0;
        if settled || Instant::now() >= deadline {
            break jobs;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // A little longer, so a doubled Pin in flight would show.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let quota = store.account_quota("main").await.expect("quota");
    for child in &mut children {
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    let mut pins: BTreeMap<(String, String), usize> = BTreeMap::new();
    for pin in sandbox.pins() {
        *pins
            .entry((pin.board_name.clone(), pin.link.clone().unwrap_or_default()))
            .or_default() += 1;
    }
    let fetches = fetches.lock().unwrap().clone();
    let stats = sandbox.stats();
    println!(
        "replicas seed {seed}: {acked} webhooks acknowledged ({sends} sends), {} Pins expected, {} made, {} feed fetches; sandbox: {} requests, {} injected 5xx, {} 429, {} create-then-fail; jobs {jobs:?}; shared day count {}; {:.1}s",
        want.len(),
        pins.values().sum::<usize>(),
        fetches.len(),
        stats.requests,
        stats.injected_5xx,
        stats.rate_limited,
        stats.create_then_fail,
        quota.day_pins,
        started.elapsed().as_secs_f64(),
    );
    let doubled: Vec<_> = pins.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "seed {seed}: doubled Pins: {doubled:?}");
    let missing: Vec<_> = want.iter().filter(|k| !pins.contains_key(*k)).collect();
    assert!(missing.is_empty(), "seed {seed}: missing Pins: {missing:?}");
    let unexpected: Vec<_> = pins.keys().filter(|k| !want.contains(k)).collect();
    assert!(
        unexpected.is_empty(),
        "seed {seed}: unexpected Pins: {unexpected:?}"
    );
    assert_eq!(acked, HOOK_ITEMS);
    assert_eq!(
        open_jobs(&jobs),
        0,
        "seed {seed}: no job is open or dead: {jobs:?}"
    );
    assert!(
        quota.day_pins as usize >= want.len(),
        "every replica counted its creates in the shared daily count ({} < {})",
        quota.day_pins,
        want.len()
    );

    // Each feed: fetched at least twice (first poll, one interval later), never twice
    // within one interval.
    for feed in 0..FEEDS {
        let times: Vec<Instant> = fetches
            .iter()
            .filter(|(f, _)| *f == feed)
            .map(|(_, t)| *t)
            .collect();
        assert!(
            times.len() >= 2,
            "seed {seed}: feed {feed} was fetched {} times",
            times.len()
        );
        for pair in times.windows(2) {
            let gap = pair[1].duration_since(pair[0]);
            // The next poll is scheduled one interval after the previous one ended; allow
            // for the millisecond rounding of the two clocks.
            assert!(
                gap + Duration::from_millis(50) >= INTERVAL,
                "seed {seed}: feed {feed} fetched twice within {gap:?} (interval {INTERVAL:?})"
            );
        }
    }
    let admin = pool;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await;
}

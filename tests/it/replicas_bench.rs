//! End-to-end Pins per minute with 1 vs 3 replicas on one PostgreSQL store (replicas share one store), against
//! a sandbox whose write quota is off (not the bottleneck) and which answers every call after
//! a fixed latency, like a remote API. A benchmark, not a check: `#[ignore]`d, run by hand:
//!
//! ```sh
//! PINBRIDGE_BENCH_BIN=$CARGO_TARGET_DIR/release/pinbridge \
//!   cargo test --test it replicas_bench -- --ignored --nocapture
//! ```
//! Knobs: PINBRIDGE_BENCH_ITEMS (600), PINBRIDGE_BENCH_LATENCY_MS (50), PINBRIDGE_BENCH_WORKERS (4).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinbridge::pinterest::sandbox::{Faults, Sandbox, SandboxConfig};
use tokio_util::sync::CancellationToken;

use crate::support::feed_server::serve_until;
use crate::support::replicas::{
    SHOP_SECRET, free_addr, postgres_schema, product, start_replica_of,
};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(api: &str, listen: &str, url: &str, access: &str, workers: u64) -> String {
    let shop = crate::support::config::shopify_source("shop", SHOP_SECRET);
    format!(
        r#"
[server]
listen = "{listen}"
shutdown_grace = "1s"
[store]
url = "{url}"
token_keys = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
[pinterest]
api_base = "{api}"
client_id = "1480000"
client_secret = "sandbox-client-secret"
timeout = "10s"
[[accounts]]
name = "main"
access_token = "{access}"
refresh_token = "unused"
writes_per_minute = 100000
daily_cap = 1000000
{shop}[[routes]]
source = "shop"
board = "Shop"
[sync]
workers = {workers}
"#
    )
}

async fn send(http: &reqwest::Client, listen: &str, i: usize) {
    let body = product(i);
    let signature = crate::support::shopify::signature(SHOP_SECRET, &body);
    loop {
        let answer = crate::support::shopify::delivery(
            http,
            format!("http://{listen}/hooks/shop"),
            "bench.myshopify.com",
            i,
            &body,
            &signature,
        )
        .timeout(Duration::from_secs(10))
        .send()
        .await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One measurement: `replicas` processes, `items` products, each one Pin. Returns (seconds
/// until every webhook was acknowledged, seconds until every Pin existed).
async fn measure(
    bin: &Path,
    replicas: usize,
    items: usize,
    latency: Duration,
    workers: u64,
) -> (f64, f64) {
    let (pool, url, schema) = postgres_schema()
        .await
        .expect("PINBRIDGE_TEST_POSTGRES_URL");
    let shutdown = CancellationToken::new();
    let _guard = shutdown.clone().drop_guard();
    let sandbox = Sandbox::new(SandboxConfig {
        write_quota_per_minute: None,
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    });
    let user = sandbox.create_user("bench");
    sandbox.create_board(&user, "Shop");
    let api = format!(
        "http://{}/v5/",
        serve_until(sandbox.router(), &shutdown).await
    );
    let dir = tempfile::tempdir().unwrap();
    let listens: Vec<String> = (0..replicas).map(|_| free_addr()).collect();
    let mut children = Vec::new();
    for (r, listen) in listens.iter().enumerate() {
        let path = dir.path().join(format!("replica-{r}.toml"));
        std::fs::write(
            &path,
            config(&api, listen, &url, &user.access_token, workers),
        )
        .unwrap();
        let log = dir.path().join(format!("replica-{r}.log"));
        children.push(start_replica_of(bin, &path, &log, listen).await);
    }
    let http = reqwest::Client::new();
    let started = Instant::now();
    // 16 senders, spread round-robin over the replicas.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let senders: Vec<_> = (0..16)
        .map(|_| {
            let (http, listens, next) = (http.clone(), listens.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= items {
                        return;
                    }
                    send(&http, &listens[i % listens.len()], i).await;
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let acked = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(600);
    while sandbox.pins().len() < items {
        assert!(Instant::now() < deadline, "Pins did not all arrive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pinned = started.elapsed().as_secs_f64();
    assert_eq!(sandbox.pins().len(), items, "exactly one Pin per item");
    for mut c in children {
        c.start_kill().unwrap();
        c.wait().await.unwrap();
    }
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&pool)
        .await;
    (acked, pinned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand with --ignored --nocapture"]
async fn replicas_bench_pins_per_minute_one_vs_three() {
    if std::env::var("PINBRIDGE_TEST_POSTGRES_URL").is_err() {
        eprintln!("SKIPPED: PINBRIDGE_TEST_POSTGRES_URL not set");
        return;
    }
    let bin = std::env::var_os("PINBRIDGE_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pinbridge")));
    let items = knob("PINBRIDGE_BENCH_ITEMS", 600) as usize;
    let latency = Duration::from_millis(knob("PINBRIDGE_BENCH_LATENCY_MS", 50));
    let workers = knob("PINBRIDGE_BENCH_WORKERS", 4);
    println!(
        "binary {}; {items} items, 1 Pin each; sandbox latency {latency:?}, no write quota; {workers} workers per replica",
        bin.display()
    );
    println!(
        "{:>8} {:>12} {:>12} {:>14}",
        "replicas", "acked (s)", "pinned (s)", "Pins/minute"
    );
    for replicas in [1, 3] {
        let (acked, pinned) = measure(&bin, replicas, items, latency, workers).await;
        println!(
            "{replicas:>8} {acked:>12.2} {pinned:>12.2} {:>14.0}",
            items as f64 / pinned * 60.0
        );
    }
}

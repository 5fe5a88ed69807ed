//! Several `pinbridge serve` children at once (replicas, or one killed and restarted again and
//! again): start one and wait for health, free addresses for them, a fresh PostgreSQL schema
//! they share, and the Shopify products they are sent.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use tokio::process::{Child, Command};

pub const SHOP_SECRET: &str = "replicas-shop-secret";

/// Product `i` of the run: id 7,000,000 + i, handle `product-<i>`.
pub fn product(i: usize) -> String {
    super::shopify::numbered_product(7_000_000, i)
}

/// An address that was free a moment ago (the child binds it itself).
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// How a child is named in the panics of [`start_child`], and where its log level comes from.
pub struct ChildLabel<'a> {
    /// "replica at 127.0.0.1:4000", "run 3: pinbridge".
    pub who: String,
    /// Said after "exited with <status> before it was ready", e.g. " (store open failed?)".
    pub exit_hint: &'a str,
    /// The environment variable whose value becomes the child's `PINBRIDGE_LOG` (else warn).
    pub log_var: &'a str,
}

/// Start `bin serve --config <config>` with stderr to `log` and wait until it answers
/// `/healthz` on `listen`; panics with its log if it exits first or is not healthy in 30 s.
pub async fn start_child(
    bin: &Path,
    config: &Path,
    log: &Path,
    listen: &str,
    label: ChildLabel<'_>,
) -> Child {
    let log_file = std::fs::File::create(log).unwrap();
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .env(
            "PINBRIDGE_LOG",
            std::env::var(label.log_var).unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true)
        .spawn()
        .expect("the pinbridge binary starts");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "{} exited with {status} before it was ready{}:\n{}",
                label.who,
                label.exit_hint,
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        let ok = http
            .get(format!("http://{listen}/healthz"))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return child;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not become healthy:\n{}",
            label.who,
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Start one replica (from `bin`; the benchmark passes a release build) and wait until it
/// answers /healthz.
pub async fn start_replica_of(bin: &Path, config: &Path, log: &Path, listen: &str) -> Child {
    let label = ChildLabel {
        who: format!("replica at {listen}"),
        exit_hint: "",
        log_var: "PINBRIDGE_REPLICAS_LOG",
    };
    start_child(bin, config, log, listen, label).await
}

/// A pool on a fresh schema, and the URL that puts a replica in it.
pub async fn postgres_schema() -> Option<(sqlx::PgPool, String, String)> {
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
        return None;
    };
    let schema = format!("r{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .expect("create schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let replica_url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let pool = sqlx::PgPool::connect(&replica_url)
        .await
        .expect("connect to the schema");
    Some((pool, replica_url, schema))
}

/// Send `items` product webhooks, round-robin over the replicas, moving on to the next replica
/// until one acknowledges it (2xx). Returns how many were acknowledged and sent.
pub async fn send_webhooks(listens: Vec<String>, seed: u64, items: usize) -> (usize, usize) {
    let http = reqwest::Client::new();
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let (mut acked, mut sends) = (0, 0);
    for i in 0..items {
        let body = product(i);
        let signature = crate::support::shopify::signature(SHOP_SECRET, &body);
        let mut replica = rng.random_range(0..listens.len());
        loop {
            sends += 1;
            let answer = crate::support::shopify::delivery(
                &http,
                format!("http://{}/hooks/shop", listens[replica]),
                "replicas.myshopify.com",
                i,
                &body,
                &signature,
            )
            .timeout(Duration::from_secs(5))
            .send()
            .await;
            match answer {
                Ok(r) if r.status().is_success() => break,
                Ok(r) if r.status().is_client_error() => panic!(
                    "webhook {i} refused: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ),
                _ => {
                    replica = (replica + 1) % listens.len();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        acked += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(40..120))).await;
    }
    (acked, sends)
}

/// Open the store in this process (the child is dead), read its counts, close it.
pub async fn open_store(path: &Path, run: usize) -> BTreeMap<String, u64> {
    let mut tries = 0;
    loop {
        match SledStore::open_async(path.to_path_buf(), SledOptions::default(), None).await {
            Ok(store) => {
                let stats = store.stats().await.unwrap_or_else(|e| {
                    panic!("run {run}: the store opened but cannot be read: {e}")
                });
                assert_eq!(stats.quarantined, 0, "run {run}: records were quarantined");
                return stats.jobs_by_state;
            }
            // The killed process may hold the directory lock for a moment.
            Err(e) if tries < 100 && e.to_string().contains("lock") => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("run {run}: the store does not open after a kill: {e}"),
        }
    }
}

pub fn seed() -> u64 {
    std::env::var("PINBRIDGE_TORTURE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random())
}

//! kill -9 during webhook load: every delivery the server acknowledged (2xx) survives.
//!
//! Runs the real binary (`pinbridge serve`) on a temp-dir config, drives signed Shopify
//! deliveries at it from several concurrent senders, SIGKILLs it at a seeded random moment,
//! restarts it and repeats. Afterwards the store is opened directly and every acknowledged
//! product must be there with its job. Replay a run with `WEBHOOK_CRASH_SEED=<seed>` (printed).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{ItemFilter, JobFilter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::process::{Child, Command};

const SECRET: &str = "crash-test-secret";
const SENDERS: usize = 8;
const ROUNDS: usize = 4;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let store = dir.join("store");
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
shutdown_grace = "1s"

[store]
path = "{store}"

[pinterest]
# Nothing listens on the discard port: jobs stay queued/retrying, acks do not need Pinterest.
api_base = "http://127.0.0.1:9/v5/"
client_id = "1"
client_secret = "unused"

[[accounts]]
name = "main"
access_token = "unused-access"
refresh_token = "unused-refresh"

[[sources]]
id = "shop"
kind = "webhook"
preset = "shopify"
secret = "{SECRET}"
storefront_url = "https://shop.example.com"

[[routes]]
source = "shop"
board = "Products"
"#,
        store = store.display()
    );
    let path = dir.join("pinbridge.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// One signed `products/create` delivery for product `n`, delivery id `ev-<n>`.
fn delivery(n: u64) -> (Vec<(&'static str, String)>, String) {
    let body = serde_json::json!({
        "id": n,
        "title": format!("Product {n}"),
        "handle": format!("product-{n}"),
        "status": "active",
        "image": {"src": format!("https://img.example/{n}.jpg")},
        "images": [{"src": format!("https://img.example/{n}.jpg")}],
    })
    .to_string();
    let signature = crate::support::shopify::signature(SECRET, &body);
    let headers = vec![
        ("X-Shopify-Hmac-Sha256", signature),
        ("X-Shopify-Topic", "products/create".to_string()),
        ("X-Shopify-Event-Id", format!("ev-{n}")),
        ("Content-Type", "application/json".to_string()),
    ];
    (headers, body)
}

async fn post(client: &reqwest::Client, url: &str, n: u64) -> Result<(u16, String), String> {
    let (headers, body) = delivery(n);
    let mut request = client.post(url).body(body);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, text))
}

fn spawn_server(config: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("create log");
    Command::new(env!("CARGO_BIN_EXE_pinbridge"))
        .arg("serve")
        .arg("-c")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start pinbridge serve")
}

/// Poll /healthz until it answers 200; panics with the log if the process exits or it takes long.
async fn wait_healthy(child: &mut Child, base: &str, client: &reqwest::Client, log: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "pinbridge exited ({status}) before it was healthy; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pinbridge did not become healthy within 30 s; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_deliveries_survive_kill_9() {
    let seed: u64 = match std::env::var("WEBHOOK_CRASH_SEED") {
        Ok(v) => v.parse().expect("WEBHOOK_CRASH_SEED must be a u64"),
        Err(_) => rand::rng().random(),
    };
    println!("webhook_crash seed {seed} (replay: WEBHOOK_CRASH_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = write_config(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let url = format!("{base}/hooks/shop");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");

    let next = Arc::new(AtomicU64::new(1));
    let acked: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    for round in 0..ROUNDS {
        let log = dir.path().join(format!("serve-{round}.log"));
        let mut child = spawn_server(&config, &log);
        wait_healthy(&mut child, &base, &client, &log).await;

        // A delivery acknowledged before the last kill, sent again, is a duplicate.
        let earlier = acked.lock().unwrap().iter().next_back().copied();
        if let Some(n) = earlier {
            let (status, text) = post(&client, &url, n).await.expect("repeat reaches server");
            assert_eq!(status, 200, "repeat of ev-{n} after restart: {text}");
            assert!(text.contains("duplicate"), "repeat of ev-{n}: {text}");
        }

        let senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                let (client, url, next, acked) =
                    (client.clone(), url.clone(), next.clone(), acked.clone());
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        match post(&client, &url, n).await {
                            Ok((status, text)) if (200..300).contains(&status) => {
                                assert!(text.contains("accepted"), "ev-{n}: {status} {text}");
                                acked.lock().unwrap().insert(n);
                            }
                            Ok((status, text)) => panic!("ev-{n} answered {status}: {text}"),
                            // The server was killed: this round is over.
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();

        let kill_after = Duration::from_millis(rng.random_range(300..2000));
        tokio::time::sleep(kill_after).await;
        child.start_kill().expect("SIGKILL pinbridge");
        let status = child.wait().await.expect("reap pinbridge");
        for sender in senders {
            sender.await.expect("sender task");
        }
        // Opening after the previous kill found no damaged record to quarantine.
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            !text.to_lowercase().contains("quarantin"),
            "round {round}: the store reported damage on open:\n{text}"
        );
        println!(
            "round {round}: killed after {kill_after:?} ({status}), {} acknowledged so far",
            acked.lock().unwrap().len()
        );
    }

    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= ROUNDS,
        "too few deliveries were acknowledged ({}) for the test to mean anything",
        acked.len()
    );

    let store = SledStore::open_async(dir.path().join("store"), SledOptions::default(), None)
        .await
        .expect("the store opens cleanly after kill -9");
    let source = SourceId::new("shop");
    let items: HashSet<DedupKey> = store
        .items(ItemFilter {
            source: Some(source.clone()),
            limit: 1_000_000,
        })
        .await
        .expect("list items")
        .into_iter()
        .map(|s| s.item.key)
        .collect();
    let with_jobs: HashSet<DedupKey> = store
        .jobs(JobFilter {
            source: Some(source.clone()),
            state: None,
            limit: 1_000_000,
        })
        .await
        .expect("list jobs")
        .into_iter()
        .map(|j| j.item)
        .collect();
    let missing: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|n| !items.contains(&DedupKey::new("product", &n.to_string())))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    let jobless: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|n| !with_jobs.contains(&DedupKey::new("product", &n.to_string())))
        .collect();
    assert!(
        jobless.is_empty(),
        "acknowledged but no job queued: {jobless:?}"
    );
    let quarantined = store.quarantined().await.expect("quarantine list");
    assert!(quarantined.is_empty(), "damaged records: {quarantined:?}");
    println!(
        "{} acknowledged deliveries all stored with jobs",
        acked.len()
    );
    store.close().await.expect("close");
}

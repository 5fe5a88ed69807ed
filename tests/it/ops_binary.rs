//! The release-style binary as a container runs it: `pinbridge serve`, real signals, real
//! store on disk. SIGTERM during a burst of webhooks must lose no acknowledged delivery and
//! exit 0.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use tokio_util::sync::CancellationToken;

use crate::support::binary::*;

/// The admin token given through the environment.
const ENV_ADMIN: &str = "env-admin-token-0c4f9a7e2b6d1358a9c0";

#[tokio::test]
async fn sigterm_during_a_webhook_burst_loses_no_acknowledged_delivery() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let TestBinary {
        mut child,
        base,
        dir,
        data,
        ..
    } = spawn_binary(&api, &token).await;

    // A burst from 8 senders; SIGTERM once 40 deliveries were acknowledged.
    let client = reqwest::Client::new();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..8u64 {
        let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
        senders.spawn(async move {
            for n in 0..200u64 {
                let id = 1_000_000 + sender * 1000 + n;
                match send_product(&client, &base, id).await {
                    Some(status) if (200..300).contains(&status) => acked.lock().unwrap().push(id),
                    // Refused while draining, or the connection is gone: the sender would retry.
                    _ => return,
                }
            }
        });
    }
    let start = Instant::now();
    while acked.lock().unwrap().len() < 40 {
        assert!(start.elapsed() < DEADLINE, "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    signal(&child, "TERM");
    let status = wait_exit(&mut child).await;
    while senders.join_next().await.is_some() {}
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert_eq!(status.code(), Some(0), "exit status {status}: {log}");
    assert!(log.contains("Stopped."), "{log}");
    // JSON logs with a request id on each request, and no secret in them.
    assert!(log.lines().any(|l| l.contains("\"request_id\"")), "{log}");
    assert!(!log.contains(SECRET) && !log.contains(&token));

    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 40);
    let store =
        SledStore::open(&data.join("pinbridge.sled"), SledOptions::default(), None).unwrap();
    let mut missing = Vec::new();
    for id in &acked {
        let key = DedupKey::new("product", &id.to_string());
        if store
            .item(&SourceId::new("shop"), &key)
            .await
            .unwrap()
            .is_none()
        {
            missing.push(*id);
        }
    }
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    // Nothing is left leased: in-flight jobs finished or a restart will reconcile them.
    let stats = store.stats().await.unwrap();
    assert!(stats.items as usize >= acked.len());
    store.close().await.unwrap();
    stop.cancel();
}

#[tokio::test]
async fn metrics_count_ingests_pins_and_pinterest_latency() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let mut app = spawn_binary(&api, &token).await;
    let (base, client) = (app.base.clone(), app.client.clone());
    assert_eq!(app.send_product(77).await, Some(200));
    assert_eq!(app.send_product(77).await, Some(200));
    let bad = client
        .post(format!("{base}/hooks/shop"))
        .header("x-shopify-topic", "products/create")
        .header("x-shopify-hmac-sha256", "AAAA")
        .body(product(78))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);

    // Wait for the Pin (the engine runs on its own).
    wait_for_a_pin(&client, &base, || "no Pin was made".to_string()).await;
    // Metrics name sources and accounts: the scrape presents the admin token. The Pin counter
    // is bumped from the engine's events, just after the job is recorded done: wait for it.
    let start = Instant::now();
    let text = loop {
        let text = reqwest::Client::new()
            .get(format!("{base}/metrics"))
            .bearer_auth(OPS_ADMIN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("pinbridge_pins_total{account=\"main\",outcome=\"created\"}")
            || start.elapsed() > DEADLINE
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        value(r#"pinbridge_items_ingested_total{source="shop",outcome="new"}"#),
        1.0
    );
    assert_eq!(
        value(r#"pinbridge_items_ingested_total{source="shop",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        value(r#"pinbridge_pins_total{account="main",outcome="created"}"#),
        1.0
    );
    assert_eq!(value(r#"pinbridge_jobs{state="done"}"#), 1.0);
    assert_eq!(value(r#"pinbridge_jobs{state="dead"}"#), 0.0);
    assert!(value("pinbridge_store_size_bytes") > 0.0);
    assert!(value(r#"pinbridge_webhook_requests_total{outcome="#) >= 1.0);
    assert!(
        text.contains("pinbridge_pinterest_request_seconds_bucket{"),
        "{text}"
    );
    let rejected = text
        .lines()
        .filter(|l| l.starts_with("pinbridge_webhook_requests_total"))
        .count();
    assert!(
        rejected >= 2,
        "accepted and rejected are told apart:\n{text}"
    );

    assert_eq!(app.stop().await.code(), Some(0));
    stop.cancel();
}

/// Files under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn configured_by_environment_alone_it_writes_only_its_data_dir() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let root = tempfile::tempdir().unwrap();
    let (work, home, data, logs) = (
        root.path().join("work"),
        root.path().join("home"),
        root.path().join("data"),
        root.path().join("logs"),
    );
    for d in [&work, &home, &data, &logs] {
        std::fs::create_dir(d).unwrap();
    }
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let envs = [
        ("PINBRIDGE_SERVER__LISTEN", format!("127.0.0.1:{port}")),
        ("PINBRIDGE_SERVER__ADMIN_TOKEN", ENV_ADMIN.to_string()),
        ("PINBRIDGE_SERVER__SHUTDOWN_GRACE", "5s".to_string()),
        (
            "PINBRIDGE_STORE__PATH",
            data.join("pinbridge.sled").display().to_string(),
        ),
        ("PINBRIDGE_PINTEREST__API_BASE", api.clone()),
        ("PINBRIDGE_ACCOUNTS__0__NAME", "main".to_string()),
        ("PINBRIDGE_ACCOUNTS__0__ACCESS_TOKEN", token.clone()),
        ("PINBRIDGE_SOURCES__0__ID", "shop".to_string()),
        ("PINBRIDGE_SOURCES__0__KIND", "webhook".to_string()),
        ("PINBRIDGE_SOURCES__0__PRESET", "shopify".to_string()),
        ("PINBRIDGE_SOURCES__0__SECRET", SECRET.to_string()),
        (
            "PINBRIDGE_SOURCES__0__STOREFRONT_URL",
            "https://shop.example".to_string(),
        ),
        ("PINBRIDGE_ROUTES__0__SOURCE", "shop".to_string()),
        ("PINBRIDGE_ROUTES__0__BOARD", "Shop".to_string()),
        ("PINBRIDGE_ROUTES__0__CREATE_MISSING", "true".to_string()),
    ];
    let mut command = Command::new(binary());
    command
        .arg("serve")
        .current_dir(&work)
        .env_clear()
        .env("HOME", &home)
        .env("TMPDIR", &home)
        .env("PINBRIDGE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(logs.join("stderr.log")).unwrap());
    for (k, v) in &envs {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    wait_ready(&base, &mut child, &logs).await;
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let client = reqwest::Client::new();
    assert_eq!(send_product(&client, &base, 9).await, Some(200));
    let jobs = client
        .get(format!("{base}/api/v1/jobs"))
        .bearer_auth(ENV_ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(jobs.status(), 200);
    signal(&child, "TERM");
    let status = wait_exit(&mut child).await;
    let log = std::fs::read_to_string(logs.join("stderr.log")).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");

    assert_eq!(
        files_under(&work),
        Vec::<String>::new(),
        "wrote into its working directory"
    );
    assert_eq!(
        files_under(&home),
        Vec::<String>::new(),
        "wrote into HOME/TMPDIR"
    );
    let data_files = files_under(&data);
    assert!(
        data_files.iter().all(|f| f.starts_with("pinbridge.sled")),
        "{data_files:?}"
    );
    assert!(!log.contains(SECRET) && !log.contains(&token) && !log.contains(ENV_ADMIN));
    stop.cancel();
}

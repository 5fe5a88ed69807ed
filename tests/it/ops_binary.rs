//! The release-style binary as a container runs it: `pinbridge serve`, real signals, real
//! store on disk. SIGTERM during a burst of webhooks must lose no acknowledged delivery and
//! exit 0.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "ops-shop-secret";
const DEADLINE: Duration = Duration::from_secs(60);

/// A sandbox Pinterest on loopback with one user; returns the API base and the access token.
pub async fn sandbox(stop: &CancellationToken) -> (String, String) {
    let sandbox = Sandbox::new(SandboxConfig::default());
    let user = sandbox.create_user("ops");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v5/", listener.local_addr().unwrap());
    sandbox.spawn(listener, stop.clone());
    (base, user.access_token)
}

/// A port that was free a moment ago (the binary binds it itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The admin token of [`config_text`] (32 characters or more, as validation requires).
pub const OPS_ADMIN: &str = "ops-admin-token-5b8e1f04c7d2a9e36f01";
/// The admin token given through the environment.
const ENV_ADMIN: &str = "env-admin-token-0c4f9a7e2b6d1358a9c0";

pub fn config_text(api: &str, token: &str, data: &Path, port: u16) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
shutdown_grace = "10s"
admin_token = "{OPS_ADMIN}"

[store]
path = "{data}"

[pinterest]
api_base = "{api}"

[[accounts]]
name = "main"
access_token = "{token}"

[[sources]]
id = "shop"
kind = "webhook"
preset = "shopify"
secret = "{SECRET}"
storefront_url = "https://shop.example"

[[routes]]
source = "shop"
board = "Shop"
create_missing = true
"#,
        data = data.join("pinbridge.sled").display()
    )
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pinbridge"))
}

pub fn spawn(args: &[&str], envs: &[(&str, String)], cwd: &Path) -> Child {
    let mut command = Command::new(binary());
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("PINBRIDGE_CONFIG")
        .env("PINBRIDGE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        // A file, not a pipe: a full pipe would block the server mid-test.
        .stderr(std::fs::File::create(cwd.join("stderr.log")).unwrap());
    for (k, v) in envs {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

pub async fn wait_ready(base: &str, child: &mut Child, cwd: &Path) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::fs::read_to_string(cwd.join("stderr.log")).unwrap_or_default();
            panic!("pinbridge exited early ({status}): {err}");
        }
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status() == 200
        {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "pinbridge never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Wait for the exit without blocking the runtime; panics after the deadline.
pub async fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("pinbridge did not exit after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn product(id: u64) -> String {
    format!(
        r#"{{"id":{id},"title":"Mug {id}","body_html":"<p>Mug.</p>","handle":"mug-{id}","status":"active","published_at":"2026-11-20T10:00:00-05:00","variants":[{{"id":1,"price":"28.00"}}],"images":[{{"id":2,"position":1,"src":"https://cdn.shop.example/{id}.jpg"}}],"image":{{"id":2,"src":"https://cdn.shop.example/{id}.jpg"}}}}"#
    )
}

pub async fn send_product(client: &reqwest::Client, base: &str, id: u64) -> Option<u16> {
    let body = product(id);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let answer = client
        .post(format!("{base}/hooks/shop"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "products/create")
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-shop-domain", "ops.myshopify.com")
        .header("x-shopify-webhook-id", format!("delivery-{id}"))
        .header("x-shopify-event-id", format!("event-{id}"))
        .body(body)
        .send()
        .await
        .ok()?;
    Some(answer.status().as_u16())
}

#[tokio::test]
async fn sigterm_during_a_webhook_burst_loses_no_acknowledged_delivery() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let port = free_port();
    let config = dir.path().join("pinbridge.toml");
    std::fs::write(&config, config_text(&api, &token, &data, port)).unwrap();
    let base = format!("http://127.0.0.1:{port}");

    let mut child = spawn(&["serve", "-c", config.to_str().unwrap()], &[], dir.path());
    wait_ready(&base, &mut child, dir.path()).await;

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

/// Start `serve` with the standard config; returns the child, its base URL and the temp dir.
async fn serve_with_config(api: &str, token: &str) -> (Child, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let port = free_port();
    let config = dir.path().join("pinbridge.toml");
    std::fs::write(&config, config_text(api, token, &data, port)).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn(&["serve", "-c", config.to_str().unwrap()], &[], dir.path());
    wait_ready(&base, &mut child, dir.path()).await;
    (child, base, dir)
}

#[tokio::test]
async fn metrics_count_ingests_pins_and_pinterest_latency() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let (mut child, base, _dir) = serve_with_config(&api, &token).await;
    let client = reqwest::Client::new();
    assert_eq!(send_product(&client, &base, 77).await, Some(200));
    assert_eq!(send_product(&client, &base, 77).await, Some(200));
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
    let start = Instant::now();
    loop {
        let done: serde_json::Value = client
            .get(format!("{base}/api/v1/jobs?state=done"))
            .bearer_auth(OPS_ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !done["jobs"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "no Pin was made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

    signal(&child, "TERM");
    assert_eq!(wait_exit(&mut child).await.code(), Some(0));
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

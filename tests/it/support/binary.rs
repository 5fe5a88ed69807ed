//! The real `pinbridge` binary as a container runs it, for tests that need a process: a config
//! file in a temp dir, `serve` on a free port, signals, and the same request helpers as the
//! in-process [`super::app::TestApp`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "ops-shop-secret";
pub const DEADLINE: Duration = Duration::from_secs(60);

pub use super::pinterest::sandbox;

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
{shop}"#,
        data = data.join("pinbridge.sled").display(),
        shop = shop_to_board(),
    )
}

/// The `shop` webhook source (Shopify, secret [`SECRET`]) and its route to board `Shop`.
pub fn shop_to_board() -> String {
    format!(
        r#"
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
"#
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

/// What a CLI run printed: stdout, then stderr.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Poll `/api/v1/jobs?state=done` until a job is done (a Pin was made); panics with
/// `failure()` after the deadline.
pub async fn wait_for_a_pin(client: &reqwest::Client, base: &str, failure: impl Fn() -> String) {
    let start = Instant::now();
    loop {
        let url = format!("{base}/api/v1/jobs?state=done");
        let done = super::admin::get_json(client, &url, OPS_ADMIN).await;
        if !done["jobs"].as_array().unwrap().is_empty() {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "{}", failure());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `serve -c <config>` in `cwd`, ready at `base`: a start, or a restart over the same files.
pub async fn start_serve(config: &Path, base: &str, cwd: &Path) -> Child {
    let mut child = spawn(&["serve", "-c", config.to_str().unwrap()], &[], cwd);
    wait_ready(base, &mut child, cwd).await;
    child
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

pub use super::shopify::product;

/// POST one signed Shopify product delivery to the `shop` source of [`config_text`].
pub async fn send_product(client: &reqwest::Client, base: &str, id: u64) -> Option<u16> {
    let body = product(id);
    let signature = super::shopify::signature(SECRET, &body);
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

/// `pinbridge serve` started from [`config_text`] in a temp dir, ready (it answered
/// `/readyz`). The fields are public so a test can take the child apart (signal it, wait
/// for its exit, edit its config file) without the handle standing in the way.
pub struct TestBinary {
    pub child: Child,
    /// `http://127.0.0.1:<port>`, the public listener.
    pub base: String,
    /// The temp dir holding the config file, the data dir and `stderr.log`.
    pub dir: tempfile::TempDir,
    /// The data dir (the store lives at `data/pinbridge.sled`).
    pub data: PathBuf,
    /// The config file the child was started with.
    pub config: PathBuf,
    /// The config file's text, for tests that append to it and reload.
    pub text: String,
    pub client: reqwest::Client,
}

/// Start the real binary with the standard config against the sandbox at `api`.
pub async fn spawn_binary(api: &str, token: &str) -> TestBinary {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let port = free_port();
    let config = dir.path().join("pinbridge.toml");
    let text = config_text(api, token, &data, port);
    std::fs::write(&config, &text).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let child = start_serve(&config, &base, dir.path()).await;
    TestBinary {
        child,
        base,
        dir,
        data,
        config,
        text,
        client: reqwest::Client::new(),
    }
}

impl TestBinary {
    /// POST one signed Shopify product delivery to the `shop` source.
    pub async fn send_product(&self, id: u64) -> Option<u16> {
        send_product(&self.client, &self.base, id).await
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        signal(&self.child, "TERM");
        wait_exit(&mut self.child).await
    }
}

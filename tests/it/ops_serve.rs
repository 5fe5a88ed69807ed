//! The real binary's listeners: admin-token rules at load (`pinbridge check`), slow clients
//! closed with the default limits and not holding shutdown, and `server.admin_listen` keeping
//! the private surface off the public port.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::support::binary::{
    OPS_ADMIN, binary, config_text, free_port, sandbox, send_product, signal, start_serve,
    wait_exit,
};
use crate::support::slow_client::stalled;

const BOUND: Duration = Duration::from_secs(60);

/// `pinbridge check` on the ops config with its admin token replaced by `token` (and the
/// environment `env`); returns the exit code and stderr.
fn check_with_token(token: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pinbridge.toml");
    let text = config_text("https://api.pinterest.com/v5/", "pina_x", dir.path(), 8080)
        .replace(&format!("admin_token = \"{OPS_ADMIN}\""), token);
    std::fs::write(&config, text).unwrap();
    let mut command = Command::new(binary());
    command
        .args(["check", "-c"])
        .arg(&config)
        .env_remove("PINBRIDGE_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn empty_and_short_admin_tokens_are_refused_at_load() {
    for (line, env) in [
        ("admin_token = \"\"", vec![]),
        ("admin_token = \"short-token\"", vec![]),
        // 31 characters: one short.
        ("admin_token = \"0123456789abcdef0123456789abcde\"", vec![]),
        // An empty environment variable or Kubernetes secret.
        ("", vec![("PINBRIDGE_SERVER__ADMIN_TOKEN", "")]),
        (
            "admin_token = \"${EMPTY_SECRET:-}\"",
            vec![("EMPTY_SECRET", "")],
        ),
    ] {
        let (code, stderr) = check_with_token(line, &env);
        assert_eq!(code, Some(2), "{line} {env:?} was accepted: {stderr}");
        assert!(stderr.contains("server.admin_token"), "{stderr}");
        assert!(stderr.contains("at least 32"), "{stderr}");
        assert!(stderr.contains("openssl rand -hex 32"), "{stderr}");
    }
    let (code, stderr) =
        check_with_token("admin_token = \"0123456789abcdef0123456789abcdef\"", &[]);
    assert_eq!(code, Some(0), "32 characters are enough: {stderr}");
}

/// Whether the server closes `stream` within `bound`.
async fn closed_within(mut stream: TcpStream, bound: Duration) -> bool {
    tokio::time::timeout(bound, async {
        let mut buf = [0u8; 256];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn stalled_clients_are_closed_and_do_not_hold_shutdown() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("pinbridge.toml");
    // Default limits (10 s for headers); a 2 s grace.
    let text = config_text(&api, &token, dir.path(), port)
        .replace("shutdown_grace = \"10s\"", "shutdown_grace = \"2s\"");
    std::fs::write(&config, text).unwrap();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    let mut child = start_serve(&config, &base, dir.path()).await;

    let mut slow = Vec::new();
    for _ in 0..200 {
        slow.push(stalled(&addr).await);
    }
    // Webhooks still get through beside them.
    let client = reqwest::Client::new();
    assert_eq!(send_product(&client, &base, 1).await, Some(200));
    let closing: Vec<_> = slow
        .into_iter()
        .map(|s| tokio::spawn(closed_within(s, BOUND)))
        .collect();
    for c in closing {
        assert!(c.await.unwrap(), "a stalled client was held open");
    }

    // Stalled clients at shutdown: the process still exits, within the grace period's reach.
    let mut slow = Vec::new();
    for _ in 0..50 {
        slow.push(stalled(&addr).await);
    }
    assert_eq!(send_product(&client, &base, 2).await, Some(200));
    let started = Instant::now();
    signal(&child, "TERM");
    let status = wait_exit(&mut child).await;
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        started.elapsed() < BOUND,
        "shutdown took {:?}",
        started.elapsed()
    );
    drop(slow);
    stop.cancel();
}

fn admin_listen_config(dir: &Path, api: &str, token: &str, port: u16, admin: u16) -> String {
    config_text(api, token, dir, port).replace(
        "[server]\n",
        &format!("[server]\nadmin_listen = \"127.0.0.1:{admin}\"\n"),
    )
}

#[tokio::test]
async fn with_admin_listen_the_public_port_serves_only_webhooks_and_health() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let dir = tempfile::tempdir().unwrap();
    let (port, admin_port) = (free_port(), free_port());
    let config = dir.path().join("pinbridge.toml");
    std::fs::write(
        &config,
        admin_listen_config(dir.path(), &api, &token, port, admin_port),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let admin = format!("http://127.0.0.1:{admin_port}");
    let mut child = start_serve(&config, &base, dir.path()).await;
    let client = reqwest::Client::new();

    // Public: webhooks and health only, even with the token.
    assert_eq!(send_product(&client, &base, 3).await, Some(200));
    let ready =
        crate::support::admin::get_json(&client, &format!("{base}/readyz"), OPS_ADMIN).await;
    assert_eq!(ready, serde_json::json!({"ready": true}));
    for path in ["/", "/metrics", "/api/v1/sources", "/api/v1/openapi.json"] {
        let answer = client
            .get(format!("{base}{path}"))
            .bearer_auth(OPS_ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{path} on the public port");
    }

    // Admin: metrics and readiness details without a token (the network guards this port),
    // the admin API with it.
    let metrics = reqwest::get(format!("{admin}/metrics")).await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("pinbridge_"));
    let ready: serde_json::Value = reqwest::get(format!("{admin}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["accounts"][0]["name"], "main");
    let anonymous = reqwest::get(format!("{admin}/api/v1/sources"))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let sources = client
        .get(format!("{admin}/api/v1/sources"))
        .bearer_auth(OPS_ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.status(), 200);

    signal(&child, "TERM");
    assert_eq!(wait_exit(&mut child).await.code(), Some(0));
    stop.cancel();
}

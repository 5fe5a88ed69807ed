//! `pinbridge auth` end to end: the real binary, the sandbox's auto-approving authorize page
//! and token endpoint, a local callback listener; then `serve` with a config holding no
//! tokens uses the stored (sealed) ones and makes a Pin.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::binary::{
    OPS_ADMIN, binary, free_port, send_product, shop_to_board, signal, spawn, wait_exit,
    wait_for_a_pin, wait_ready,
};

#[tokio::test]
async fn auth_stores_sealed_tokens_that_serve_then_uses() {
    let stop = CancellationToken::new();
    let config = SandboxConfig::default();
    let (client_id, client_secret) = (
        config.client_id.clone(),
        config.client_secret.expose_secret().to_string(),
    );
    let sandbox = Sandbox::new(config);
    sandbox.create_user("authed");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    sandbox.spawn(listener, stop.clone());

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config_path = dir.path().join("pinbridge.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
[server]
listen = "127.0.0.1:{port}"
admin_token = "{OPS_ADMIN}"
[store]
path = "{data}"
[pinterest]
api_base = "{host}/v5/"
client_id = "{client_id}"
client_secret = "{client_secret}"
[[accounts]]
name = "main"
{shop}"#,
            data = dir.path().join("data/pinbridge.sled").display(),
            shop = shop_to_board(),
        ),
    )
    .unwrap();
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let callback = format!("127.0.0.1:{}", free_port());

    // A wrong account name is a usage error (exit 2) naming the accounts.
    let wrong = Command::new(binary())
        .args([
            "auth",
            "-c",
            config_path.to_str().unwrap(),
            "--account",
            "nope",
        ])
        .env("PINBRIDGE_TOKEN_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("no account `nope`"));

    let mut auth = Command::new(binary())
        .args([
            "auth",
            "-c",
            config_path.to_str().unwrap(),
            "--account",
            "main",
            "--listen",
            &callback,
            "--authorize-url",
            &format!("{host}/oauth/"),
        ])
        .env("PINBRIDGE_TOKEN_KEY", &key)
        .env("PINBRIDGE_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = auth.stdout.take().unwrap();
    // Read stdout to the end (a closed pipe would break the command's last message).
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let output = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("http") {
                let _ = url_tx.send(line.clone());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url =
        tokio::task::spawn_blocking(move || url_rx.recv().expect("an authorize URL on stdout"))
            .await
            .unwrap();
    let authorize = url::Url::parse(&url).unwrap();
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    // The route may create its board by name, so the token must also see secret boards (a
    // secret board of that name would otherwise look missing and never be created).
    assert_eq!(
        query["scope"],
        "user_accounts:read,boards:read,boards:write,pins:read,pins:write,boards:read_secret"
    );
    assert!(query["state"].len() >= 32);

    // The "browser": the sandbox approves and redirects to the local callback.
    let start = Instant::now();
    let page = loop {
        // `approve=allow`: the sandbox decides at once, as if "Allow" were clicked.
        match reqwest::get(format!("{url}&approve=allow")).await {
            Ok(page) => break page,
            Err(_) if start.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(page.status(), 200);
    assert_eq!(wait_exit(&mut auth).await.code(), Some(0));
    let printed = output.join().unwrap();
    assert!(
        printed.contains("Account `main` is authorized"),
        "{printed}"
    );

    // serve: the config has no token; the stored ones work.
    let base = format!("http://127.0.0.1:{port}");
    let mut serve = spawn(
        &["serve", "-c", config_path.to_str().unwrap()],
        &[("PINBRIDGE_TOKEN_KEY", key.clone())],
        dir.path(),
    );
    wait_ready(&base, &mut serve, dir.path()).await;
    let client = reqwest::Client::new();
    assert_eq!(send_product(&client, &base, 5).await, Some(200));
    wait_for_a_pin(&client, &base, || {
        format!(
            "no Pin with the stored tokens: {}",
            std::fs::read_to_string(dir.path().join("stderr.log")).unwrap()
        )
    })
    .await;
    signal(&serve, "TERM");
    assert_eq!(wait_exit(&mut serve).await.code(), Some(0));
    stop.cancel();
}

//! Every command runs with its configuration in `PINBRIDGE_*` variables alone, as a container
//! runs them: no file at the default place, no `-c`, no `$PINBRIDGE_CONFIG`. Before, only
//! `serve` and `sources` did; `check`, `auth`, `items` and `poll` stopped with "cannot read
//! config file" (exit 2). Self-contained: the real binary, the sandbox, a local feed.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use axum::routing::get;
use base64::Engine;
use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "env-only-admin-token-7d41c0a9e2b85f36";

const FEED: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Blog</title><link>https://blog.example/</link>
<item><title>Paper cranes</title><link>https://blog.example/cranes</link><guid>cranes</guid>
<enclosure url="https://blog.example/cranes.jpg" type="image/jpeg" length="1"/></item>
</channel></rss>"#;

/// The settings of a small deployment, as a container's environment holds them.
fn settings(api: &str, feed: &str, data: &Path, port: u16) -> Vec<(String, String)> {
    let sandbox = SandboxConfig::default();
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    [
        ("SERVER__LISTEN", format!("127.0.0.1:{port}")),
        ("SERVER__ADMIN_TOKEN", ADMIN.into()),
        (
            "STORE__PATH",
            data.join("pinbridge.sled").display().to_string(),
        ),
        ("PINTEREST__API_BASE", api.into()),
        ("PINTEREST__CLIENT_ID", sandbox.client_id.clone()),
        (
            "PINTEREST__CLIENT_SECRET",
            sandbox.client_secret.expose_secret().to_string(),
        ),
        ("TOKEN_KEY", key),
        ("ACCOUNTS__0__NAME", "main".into()),
        ("SOURCES__0__ID", "blog".into()),
        ("SOURCES__0__KIND", "feed".into()),
        ("SOURCES__0__URL", feed.into()),
        // The test feed is on loopback, which feeds may not reach by default.
        ("SOURCES__0__ALLOW_PRIVATE", "true".into()),
        ("ROUTES__0__SOURCE", "blog".into()),
        ("ROUTES__0__BOARD", "Blog".into()),
        ("ROUTES__0__CREATE_MISSING", "true".into()),
    ]
    .into_iter()
    .map(|(name, value)| (format!("PINBRIDGE_{name}"), value))
    .collect()
}

/// `pinbridge ARGS` in `cwd` with only `vars` for configuration.
fn command(cwd: &Path, vars: &[(String, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pinbridge"));
    command.current_dir(cwd).args(args);
    // Nothing from the test's own environment may configure the child.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PINBRIDGE_") {
            command.env_remove(name);
        }
    }
    command.envs(vars.iter().map(|(k, v)| (k, v)));
    command
}

fn run(cwd: &Path, vars: &[(String, String)], args: &[&str]) -> Output {
    let output = command(cwd, vars, args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("cannot read config file"),
        "`{}` looked for a file: {stderr}",
        args.join(" ")
    );
    output
}

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_runs_with_environment_only_config() {
    let stop = CancellationToken::new();
    let sandbox = Sandbox::new(SandboxConfig::default());
    sandbox.create_user("env-only");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    sandbox.spawn(listener, stop.clone());
    let feed_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed = format!("http://{}/feed.xml", feed_listener.local_addr().unwrap());
    let feed_app = axum::Router::new().route(
        "/feed.xml",
        get(|| async { ([("content-type", "application/rss+xml")], FEED) }),
    );
    tokio::spawn(async move { axum::serve(feed_listener, feed_app).await });

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let vars = settings(
        &format!("{host}/v5/"),
        &feed,
        &dir.path().join("data"),
        port,
    );
    let cwd = dir.path();
    assert!(!cwd.join("config/pinbridge.toml").exists());

    let check = run(cwd, &vars, &["check"]);
    assert_ok(&check, "check");
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("environment") && said.contains("1 account(s)"),
        "{said}"
    );

    assert_ok(
        &run(cwd, &vars, &["poll", "--source", "blog", "--dry-run"]),
        "poll",
    );
    assert_ok(&run(cwd, &vars, &["items", "list"]), "items list");

    // `auth` reads the account, the app credentials and the token key from the environment;
    // the sandbox approves, the redirect comes to a local listener.
    let callback = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let mut auth = command(
        cwd,
        &vars,
        &[
            "auth",
            "--account",
            "main",
            "--listen",
            &callback,
            "--authorize-url",
            &format!("{host}/oauth/"),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = auth.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|line| line.starts_with("http"))
            .expect("an authorize URL on stdout");
        // Keep reading so the command's last lines never meet a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        url
    })
    .await
    .unwrap();
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
    assert!(wait_exit(&mut auth).await.success(), "auth");

    // `healthcheck` fails with nothing listening, then `serve`, `healthcheck` and `sources`
    // all find the service at the configured address.
    assert_eq!(run(cwd, &vars, &["healthcheck"]).status.code(), Some(1));
    let mut serve = command(cwd, &vars, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !run(cwd, &vars, &["healthcheck"]).status.success() {
        assert!(serve.try_wait().unwrap().is_none(), "serve exited early");
        assert!(start.elapsed() < Duration::from_secs(60), "never healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sources = run(cwd, &vars, &["sources", "list"]);
    assert_ok(&sources, "sources list");
    assert!(String::from_utf8_lossy(&sources.stdout).contains("blog"));
    // SIGTERM, as a container runtime stops it: drains and exits 0.
    let pid = serve.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(wait_exit(&mut serve).await.code(), Some(0));
    stop.cancel();
}

#[test]
fn a_named_config_file_that_is_missing_is_still_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = command(dir.path(), &[], &["check", "-c", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read config file"));
}

//! `pinbridge check --online` against the Pinterest sandbox, through the real binary: what it
//! prints for accounts that answer or not (or whose token lacks scopes), and boards that
//! resolve, will be created, or fail.

use std::process::Output;

use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

async fn check_online(config: String) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    std::fs::write(&path, config).unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_pinbridge"))
        .args(["check", "--online", "-c"])
        .arg(&path)
        .env_remove("PINBRIDGE_TOKEN_KEY")
        .env_remove("PINBRIDGE_TOKEN_KEYS")
        .output()
        .await
        .expect("run pinbridge")
}

#[tokio::test]
async fn accounts_and_boards_are_reported_and_problems_fail_the_check() {
    let shutdown = CancellationToken::new();
    let sandbox = Sandbox::new(SandboxConfig::default());
    let cook = sandbox.create_user("cook");
    let board_id = sandbox.create_board(&cook, "Everything");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_base = format!("http://{}/v5/", listener.local_addr().unwrap());
    sandbox.spawn(listener, shutdown.clone());

    let out = check_online(format!(
        r#"
[pinterest]
api_base = "{api_base}"
client_id = "1480000"
client_secret = "sandbox-client-secret"

[[accounts]]
name = "main"
access_token = "{access}"
refresh_token = "{refresh}"

[[accounts]]
name = "stale"
access_token = "pina_not_a_token"

[[sources]]
id = "blog"
kind = "feed"
url = "http://127.0.0.1:9/feed.xml"
allow_private = true

[[routes]]
name = "kitchen"
source = "blog"
account = "main"
board = "Everything"

[[routes]]
name = "fresh"
source = "blog"
account = "main"
board = "Fresh"
create_missing = true

[[routes]]
name = "nowhere"
source = "blog"
account = "main"
board = "Nowhere"
"#,
        access = cook.access_token,
        refresh = cook.refresh_token,
    ))
    .await;
    shutdown.cancel();

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("account `main`: signed in as cook\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "route `kitchen`: board `Everything` is {board_id}\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("route `fresh`: board `Fresh` will be created\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("every account answered"), "{stdout}");
    let problems: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .collect();
    assert_eq!(problems.len(), 2, "{stdout}");
    assert!(problems[0].starts_with("account `stale`: "), "{stdout}");
    assert!(
        problems[1].starts_with("route `nowhere`: board `Nowhere` does not exist"),
        "{stdout}"
    );
    assert!(stderr.contains("2 online problem(s) found"), "{stderr}");
}

#[tokio::test]
async fn a_token_without_the_write_scopes_fails_the_check_and_names_them() {
    let shutdown = CancellationToken::new();
    let sandbox = Sandbox::new(SandboxConfig::default());
    let cook = sandbox.create_user("cook");
    let read_only = sandbox.reauthorize(&cook, "user_accounts:read,boards:read,pins:read");
    // The granted scopes come with a token answer: the check refreshes the expired token.
    sandbox.expire_access_tokens();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_base = format!("http://{}/v5/", listener.local_addr().unwrap());
    sandbox.spawn(listener, shutdown.clone());

    let out = check_online(format!(
        r#"
[pinterest]
api_base = "{api_base}"
client_id = "1480000"
client_secret = "sandbox-client-secret"

[[accounts]]
name = "main"
access_token = "{access}"
refresh_token = "{refresh}"

[[sources]]
id = "blog"
kind = "feed"
url = "http://127.0.0.1:9/feed.xml"
allow_private = true

[[routes]]
source = "blog"
account = "main"
board = "Fresh"
create_missing = true
"#,
        access = read_only.access_token,
        refresh = read_only.refresh_token,
    ))
    .await;
    shutdown.cancel();

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let problems: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .collect();
    assert_eq!(
        problems,
        vec![
            "account `main`: signed in, but the token lacks scopes Pins need; reconnect with \
             `pinbridge auth --account main` — scopes needed: boards:write, pins:write",
            // Without boards:read_secret a missing board may be a secret one: not created.
            "route `routes[0]`: board `Fresh` not found; it may be secret and the token cannot \
             see secret boards: reconnect with `pinbridge auth --account main` to grant \
             boards:read_secret, or name the board by id"
        ],
        "{stdout}"
    );
}

//! Secret boards on loopback (sandbox, real sled store): a route with `board_privacy =
//! "secret"` creates a secret board with its description; a secret board the token cannot see
//! (no `boards:read_secret`) is never shadowed by a new public board of the same name, the
//! account waits with a problem that names the fix, and with the scope the secret board is used.
//! Also the route keys' validation and the scopes `pinbridge auth` asks for.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use pinbridge::app::App;
use pinbridge::clock::ManualClock;
use pinbridge::commands::auth::auth_scopes;
use pinbridge::config::{Config, ConfigError};
use pinbridge::pinterest::sandbox::{DEFAULT_SCOPE, Sandbox, SandboxConfig, SandboxUser};
use pinbridge::sources::feed::poller::poll_cycle;
use pinbridge::store::JobFilter;
use pinbridge::sync::boards::{BoardCreation, BoardDirectory, ResolveError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::pinterest::{start, user_tokens};

/// What a token granted before secret boards were asked for.
const WITHOUT_SECRET: &str = "boards:read,boards:write,pins:read,pins:write,user_accounts:read";
const T0: i64 = 1_790_000_000_000;
const HOLD_WAIT_MS: i64 = 5 * 60_000;

#[tokio::test]
async fn a_secret_route_creates_a_secret_board_with_its_description() {
    let env = start(SandboxConfig::default()).await;
    let mut tokens = user_tokens(&env.user);
    tokens.scope = Some(DEFAULT_SCOPE.into());
    let client = env.client_with(env.manager(tokens));
    let creation = BoardCreation {
        allowed: true,
        privacy: Some("SECRET"),
        description: Some("Drafts before launch"),
    };
    let id = BoardDirectory::default()
        .board_id_or_create(&client, "Launch", creation, "alice")
        .await
        .unwrap();
    let boards = env.client().list_boards().await.unwrap();
    let board = boards
        .iter()
        .find(|b| b.id == id)
        .expect("the board exists");
    assert_eq!(board.name, "Launch");
    assert_eq!(board.privacy.as_deref(), Some("SECRET"));
    assert_eq!(board.description.as_deref(), Some("Drafts before launch"));
}

#[tokio::test]
async fn an_invisible_secret_board_is_not_shadowed_by_a_public_one() {
    let env = start(SandboxConfig::default()).await;
    let secret_id = env
        .sandbox
        .create_board_with_privacy(&env.user, "Launch", "SECRET");
    let narrow = env.sandbox.reauthorize(&env.user, WITHOUT_SECRET);
    let mut tokens = user_tokens(&narrow);
    tokens.scope = Some(WITHOUT_SECRET.into());
    let client = env.client_with(env.manager(tokens));
    assert!(
        client.list_boards().await.unwrap().is_empty(),
        "the sandbox hides secret boards from this token"
    );

    let err = BoardDirectory::default()
        .board_id_or_create(&client, "Launch", BoardCreation::plain(true), "alice")
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::MaybeSecret { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("board `Launch` not found; it may be secret")
            && message.contains("`pinbridge auth --account alice` to grant boards:read_secret")
            && message.contains("or name the board by id"),
        "{message}"
    );
    let boards = env.client().list_boards().await.unwrap();
    assert_eq!(boards.len(), 1, "no public twin was created: {boards:?}");

    // With the scope, the lookup sees the secret board and uses it.
    let mut tokens = user_tokens(&env.user);
    tokens.scope = Some(DEFAULT_SCOPE.into());
    let client = env.client_with(env.manager(tokens));
    let id = BoardDirectory::default()
        .board_id_or_create(&client, "Launch", BoardCreation::plain(true), "alice")
        .await
        .unwrap();
    assert_eq!(id, secret_id);
}

#[tokio::test]
async fn the_sandbox_filters_by_privacy_and_guards_secret_creates() {
    let env = start(SandboxConfig::default()).await;
    env.sandbox.create_board(&env.user, "Open");
    env.sandbox
        .create_board_with_privacy(&env.user, "Hidden", "SECRET");
    let names = |path: &'static str| {
        let request = env.get(path);
        async move {
            let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            let mut names: Vec<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(names("boards").await, ["Hidden", "Open"]);
    assert_eq!(names("boards?privacy=SECRET").await, ["Hidden"]);
    assert_eq!(names("boards?privacy=PUBLIC").await, ["Open"]);
    let bad = env.get("boards?privacy=FRIENDS").send().await.unwrap();
    assert_eq!(bad.status(), 400);

    let narrow = env.sandbox.reauthorize(&env.user, WITHOUT_SECRET);
    let mut tokens = user_tokens(&narrow);
    tokens.scope = Some(WITHOUT_SECRET.into());
    let client = env.client_with(env.manager(tokens));
    let seen: Vec<String> = client
        .list_boards()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(seen, ["Open"]);
    let refused = client
        .create_board_with_privacy("Another", None, Some("SECRET"))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("boards:write_secret"),
        "{refused}"
    );
}

fn config_text(api: &str, user: &SandboxUser, feed_url: &str, route_extra: &str) -> String {
    format!(
        r#"
[pinterest]
api_base = "{api}"
client_id = "1480000"
client_secret = "sandbox-client-secret"

[[accounts]]
name = "shop"
access_token = "{access}"
refresh_token = "{refresh}"
writes_per_minute = 6000

[[sources]]
id = "blog"
kind = "feed"
url = "{feed_url}"
backfill = "all"
allow_private = true

[[routes]]
source = "blog"
account = "shop"
board = "Launch"
create_missing = true
{route_extra}

[sync]
workers = 1
backoff_base = "1s"
backoff_cap = "10s"
max_attempts = 3
"#,
        access = user.access_token,
        refresh = user.refresh_token,
    )
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("secret.toml"), &|_| None)
}

#[tokio::test]
async fn jobs_wait_while_the_board_may_be_secret_and_go_to_it_once_the_scope_is_granted() {
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let clock = ManualClock::new(T0);
    let sandbox = Sandbox::with_clock(SandboxConfig::default(), Arc::new(clock.clone()));
    let user = sandbox.create_user("shop");
    let secret_id = sandbox.create_board_with_privacy(&user, "Launch", "SECRET");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/v5/", listener.local_addr().unwrap());
    sandbox.spawn(listener, shutdown.clone());
    let items: String = (0..2)
        .map(|i| {
            format!(
                "<item><title>Post {i}</title><link>https://blog.example/{i}</link>\
                 <guid>post-{i}</guid>\
                 <enclosure url=\"https://blog.example/{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>"
            )
        })
        .collect();
    let feed = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>B</title>\
         <link>https://blog.example/</link><description>d</description>{items}</channel></rss>"
    );
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            let feed = feed.clone();
            async move { ([("content-type", "application/rss+xml")], feed) }
        }),
    );
    let feed_url = format!(
        "http://{}/feed.xml",
        crate::support::feed_server::serve(router).await
    );
    let (_dir, store) = crate::support::sled::clocked_store(&clock).await;
    let app_for = |user: &SandboxUser| {
        let config = parse(&config_text(&api, user, &feed_url, "")).unwrap();
        let (clock, store) = (clock.clone(), store.clone());
        async move {
            App::build_with_store(&config, Arc::new(clock), store)
                .await
                .unwrap()
        }
    };
    let jobs = |state: &'static str| {
        let store = store.clone();
        async move {
            let filter = JobFilter {
                source: None,
                state: Some(state.into()),
                limit: 100,
            };
            store.jobs(filter).await.unwrap()
        }
    };

    let narrow = sandbox.reauthorize(&user, WITHOUT_SECRET);
    let app = app_for(&narrow).await;
    // The granted scopes come with a token answer: make the engine refresh first.
    sandbox.expire_access_tokens();
    poll_cycle(&app.feeds()[0], &app.ingest, &CancellationToken::new())
        .await
        .unwrap();
    app.engine.run_due().await.unwrap();

    assert_eq!(sandbox.pins().len(), 0);
    assert!(jobs("dead").await.is_empty(), "nothing is dead-lettered");
    let waiting = jobs("retry").await;
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    assert!(waiting.iter().all(|j| j.attempts == 0), "{waiting:?}");
    let problem = store.account_state("shop").await.unwrap().problem;
    let problem = problem.unwrap_or_default();
    assert!(
        problem.contains("route `")
            && problem.contains("board `Launch` not found; it may be secret")
            && problem.contains(
                "reconnect with `pinbridge auth --account shop` to grant boards:read_secret"
            ),
        "{problem}"
    );
    let boards = app.engine.account_status();
    assert!(boards.iter().any(|s| s.problem.is_some()));
    drop(app);

    // Reconnected with the secret scopes: the existing secret board takes the Pins.
    let full = sandbox.reauthorize(&user, DEFAULT_SCOPE);
    let app = app_for(&full).await;
    clock.advance_ms(HOLD_WAIT_MS);
    app.engine.run_due().await.unwrap();
    let pins = sandbox.pins();
    assert_eq!(pins.len(), 2, "every job went out");
    assert!(pins.iter().all(|p| p.board_id == secret_id), "{pins:?}");
    assert!(jobs("dead").await.is_empty());
}

#[test]
fn board_keys_are_validated_and_secret_routes_ask_for_the_secret_scopes() {
    let user = SandboxUser {
        id: "1".into(),
        username: "u".into(),
        access_token: "a".into(),
        refresh_token: "r".into(),
    };
    let text = |extra: &str| {
        config_text(
            "http://127.0.0.1:1/v5/",
            &user,
            "http://127.0.0.1:1/f",
            extra,
        )
    };
    // A route that may create a board by name must see secret boards, nothing more.
    let plain = parse(&text("")).unwrap();
    assert!(auth_scopes(&plain).contains(&"boards:read_secret"));
    assert!(!auth_scopes(&plain).contains(&"boards:write_secret"));
    let by_id = parse(&text("").replace("board = \"Launch\"", "board_id = \"123\"")).unwrap();
    assert!(!auth_scopes(&by_id).contains(&"boards:read_secret"));
    let secret = parse(&text(
        "board_privacy = \"secret\"\nboard_description = \"Drafts\"",
    ))
    .unwrap();
    for scope in [
        "boards:read_secret",
        "boards:write_secret",
        "pins:read_secret",
    ] {
        assert!(auth_scopes(&secret).contains(&scope), "{scope}");
    }
    parse(&text("board_privacy = \"protected\"")).unwrap();

    let err = parse(&text(
        "board_privacy = \"hidden\"\nboard_description = \"  \"",
    ))
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("routes[0].board_privacy")
            && message.contains(
                "`hidden` is not a board privacy; use \"public\", \"protected\" or \"secret\""
            ),
        "{message}"
    );
    assert!(
        message.contains("routes[0].board_description") && message.contains("is empty"),
        "{message}"
    );
    let by_id =
        text("board_description = \"Drafts\"").replace("board = \"Launch\"", "board_id = \"123\"");
    let message = parse(&by_id).unwrap_err().to_string();
    assert!(
        message.contains("only describes a board pinbridge creates"),
        "{message}"
    );
}

#[tokio::test]
async fn check_online_names_the_secret_scopes_a_secret_route_needs() {
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let sandbox = Sandbox::new(SandboxConfig::default());
    let user = sandbox.create_user("shop");
    sandbox.create_board(&user, "Launch");
    let narrow = sandbox.reauthorize(&user, WITHOUT_SECRET);
    // The granted scopes come with a token answer: the check refreshes the expired token.
    sandbox.expire_access_tokens();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/v5/", listener.local_addr().unwrap());
    sandbox.spawn(listener, shutdown.clone());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    let config = config_text(
        &api,
        &narrow,
        "http://127.0.0.1:9/f",
        "board_privacy = \"secret\"",
    );
    std::fs::write(&path, config).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pinbridge"))
        .args(["check", "--online", "-c"])
        .arg(&path)
        .env_remove("PINBRIDGE_TOKEN_KEY")
        .env_remove("PINBRIDGE_TOKEN_KEYS")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(
            "account `shop`: signed in, but the token lacks scopes Pins need; reconnect with \
             `pinbridge auth --account shop` — scopes needed: boards:read_secret, \
             boards:write_secret, pins:read_secret"
        ),
        "{stdout}"
    );
}

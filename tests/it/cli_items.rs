//! `pinbridge poll` and `pinbridge items` through the real binary: what a user sees.

use std::process::{Command, Output};

use crate::support::binary::output_text as text;
use crate::support::feed_server::FeedServer;

const FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>https://example.com/</link><description>d</description>
<item><title>First</title><link>https://example.com/1</link><guid>g1</guid>
<enclosure url="https://example.com/1.jpg" type="image/jpeg" length="1"/></item>
</channel></rss>"#;

struct Setup {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    feed: FeedServer,
}

async fn setup() -> Setup {
    // Down at first: the feed answers 500 until the test mends it.
    let feed = FeedServer::builder("down")
        .status(500)
        .content_type("text/plain; charset=utf-8")
        .start()
        .await;
    let addr = feed.base.trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pinbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[store]
path = "{store}"

[[accounts]]
name = "main"
access_token = "x"

[[sources]]
id = "blog"
kind = "feed"
url = "http://{addr}/feed.xml"
allow_private = true

[[routes]]
source = "blog"
board = "B"
"#,
            store = dir.path().join("store").display()
        ),
    )
    .unwrap();
    Setup { dir, config, feed }
}

async fn run(setup: &Setup, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pinbridge"));
    cmd.args(args)
        .arg("-c")
        .arg(&setup.config)
        .current_dir(setup.dir.path());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_feed_shows_its_errors_and_next_attempt() {
    let s = setup().await;
    let out = run(&s, &["poll", "--source", "blog"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("HTTP 500"), "{}", text(&out));

    let out = run(&s, &["items", "list"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("source blog"), "{shown}");
    assert!(shown.contains("1 error(s) in a row"), "{shown}");
    assert!(shown.contains("last error"), "{shown}");
    assert!(shown.contains("next in"), "{shown}");

    s.feed.set_body(FEED);
    s.feed.set_status(200);
    let out = run(&s, &["poll", "--source", "blog", "--dry-run"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("first contact"), "{shown}");
    assert!(
        shown.contains("key:") || shown.contains("guid:g1"),
        "{shown}"
    );
    assert!(shown.contains("nothing written"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_sources_and_items_exit_2_with_a_message() {
    let s = setup().await;
    let out = run(&s, &["poll", "--source", "nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no source `nope`"), "{}", text(&out));
    let out = run(&s, &["items", "forget", "blog", "guid:none"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no item"), "{}", text(&out));
}

/// With `[store] url` set, `poll` and `items` read and write PostgreSQL, not a sled directory
/// next to the config (they used to open sled whatever the config said).
#[tokio::test(flavor = "multi_thread")]
async fn commands_use_the_postgres_store_when_one_is_configured() {
    let Some(url) = std::env::var("PINBRIDGE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var("CI").is_err(),
            "PINBRIDGE_TEST_POSTGRES_URL is not set under CI: run tests/postgres/setup.sh first"
        );
        eprintln!("SKIPPED: PINBRIDGE_TEST_POSTGRES_URL not set (run tests/postgres/setup.sh)");
        return;
    };
    let schema = format!("t{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .expect("create schema");
    let s = setup().await;
    let config = std::fs::read_to_string(&s.config).unwrap();
    let sled_dir = s.dir.path().join("store");
    let store_section = format!("[store]\npath = \"{}\"", sled_dir.display());
    assert!(config.contains(&store_section));
    let separator = if url.contains('?') { '&' } else { '?' };
    let pg = format!("[store]\nurl = \"{url}{separator}options=-c%20search_path%3D{schema}\"");
    std::fs::write(&s.config, config.replace(&store_section, &pg)).unwrap();

    let out = run(&s, &["poll", "--source", "blog"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = run(&s, &["items", "list"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 error(s) in a row"),
        "the error recorded by poll is read back: {}",
        text(&out)
    );
    let (rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.source_state"
    )))
    .fetch_one(&admin)
    .await
    .expect("the poll wrote its state into the configured schema");
    assert_eq!(rows, 1);
    assert!(!sled_dir.exists(), "no sled store was created");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .ok();
}
